"""What a site file provides. Importing this module never imports Scrapy.

A site's parse methods take any response with Scrapy's selector interface
(`.url`, `.status`, `.text`, `.css()`, `.xpath()`, `.urljoin()`): Scrapy's
`HtmlResponse` in the crawler, the same class over fixture pages in tests.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, ClassVar, Protocol
from urllib.parse import SplitResult

from chapterhouse.domain import ChapterData, ChapterRef, NovelData, SeriesData


class PageResponse(Protocol):
    """The slice of Scrapy's TextResponse that parsers use."""

    url: str
    status: int

    @property
    def text(self) -> str: ...

    def css(self, query: str) -> Any: ...

    def xpath(self, query: str, **kwargs: Any) -> Any: ...

    def urljoin(self, url: str) -> str: ...


@dataclass(frozen=True, slots=True)
class NovelRef:
    """A submitted URL resolved to the novel it names."""

    site: str
    site_novel_id: str
    url: str  # canonical novel page URL, the one the spider starts from
    # "series": the URL names a series of novels (site_novel_id is then the series' id)
    kind: str = "novel"

    @property
    def key(self) -> str:
        """Identity of the novel across URL spellings: `site:id` (`site:series:id` for a series)."""
        if self.kind == "series":
            return f"{self.site}:series:{self.site_novel_id}"
        return f"{self.site}:{self.site_novel_id}"


@dataclass(frozen=True, slots=True)
class FeedItem:
    """One chapter a novel's feed announces."""

    site_chapter_id: str
    url: str
    title: str
    published_at: datetime | None = None


@dataclass(frozen=True, slots=True)
class TocRequest:
    """One more request, after the novel page, for the rest of its table of contents."""

    url: str
    method: str = "GET"
    form: dict[str, str] = field(default_factory=dict)  # url-encoded into the body of a POST
    cookies: dict[str, str] = field(default_factory=dict)
    chapter_total: int | None = None  # what the novel page says the whole listing holds


class Site:
    """One supported site. Subclasses in `crawl/sites/` are registered automatically."""

    name: ClassVar[str]  # short id used in settings and the database, e.g. "royalroad"
    title: ClassVar[str]  # display name, e.g. "Royal Road"
    domains: ClassVar[tuple[str, ...]]  # hosts the site answers on; the first is canonical
    example_url: ClassVar[str]
    limits: ClassVar[str] = ""  # known limits, shown by `chapterhouse sites`
    # Politeness defaults: at most `concurrency` requests at once, `download_delay` s apart.
    download_delay: ClassVar[float] = 1.0
    concurrency: ClassVar[int] = 1

    def novel_ref(self, url: SplitResult) -> NovelRef:
        """Resolve a novel or chapter URL on this site to its novel; raise InvalidUrlError."""
        raise NotImplementedError

    def parse_novel(self, response: PageResponse) -> NovelData:
        """Parse the novel page; raise NovelMissingError or LayoutError."""
        raise NotImplementedError

    def parse_chapter(self, response: PageResponse, ref: ChapterRef) -> ChapterData:
        """Parse a chapter page; raise LayoutError when the content is not found."""
        raise NotImplementedError

    # Optional: a feed lets a followed novel be checked with one small request. A site without
    # one keeps `feed_url` returning None, and its followed novels get a normal update instead.

    def feed_url(self, ref: NovelRef) -> str | None:
        """The URL of the novel's feed of latest chapters, or None when the site has none."""
        return None

    def parse_feed(self, response: PageResponse) -> list[FeedItem]:
        """The chapters a feed lists (an XML response); raise LayoutError when it is no feed."""
        raise NotImplementedError

    # Optional: a novel page that lists only part of its table of contents (Scribble Hub shows
    # 15 rows). The spider sends `toc_request` and yields the novel once `parse_toc` has merged
    # the whole listing in, so new and withdrawn chapters are judged against all of it.

    def toc_request(self, response: PageResponse, novel: NovelData) -> TocRequest | None:
        """The request for the rest of the table of contents; None when the page lists it all."""
        return None

    def parse_toc(self, response: PageResponse, novel: NovelData, request: TocRequest) -> NovelData:
        """The novel with every chapter of the answer merged in, in reading order; LayoutError."""
        raise NotImplementedError

    # Optional: a novel page that holds every chapter's text (AO3's whole-work view). The spider
    # then requests no chapter page: `parse_chapter` is handed the novel page for each chapter.
    chapters_on_novel_page: ClassVar[bool] = False

    # Optional: series. `novel_ref` resolves a series URL to a NovelRef of kind "series", whose
    # page (and its next pages) is parsed here; each novel it lists is then ingested on its own.

    def parse_series(self, response: PageResponse) -> SeriesData:
        """Parse one page of a series; raise a CrawlError (LoginRequiredError, LayoutError)."""
        raise NotImplementedError
