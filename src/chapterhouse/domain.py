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


@dataclass(slots=True)
class ChapterData:
    """One fetched chapter. `raw_html` is what the cleaner starts from; nothing is cleaned yet."""

    ref: ChapterRef
    raw_html: str
    note_before_html: str | None = None
    note_after_html: str | None = None
