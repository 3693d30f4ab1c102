"""Scribble Hub (www.scribblehub.com): series pages, their full table of contents, chapters.

Selectors come from saved real pages. Facts they rely on: the series page lists only the
first 15 rows of its table of contents (newest first); the whole list is one POST to
WordPress's `admin-ajax.php` (action `wi_getreleases_pagination`, the series id as
`mypostid`, `pagenum=-1` for every row; the cookie `toc_sorder=asc` asks for oldest first).
Every row (`li.toc_w`) carries its position as an `order` attribute. Release times are only
shown as text ("Aug 4, 2024 02:00 PM") without a time zone. Chapter text is `#chp_raw`;
author notes (`div.wi_authornotes`) sit inside it, and the navigation outside it.
"""

from __future__ import annotations

import json
import logging
import re
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, ClassVar
from urllib.parse import SplitResult, urlsplit, urlunsplit

import lxml.html

from chapterhouse.content.normalize import html_to_text
from chapterhouse.crawl.site import NovelRef, PageResponse, Site, TocRequest
from chapterhouse.domain import ChapterData, ChapterRef, NovelData
from chapterhouse.errors import InvalidUrlError, LayoutError, NovelMissingError

log = logging.getLogger(__name__)

_CANONICAL_ORIGIN = "https://www.scribblehub.com"
# /series/<id>[/<slug>[/glossary|stats]]/
_SERIES_PATH = re.compile(r"^/series/(?P<id>\d+)(?:/(?P<slug>[^/]+)(?:/[^/]+)?)?/?$", re.I)
# /read/<id>-<slug>/chapter/<cid>/
_CHAPTER_PATH = re.compile(r"^/read/(?P<id>\d+)(?:-(?P<slug>[^/]*))?/chapter/(?P<cid>\d+)/?$", re.I)
_CHAPTER_ID = re.compile(r"/chapter/(\d+)")
_DATE_FORMAT = "%b %d, %Y %I:%M %p"  # "Aug 4, 2024 02:00 PM"
_STATUSES = frozenset({"ongoing", "completed", "hiatus", "stub", "dropped", "inactive"})
AJAX_PATH = "/wp-admin/admin-ajax.php"
TOC_ACTION = "wi_getreleases_pagination"


def _has_class(name: str) -> str:
    """XPath test for one class name, since @class holds several."""
    return f"contains(concat(' ', normalize-space(@class), ' '), ' {name} ')"


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


class ScribbleHub(Site):
    """Scribble Hub: original web fiction; the series page shows 15 chapters, a POST the rest."""

    name: ClassVar[str] = "scribblehub"
    title: ClassVar[str] = "Scribble Hub"
    domains: ClassVar[tuple[str, ...]] = ("www.scribblehub.com", "scribblehub.com")
    example_url: ClassVar[str] = "https://www.scribblehub.com/series/123456/some-series/"
    limits: ClassVar[str] = (
        "One request at a time, 2 s apart. The series page lists 15 chapters: longer series "
        "cost one more request, a POST to admin-ajax.php (robots.txt allows it) for the whole "
        "table of contents. Release times have no time zone on the site and are read as UTC. "
        "No feed: a followed series is updated at every check. Public series only."
    )
    download_delay: ClassVar[float] = 2.0
    concurrency: ClassVar[int] = 1

    # --- URLs --------------------------------------------------------------------------------

    def novel_ref(self, url: SplitResult) -> NovelRef:
        """Resolve a series or chapter URL to its series page; raise InvalidUrlError."""
        match = _SERIES_PATH.match(url.path) or _CHAPTER_PATH.match(url.path)
        if match is None:
            raise InvalidUrlError(
                f"{urlunsplit(url)[:100]!r} is not a Scribble Hub series URL; one looks like "
                f"{_CANONICAL_ORIGIN}/series/<id>/<name>/ (a chapter URL of the series works too)"
            )
        host = (url.hostname or "").lower()
        # Mirrors and the test server keep their own origin; the real site has one spelling.
        origin = (
            _CANONICAL_ORIGIN
            if host in self.domains and url.port is None
            else f"{url.scheme}://{url.netloc}"
        )
        slug = match["slug"]
        path = f"/series/{match['id']}/" + (f"{slug}/" if slug else "")
        return NovelRef(site=self.name, site_novel_id=match["id"], url=origin + path)

    # --- series page -------------------------------------------------------------------------

    def parse_novel(self, response: PageResponse) -> NovelData:
        """Parse a series page (its first 15 chapters); raise NovelMissingError or LayoutError."""
        title = _text(response.css("div.fic_title"))
        if not title:
            if _is_not_found(response):
                raise NovelMissingError(f"Scribble Hub has no series at {response.url} (not found)")
            raise LayoutError(
                f"{response.url}: the series title (selector 'div.fic_title') is missing; "
                "Scribble Hub's page layout may have changed"
            )
        match = _SERIES_PATH.match(urlsplit(response.url).path)
        series_id = match["id"] if match else response.css("input#mypostid::attr(value)").get()
        if not series_id:
            raise LayoutError(f"{response.url}: no series id in the URL or the page")
        ld = _ld_json(response, "Book")
        author_link = response.xpath(f"//a[span[{_has_class('auth_name_fic')}]]")
        author_href = author_link.attrib.get("href") if author_link else None
        cover = response.css("div.fic_image img::attr(src)").get() or ld.get("image")
        genres = _texts(response.css("span.wi_fic_genre a.fic_genre"))
        tags = _texts(response.css("span.wi_fic_showtags a.stag"))
        return NovelData(
            site=self.name,
            site_novel_id=series_id,
            url=response.url,
            title=title,
            author=_text(response.css("span.auth_name_fic")) or _ld_author(ld),
            author_url=response.urljoin(author_href) if author_href else None,
            synopsis=_synopsis(response),
            status=_status(response),
            cover_url=response.urljoin(cover) if cover else None,
            rating=_rating(response),
            # Genres and tags are kept apart in their groups; both go through the genre table.
            tags=[*genres, *(t for t in tags if t not in genres)],
            tag_groups={"genres": genres, "tags": tags},
            content_warnings=_texts(response.css("li.mature_contains a")),
            chapters=_numbered(_toc_rows(response, response.css("ol.toc_ol li.toc_w"))),
        )

    def chapter_total(self, response: PageResponse) -> int | None:
        """How many chapters the series page says the series has (its TOC shows 15 at most)."""
        for value in (
            response.css("input#chpcounter::attr(value)").get(),
            response.xpath(
                f"normalize-space(//div[{_has_class('toc')}]/span[{_has_class('cnt_toc')}])"
            ).get(),
            response.xpath(
                f"//span[{_has_class('st_item')}][span[{_has_class('mb_stat')}]"
                "[normalize-space()='Chapters']]/text()"
            ).get(),
        ):
            number = _number(value)
            if number is not None:
                return number
        return None

    # --- the whole table of contents ---------------------------------------------------------

    def toc_request(self, response: PageResponse, novel: NovelData) -> TocRequest | None:
        """The POST for every TOC row, oldest first; None when the series page shows them all."""
        total = self.chapter_total(response)
        if total is not None and len(novel.chapters) >= total:
            return None
        return TocRequest(
            url=response.urljoin(AJAX_PATH),
            method="POST",
            form={"action": TOC_ACTION, "pagenum": "-1", "mypostid": novel.site_novel_id},
            cookies={"toc_sorder": "asc"},
            chapter_total=total,
        )

    def parse_toc(self, response: PageResponse, novel: NovelData, request: TocRequest) -> NovelData:
        """Merge the admin-ajax rows into the series page's, numbered 1..N in reading order."""
        rows = _toc_rows(response, response.css("li.toc_w"), newest_first=False)
        if not rows:
            raise LayoutError(
                f"{request.method} {response.url}: the table of contents has no rows "
                "(selector 'li.toc_w'); Scribble Hub's answer may have changed"
            )
        # The series page's rows stay (one released between the two requests, say); the
        # full list's row wins where both have a chapter.
        merged = {
            ref.site_chapter_id: _Row(ref.number, i, ref) for i, ref in enumerate(novel.chapters)
        }
        merged.update({row.ref.site_chapter_id: row for row in rows})
        ordered = sorted(merged.values(), key=lambda row: (row.order, row.position))
        chapters = [
            ChapterRef(r.ref.site_chapter_id, i, r.ref.title, r.ref.url, r.ref.published_at)
            for i, r in enumerate(ordered, start=1)
        ]
        total = request.chapter_total
        if total is not None and len(chapters) < total:
            # Marking chapters withdrawn needs the whole list: a short one fails the job.
            raise LayoutError(
                f"{request.method} {response.url}: the table of contents lists "
                f"{len(chapters)} chapters but the series page says {total}"
            )
        novel.chapters = chapters
        return novel

    # --- chapter page ------------------------------------------------------------------------

    def parse_chapter(self, response: PageResponse, ref: ChapterRef) -> ChapterData:
        """Keep `#chp_raw` without its author notes; the notes apart, before or after it."""
        content = response.css("div#chp_raw")
        if not content:
            raise LayoutError(
                f"{response.url}: the chapter content (selector 'div#chp_raw') is missing; "
                "Scribble Hub's page layout may have changed"
            )
        raw_html, before, after = _split_notes(content[0].get())
        return ChapterData(
            ref=ref, raw_html=raw_html, note_before_html=before, note_after_html=after
        )

    def chapter_page(self, response: PageResponse) -> ChapterPage:
        """Headings and prev/next links of a chapter page (absolute URLs; None when absent)."""
        byline = response.css("div.chp_byauthor a")
        novel_href = byline[0].attrib.get("href") if len(byline) > 0 else None
        author_href = byline[1].attrib.get("href") if len(byline) > 1 else None
        return ChapterPage(
            title=_text(response.css("div.chapter-title")) or None,
            novel_title=_text(byline[0:1]) or None,
            novel_url=response.urljoin(novel_href) if novel_href else None,
            author=_text(byline[1:2]) or None,
            author_url=response.urljoin(author_href) if author_href else None,
            prev_url=_nav_link(response, "btn-prev"),
            next_url=_nav_link(response, "btn-next"),
        )


# --- helpers ---------------------------------------------------------------------------------


def _text(selection: Any) -> str:
    """Visible text of a selector (or a list's first node), whitespace collapsed (NBSP too)."""
    markup = selection.get()
    return html_to_text(markup) if markup else ""


def _texts(selection: Any) -> list[str]:
    return [t for t in (html_to_text(markup) for markup in selection.getall()) if t]


def _number(text: str | None) -> int | None:
    digits = (text or "").strip().replace(",", "")
    return int(digits) if digits.isdigit() else None


def _is_not_found(response: PageResponse) -> bool:
    """A missing series: HTTP 404, or WordPress's "Page not found" page."""
    if response.status == 404:
        return True
    heading = response.xpath("normalize-space(//title)").get() or ""
    return bool(re.search(r"\b(?:404|not found)\b", heading, re.I))


def _ld_json(response: PageResponse, kind: str) -> dict[str, Any]:
    """The page's schema.org block of that @type, or {} when absent or unreadable."""
    for block in response.xpath("//script[@type='application/ld+json']/text()").getall():
        try:
            data = json.loads(block)
        except ValueError:
            log.debug("%s: unreadable ld+json block skipped", response.url)
            continue
        if isinstance(data, dict) and data.get("@type") == kind:
            return data
    return {}


def _ld_author(ld: dict[str, Any]) -> str | None:
    author = ld.get("author")
    return author.get("name") if isinstance(author, dict) else None


def _synopsis(response: PageResponse) -> str | None:
    """Synopsis paragraphs as plain text, separated by blank lines."""
    box = response.css("div.wi_fic_desc")
    if not box:
        return None
    paragraphs = [html_to_text(part) for part in box[0].xpath("node()").getall()]
    text = "\n\n".join(p for p in paragraphs if p)
    return text or None


def _status(response: PageResponse) -> str | None:
    """From the sidebar line "Ongoing - Updated Aug 4, 2024"."""
    line = response.xpath(f"//li[span/i[{_has_class('status')}]]").get()
    word = html_to_text(line).split(" - ", 1)[0].strip().lower() if line else ""
    return word if word in _STATUSES else None


def _rating(response: PageResponse) -> float | None:
    """Average rating out of 5: the visible score, else the AggregateRating block."""
    value = _text(response.xpath("//*[@id='ratefic_user']/span/span[1]")) or (
        _ld_json(response, "AggregateRating").get("ratingValue")
    )
    try:
        return float(value) if value else None
    except (TypeError, ValueError):
        return None


def _published(title: str | None) -> datetime | None:
    """A row's release time; the site gives no zone, so it is read as UTC."""
    if not title:
        return None
    try:
        return datetime.strptime(" ".join(title.split()), _DATE_FORMAT).replace(tzinfo=UTC)
    except ValueError:
        return None  # e.g. a relative "2 hours ago": no date rather than a wrong one


@dataclass(frozen=True, slots=True)
class _Row:
    """One TOC row: the site's position (`order`), where it stood on the page, the chapter."""

    order: int
    position: int
    ref: ChapterRef


def _toc_rows(response: PageResponse, items: Any, *, newest_first: bool = True) -> list[_Row]:
    """The TOC rows (li.toc_w) of a series page (newest first) or of the admin-ajax answer."""
    rows: list[_Row] = []
    for position, item in enumerate(items):
        link = item.css("a.toc_a") or item.css("a")
        href = link.attrib.get("href") if link else None
        if not href:
            raise LayoutError(f"{response.url}: a table of contents row (li.toc_w) has no link")
        found = _CHAPTER_ID.search(href)
        if found is None:
            raise LayoutError(f"{response.url}: chapter link {href!r} has no /chapter/<id>")
        order = _number(item.attrib.get("order"))
        ref = ChapterRef(
            site_chapter_id=found.group(1),
            number=order or 0,
            title=_text(link),
            url=response.urljoin(href),
            published_at=_published(item.css("span.fic_date_pub::attr(title)").get()),
        )
        rows.append(_Row(order if order is not None else -1, position, ref))
    if any(row.order < 0 for row in rows):
        # Without the site's positions, the order on the page is all there is.
        count = len(rows)
        rows = [
            _Row(count - row.position if newest_first else row.position + 1, row.position, row.ref)
            for row in rows
        ]
    return rows


def _numbered(rows: list[_Row]) -> list[ChapterRef]:
    """Rows in reading order, each numbered by its position on the site."""
    ordered = sorted(rows, key=lambda row: (row.order, row.position))
    return [
        ChapterRef(r.ref.site_chapter_id, r.order, r.ref.title, r.ref.url, r.ref.published_at)
        for r in ordered
    ]


def _split_notes(markup: str) -> tuple[str, str | None, str | None]:
    """`#chp_raw` without its author notes, and the notes' bodies before and after the text."""
    root = lxml.html.fragment_fromstring(markup, create_parent="div")
    notes = root.xpath(f".//div[{_has_class('wi_authornotes')}]")
    if not notes:
        return markup, None, None
    before: list[str] = []
    after: list[str] = []
    for note in notes:
        bodies = note.xpath(f".//div[{_has_class('wi_authornotes_body')}]")
        body = bodies[0] if bodies else note
        inner = (body.text or "") + "".join(
            lxml.html.tostring(child, encoding="unicode") for child in body
        )
        (after if _text_before(note) else before).append(inner.strip())
    for note in notes:
        note.drop_tree()
    raw = "".join(lxml.html.tostring(child, encoding="unicode") for child in root)
    return raw, "\n".join(b for b in before if b) or None, "\n".join(a for a in after if a) or None


def _text_before(note: Any) -> bool:
    """Whether any chapter text or image comes before this note (other notes aside)."""
    outside = f"not(ancestor::div[{_has_class('wi_authornotes')}])"
    texts = note.xpath(f"preceding::text()[{outside}]")
    return any(text.strip() for text in texts) or bool(note.xpath(f"preceding::img[{outside}]"))


def _nav_link(response: PageResponse, css_class: str) -> str | None:
    """A prev/next link; a disabled button (href "#") means there is none."""
    for link in response.xpath(f"//a[{_has_class(css_class)}]"):
        href = (link.attrib.get("href") or "").strip()
        if href and href != "#" and "disabled" not in (link.attrib.get("class") or "").split():
            return response.urljoin(href)
    return None
