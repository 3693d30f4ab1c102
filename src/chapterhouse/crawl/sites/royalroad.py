"""Royal Road (www.royalroad.com): fiction pages and chapter pages.

Selectors come from saved real pages. Facts they rely on: the fiction page holds the whole
table of contents (`tr.chapter-row`); `<time>` carries `unixtime` and `datetime` attributes
(its text is relative and uses U+202F); a missing fiction is a "404" page served with HTTP 200;
chapter pages declare a random anti-theft class hidden in a `<style>` block, which is why the
raw HTML kept for the cleaner includes the page's style blocks.
"""

from __future__ import annotations

import json
import logging
import re
from dataclasses import dataclass
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from typing import Any, ClassVar
from urllib.parse import SplitResult, urljoin, urlsplit, urlunsplit

from chapterhouse.content.normalize import element_text, html_to_text
from chapterhouse.crawl.site import FeedItem, NovelRef, PageResponse, Site
from chapterhouse.domain import ChapterData, ChapterRef, NovelData
from chapterhouse.errors import InvalidUrlError, LayoutError, NovelMissingError

log = logging.getLogger(__name__)

_CANONICAL_ORIGIN = "https://www.royalroad.com"
# /fiction/<id>[/<slug>[/chapter/<cid>[/<cslug>]]], with or without a trailing slash.
_NOVEL_PATH = re.compile(
    r"^/fiction/(?P<id>\d+)(?:/(?P<slug>[^/]+)(?:/chapter/\d+(?:/[^/]*)?)?)?/?$", re.I
)
_CHAPTER_ID = re.compile(r"/chapter/(\d+)")
_WORDS_TOOLTIP = re.compile(r"calculated from ([\d,]+) words", re.I)
_STATUSES = frozenset({"ongoing", "completed", "hiatus", "stub", "dropped", "inactive"})
_TYPES = {"original": "original", "fan fiction": "fanfiction", "fanfiction": "fanfiction"}


def _has_class(name: str) -> str:
    """XPath test for one class name, since @class holds several."""
    return f"contains(concat(' ', normalize-space(@class), ' '), ' {name} ')"


_NOTE_PORTLET = f"div[{_has_class('author-note-portlet')}]"


@dataclass(frozen=True, slots=True)
class ChapterPage:
    """What a chapter page says besides its content: headings and navigation."""

    title: str | None
    novel_title: str | None
    novel_url: str | None
    author: str | None
    author_url: str | None
    prev_url: str | None
    next_url: str | None


class RoyalRoad(Site):
    """Royal Road: original web fiction, one page per fiction with the full chapter list."""

    name: ClassVar[str] = "royalroad"
    title: ClassVar[str] = "Royal Road"
    domains: ClassVar[tuple[str, ...]] = ("www.royalroad.com", "royalroad.com")
    example_url: ClassVar[str] = "https://www.royalroad.com/fiction/12345/some-fiction"
    limits: ClassVar[str] = (
        "One request at a time, 1 s apart: more than about two parallel fetches draw HTTP 429. "
        "Chapters removed by the author (stubs) are not on the fiction page and are not fetched."
    )
    download_delay: ClassVar[float] = 1.0
    concurrency: ClassVar[int] = 1

    # --- URLs --------------------------------------------------------------------------------

    def novel_ref(self, url: SplitResult) -> NovelRef:
        """Resolve a fiction or chapter URL to its fiction page; raise InvalidUrlError."""
        match = _NOVEL_PATH.match(url.path)
        if match is None:
            raise InvalidUrlError(
                f"{urlunsplit(url)[:100]!r} is not a Royal Road fiction URL; one looks like "
                f"{_CANONICAL_ORIGIN}/fiction/<id>/<name> (a chapter URL of the fiction works too)"
            )
        fiction_id = match["id"]
        host = (url.hostname or "").lower()
        # Mirrors and the test server keep their own origin; the real site has one spelling.
        origin = (
            _CANONICAL_ORIGIN
            if host in self.domains and url.port is None
            else f"{url.scheme}://{url.netloc}"
        )
        path = f"/fiction/{fiction_id}" + (f"/{match['slug']}" if match["slug"] else "")
        return NovelRef(site=self.name, site_novel_id=fiction_id, url=origin + path)

    # --- fiction page ------------------------------------------------------------------------

    def parse_novel(self, page: PageResponse) -> NovelData:
        """Parse a fiction page into NovelData; raise NovelMissingError or LayoutError."""
        # A long fiction's table of contents is most of its page (3 MB for 5,000 chapters):
        # its rows are read one at a time, and only the rest of the page is parsed as a tree.
        response, rows = _split_off_rows(page)
        if _is_not_found(response):
            raise NovelMissingError(f"Royal Road has no fiction at {response.url} (not found)")
        title = _text(response.css(".fic-title h1"))
        if not title:
            raise LayoutError(
                f"{response.url}: the fiction title (selector '.fic-title h1') is missing; "
                "Royal Road's page layout may have changed"
            )
        ld = _ld_json(response)
        info = response.css("div.fiction-info")
        labels = [_text(label).lower() for label in info.css("span.label")]
        match = _NOVEL_PATH.match(urlsplit(response.url).path)
        author_link = response.css(".fic-title h4 a")
        author_href = author_link.attrib.get("href")
        cover = response.css(".fic-header img[data-type=cover]::attr(src)").get() or ld.get("image")
        return NovelData(
            site=self.name,
            site_novel_id=match["id"] if match else _fiction_id_from_page(response),
            url=response.url,
            title=title,
            author=_text(author_link) or _author_from_ld(ld),
            author_url=response.urljoin(author_href) if author_href else None,
            synopsis=_synopsis(response),
            status=next((label for label in labels if label in _STATUSES), None),
            novel_type=next((_TYPES[label] for label in labels if label in _TYPES), None),
            cover_url=response.urljoin(cover) if cover else None,
            language=ld.get("inLanguage") or None,
            rating=_rating(response, ld),
            word_count=_word_count(response),
            tags=[t for t in (_text(a) for a in info.css("span.tags a.fiction-tag")) if t],
            content_warnings=_content_warnings(info),
            chapters=_chapters(response) if rows is None else _streamed_chapters(page.url, rows),
        )

    # --- chapter page ------------------------------------------------------------------------

    def parse_chapter(self, response: PageResponse, ref: ChapterRef) -> ChapterData:
        """Keep the chapter's raw content with the page's style blocks, and its author notes."""
        content = response.css("div.chapter-content")
        if not content:
            raise LayoutError(
                f"{response.url}: the chapter content (selector 'div.chapter-content') is "
                "missing; Royal Road's page layout may have changed"
            )
        first = content[0]
        styles = "\n".join(response.xpath("//style").getall())
        before = first.xpath(f"preceding::{_NOTE_PORTLET}")
        after = first.xpath(f"following::{_NOTE_PORTLET}")
        return ChapterData(
            ref=ref,
            raw_html=f"{styles}\n{first.get()}" if styles else first.get(),
            note_before_html=_note_body(before),
            note_after_html=_note_body(after),
        )

    # --- feed --------------------------------------------------------------------------------

    def feed_url(self, ref: NovelRef) -> str | None:
        """The fiction's RSS feed (latest chapters): /fiction/syndication/<id> on its origin."""
        origin = ref.url.split("/fiction/", 1)[0]
        return f"{origin}/fiction/syndication/{ref.site_novel_id}"

    def parse_feed(self, response: PageResponse) -> list[FeedItem]:
        """RSS 2.0 items: the link is the chapter URL, pubDate its release."""
        if not response.xpath("/rss/channel"):
            raise LayoutError(
                f"{response.url}: not an RSS feed (no rss/channel); Royal Road's feed may have "
                "changed"
            )
        items: list[FeedItem] = []
        for item in response.xpath("/rss/channel/item"):
            link = item.xpath("normalize-space(link)").get() or ""
            found = _CHAPTER_ID.search(link) or _CHAPTER_ID.search(
                item.xpath("normalize-space(guid)").get() or ""
            )
            if found is None:
                continue  # not a chapter (an announcement, say): nothing to fetch
            items.append(
                FeedItem(
                    site_chapter_id=found.group(1),
                    url=response.urljoin(link),
                    title=item.xpath("normalize-space(title)").get() or "",
                    published_at=_rss_date(item.xpath("normalize-space(pubDate)").get()),
                )
            )
        return items

    def chapter_page(self, response: PageResponse) -> ChapterPage:
        """Headings and prev/next links of a chapter page (absolute URLs; None when absent)."""
        header = response.css(".fic-header")
        novel_href = header.xpath(".//a[h2]/@href").get()
        author_href = header.css("h3 a::attr(href)").get()
        return ChapterPage(
            title=_text(header.css("h1")) or None,
            novel_title=_text(header.css("h2")) or None,
            novel_url=response.urljoin(novel_href) if novel_href else None,
            author=_text(header.css("h3 a")) or None,
            author_url=response.urljoin(author_href) if author_href else None,
            prev_url=_nav_link(response, "prev", "Previous"),
            next_url=_nav_link(response, "next", "Next"),
        )


# --- helpers ---------------------------------------------------------------------------------


def _text(selection: Any) -> str:
    """Visible text of a selector (or a list's first node), whitespace collapsed (NBSP too)."""
    markup = selection.get()  # SelectorList.get() is its first node, or None when empty
    return html_to_text(markup) if markup else ""


def _is_not_found(response: PageResponse) -> bool:
    """Royal Road answers a missing fiction with HTTP 200 and a page saying 404."""
    if response.status == 404:
        return True
    if response.css(".fic-header"):
        return False
    heading = response.xpath("normalize-space(//title)").get() or ""
    if re.search(r"\b(?:404|not found)\b", heading, re.I):
        return True
    # The error page's big "404": a leaf element whose whole text is the number.
    return bool(response.xpath("//body//*[not(*) and normalize-space() = '404']"))


def _ld_json(response: PageResponse) -> dict[str, Any]:
    """The page's schema.org Book block, or {} when absent or unreadable."""
    for block in response.xpath("//script[@type='application/ld+json']/text()").getall():
        try:
            data = json.loads(block)
        except ValueError:
            log.debug("%s: unreadable ld+json block skipped", response.url)
            continue
        if isinstance(data, dict) and data.get("@type") == "Book":
            return data
    return {}


def _author_from_ld(ld: dict[str, Any]) -> str | None:
    author = ld.get("author")
    return author.get("name") if isinstance(author, dict) else None


def _fiction_id_from_page(response: PageResponse) -> str:
    """Fallback when the response URL is not a /fiction/<id> URL (e.g. after a redirect)."""
    found = re.search(r"window\.fictionId\s*=\s*(\d+)", response.text)
    if found is None:
        raise LayoutError(f"{response.url}: no fiction id in the URL or the page")
    return found.group(1)


def _synopsis(response: PageResponse) -> str | None:
    """Description paragraphs as plain text, separated by blank lines."""
    box = response.css("div.description div.hidden-content")
    if not box:
        return None
    paragraphs = [html_to_text(part) for part in box[0].xpath("node()").getall()]
    text = "\n\n".join(p for p in paragraphs if p)
    return text or None


def _content_warnings(info: Any) -> list[str]:
    """The "This fiction contains:" list."""
    items = info.xpath(
        ".//*[contains(normalize-space(text()), 'This fiction contains')]"
        "/following-sibling::ul[1]/li"
    )
    return [t for t in (_text(li) for li in items) if t]


def _rating(response: PageResponse, ld: dict[str, Any]) -> float | None:
    """Overall score out of 5, from ld+json or else the "Overall Score" stars."""
    value = (ld.get("aggregateRating") or {}).get("ratingValue")
    if value is None:
        stars = response.xpath(
            "//li[normalize-space()='Overall Score']/following-sibling::li[1]"
            "//*[@data-content]/@data-content"
        ).get()
        value = stars.split("/")[0] if stars else None
    try:
        return float(value) if value is not None else None
    except (TypeError, ValueError):
        return None


def _word_count(response: PageResponse) -> int | None:
    """From the Pages tooltip: "... calculated from 806,306 words."."""
    for tooltip in response.xpath("//*[contains(@data-content, 'calculated from')]/@data-content"):
        found = _WORDS_TOOLTIP.search(tooltip.get())
        if found:
            return int(found.group(1).replace(",", ""))
    return None


def _published(row: Any) -> datetime | None:
    time = row.css("time")
    if not time:
        return None
    return _time_attributes(time.attrib.get("unixtime"), time.attrib.get("datetime"))


def _time_attributes(unixtime: str | None, stamp: str | None) -> datetime | None:
    """A chapter's publish time from `<time unixtime=... datetime=...>`, never from its text."""
    if unixtime and unixtime.strip().isdigit():
        return datetime.fromtimestamp(int(unixtime), tz=UTC)
    if stamp:
        try:
            parsed = datetime.fromisoformat(stamp.strip())
        except ValueError:
            return None
        return parsed.replace(tzinfo=UTC) if parsed.tzinfo is None else parsed.astimezone(UTC)
    return None


def _rss_date(text: str | None) -> datetime | None:
    """An RFC 822 pubDate in UTC, or None when absent or unreadable."""
    if not text:
        return None
    try:
        parsed = parsedate_to_datetime(text)
    except (TypeError, ValueError):
        return None
    return parsed.replace(tzinfo=UTC) if parsed.tzinfo is None else parsed.astimezone(UTC)


# The table of contents' body: `<table ... id="chapters" ...> ... <tbody> rows </tbody>`.
_TOC_TABLE = re.compile(r"<table\b[^>]*\bid=[\"']chapters[\"'][^>]*>", re.I)
_TBODY_OPEN = re.compile(r"<tbody\b[^>]*>", re.I)
_TBODY_CLOSE = re.compile(r"</tbody\s*>", re.I)


@dataclass(slots=True)
class _Page:
    """A fiction page without its chapter rows, answering like a Scrapy response."""

    url: str
    status: int
    text: str
    selector: Any

    def css(self, query: str) -> Any:
        return self.selector.css(query)

    def xpath(self, query: str, **kwargs: Any) -> Any:
        return self.selector.xpath(query, **kwargs)

    def urljoin(self, url: str) -> str:
        return urljoin(self.url, url)


def _split_off_rows(response: PageResponse) -> tuple[PageResponse, str | None]:
    """(the page without its chapter rows, the rows' HTML); (page, None) when not found."""
    text = response.text
    table = _TOC_TABLE.search(text)
    body_open = _TBODY_OPEN.search(text, table.end()) if table else None
    body_close = _TBODY_CLOSE.search(text, body_open.end()) if body_open else None
    if body_open is None or body_close is None:
        return response, None
    from parsel import Selector  # a crawl-time dependency; the API only resolves URLs here

    rest = text[: body_open.end()] + text[body_close.start() :]
    page = _Page(response.url, response.status, rest, Selector(text=rest))
    return page, text[body_open.end() : body_close.start()]


def _streamed_chapters(url: str, rows_html: str) -> list[ChapterRef]:
    """The chapter rows, parsed one at a time so the tree never holds them all."""
    from lxml import etree

    parser = etree.HTMLPullParser(events=("end",), tag="tr")
    chapters: list[ChapterRef] = []
    step = 1 << 16
    for start in range(0, len(rows_html) + 1, step):
        if start < len(rows_html):
            parser.feed(rows_html[start : start + step])
        else:
            parser.close()
        for _, row in parser.read_events():
            if "chapter-row" in (row.get("class") or "").split():
                chapters.append(_row_ref(url, row, len(chapters) + 1))
            row.clear(keep_tail=True)
            while row.getprevious() is not None:
                del row.getparent()[0]
    return chapters


def _row_ref(url: str, row: Any, number: int) -> ChapterRef:
    # Walked with iter(), not xpath(): lxml compiles an XPath string anew on every call, which
    # was most of the cost of a 5,000-row table of contents.
    link = next((a for td in row.iter("td") for a in td.iter("a")), None)  # .//td//a, first
    href = link.get("href") if link is not None else row.get("data-url")
    if not href:
        raise LayoutError(f"{url}: a chapter row (tr.chapter-row) has no link")
    found = _CHAPTER_ID.search(href)
    if found is None:
        raise LayoutError(f"{url}: chapter link {href!r} has no /chapter/<id>")
    title = element_text(link) if link is not None else ""
    time = next(row.iter("time"), None)
    attrs = time.attrib if time is not None else {}
    return ChapterRef(
        site_chapter_id=found.group(1),
        number=number,
        title=title,
        url=urljoin(url, href),
        published_at=_time_attributes(attrs.get("unixtime"), attrs.get("datetime")),
    )


def _chapters(response: PageResponse) -> list[ChapterRef]:
    chapters: list[ChapterRef] = []
    for row in response.css("tr.chapter-row"):
        link = row.css("td a")
        href = link.attrib.get("href") if link else row.attrib.get("data-url")
        if not href:
            raise LayoutError(f"{response.url}: a chapter row (tr.chapter-row) has no link")
        found = _CHAPTER_ID.search(href)
        if found is None:
            raise LayoutError(f"{response.url}: chapter link {href!r} has no /chapter/<id>")
        chapters.append(
            ChapterRef(
                site_chapter_id=found.group(1),
                number=len(chapters) + 1,
                title=_text(link),
                url=response.urljoin(href),
                published_at=_published(row),
            )
        )
    return chapters


def _note_body(portlets: Any) -> str | None:
    """Inner HTML of the notes' bodies, or None when there is no note."""
    bodies = []
    for portlet in portlets:
        body = portlet.xpath(f".//div[{_has_class('author-note')}]")
        inner = "".join(body[0].xpath("node()").getall()).strip() if body else ""
        if inner:
            bodies.append(inner)
    return "\n".join(bodies) or None


def _nav_link(response: PageResponse, rel: str, label: str) -> str | None:
    """A prev/next chapter link: <link rel>, else the nav button (a disabled <button> = none)."""
    href = response.xpath(f"//link[@rel='{rel}']/@href").get()
    if not href:
        href = response.xpath(
            f"//div[{_has_class('nav-buttons')}]//a[contains(normalize-space(), '{label}')]/@href"
        ).get()
    return response.urljoin(href) if href else None
