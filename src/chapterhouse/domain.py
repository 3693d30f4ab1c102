"""Plain data that crosses seams: spiders produce it, pipelines and exporters consume it."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime


@dataclass(frozen=True, slots=True)
class ChapterRef:
    """One row of a novel's table of contents."""

    site_chapter_id: str
    number: int  # 1-based position in reading order
    title: str
    url: str
    published_at: datetime | None = None


@dataclass(frozen=True, slots=True)
class SeriesLink:
    """A novel's place in a series, as the novel's own page states it."""

    site_series_id: str
    title: str
    url: str
    position: int | None = None  # "Part 3 of …"


@dataclass(slots=True)
class NovelData:
    """What a site's novel page says about the novel."""

    site: str
    site_novel_id: str
    url: str
    title: str
    author: str | None = None
    author_url: str | None = None
    synopsis: str | None = None  # plain text, paragraphs separated by blank lines
    status: str | None = None  # ongoing, completed, hiatus, stub, dropped, inactive
    novel_type: str | None = None  # original, fanfiction
    cover_url: str | None = None
    language: str | None = None
    rating: float | None = None
    word_count: int | None = None
    tags: list[str] = field(default_factory=list)
    content_warnings: list[str] = field(default_factory=list)
    chapters: list[ChapterRef] = field(default_factory=list)
    # Sites that say more (AO3): every credited author, the credit line as shown (an Open Doors
    # "X [archived by Y]" kept whole), tags in the site's own groups, the site's dates, the
    # chapters planned ("4/?" → None), and the series the novel belongs to.
    authors: list[str] = field(default_factory=list)
    byline: str | None = None
    tag_groups: dict[str, list[str]] = field(default_factory=dict)
    published_at: datetime | None = None
    updated_at: datetime | None = None
    chapters_planned: int | None = None
    series: list[SeriesLink] = field(default_factory=list)


@dataclass(slots=True)
class ChapterData:
    """One fetched chapter. `raw_html` is what the cleaner starts from; nothing is cleaned yet."""

    ref: ChapterRef
    raw_html: str
    note_before_html: str | None = None
    note_after_html: str | None = None


@dataclass(slots=True)
class SeriesWork:
    """One novel as a series page lists it."""

    position: int
    site_novel_id: str
    title: str
    url: str
    authors: list[str] = field(default_factory=list)
    summary: str | None = None
    language: str | None = None
    word_count: int | None = None
    chapters: str | None = None  # as the site shows it, e.g. "3/5" or "1/?"
    status: str | None = None
    updated_at: datetime | None = None
    tag_groups: dict[str, list[str]] = field(default_factory=dict)


@dataclass(slots=True)
class SeriesData:
    """What a site's series page says: the series and the novels it lists, in order."""

    site: str
    site_series_id: str
    url: str
    title: str
    author: str | None = None
    author_url: str | None = None
    authors: list[str] = field(default_factory=list)
    synopsis: str | None = None
    status: str | None = None
    word_count: int | None = None
    works_count: int | None = None
    published_at: datetime | None = None
    updated_at: datetime | None = None
    stats: dict[str, str] = field(default_factory=dict)
    works: list[SeriesWork] = field(default_factory=list)
    next_page_url: str | None = None  # long series are listed a page at a time
