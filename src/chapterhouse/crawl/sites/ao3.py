"""Archive of Our Own (archiveofourown.org): a whole work in one request, and series.

Selectors come from saved real pages. Facts they rely on: `?view_full_work=true` serves every
chapter of a work on one page (`div#chapters > div.chapter`, each headed by a link carrying its
chapter id) and `view_adult=true` skips the adult-content notice; a one-shot has no chapter
wrapper and no chapter id anywhere in the page; the metadata is a `dl.work.meta` of tag groups
with a `dl.stats` (no per-chapter dates exist); a restricted work sends a logged-out reader to the
login page; a series page lists its works as blurbs, 20 to a page.
"""

from __future__ import annotations

import copy
import re
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, ClassVar
from urllib.parse import SplitResult, parse_qs, unquote, urlsplit, urlunsplit

from lxml import etree

from chapterhouse.content.normalize import GENRE_NAMES, genre_slug, html_to_text
from chapterhouse.crawl.site import NovelRef, PageResponse, Site
from chapterhouse.domain import (
    ChapterData,
    ChapterRef,
    NovelData,
    SeriesData,
    SeriesLink,
    SeriesWork,
)
from chapterhouse.errors import InvalidUrlError, LayoutError, LoginRequiredError, NovelMissingError

_CANONICAL_ORIGIN = "https://archiveofourown.org"
# The whole work, adult notice skipped: the one request a work costs.
_WHOLE_WORK = "view_full_work=true&view_adult=true"
# /works/<id>[/chapters/<cid>], also inside a collection: /collections/<name>/works/<id>/...
_WORK_PATH = re.compile(r"^(?:/collections/[^/]+)?/works/(?P<id>\d+)(?:/chapters/\d+)?/?$", re.I)
_SERIES_PATH = re.compile(r"^/series/(?P<id>\d+)/?$", re.I)
_CHAPTER_ID = re.compile(r"/chapters/(\d+)")
_WORK_ID = re.compile(r"/works/(\d+)")
_SERIES_ID = re.compile(r"/series/(\d+)")
_PART = re.compile(r"Part\s+(\d+)", re.I)
_HEADING_NUMBER = re.compile(r"^\s*Chapter\s+\d+\s*:?\s*", re.I)
_OPTION_NUMBER = re.compile(r"^\s*\d+\.\s*")

# The groups of a work's tags, as `dl.work.meta` classes them, under the names we store.
TAG_GROUPS: dict[str, str] = {
    "rating": "rating",
    "warnings": "warning",
    "category": "category",
    "fandoms": "fandom",
    "relationships": "relationship",
    "characters": "character",
    "freeform_tags": "freeform",
}
# The same groups on a blurb (series pages): `ul.tags li.<class>`.
_BLURB_TAGS = {
    "warnings": "warnings",
    "relationships": "relationships",
    "characters": "characters",
    "freeform_tags": "freeforms",
}
# Archive Warnings that say there is no warning to give.
_NOT_WARNINGS = frozenset(
    {"No Archive Warnings Apply", "Creator Chose Not To Use Archive Warnings"}
)


def _has_class(name: str) -> str:
    """XPath test for one class name, since @class holds several."""
    return f"contains(concat(' ', normalize-space(@class), ' '), ' {name} ')"


@dataclass(slots=True)
class WorkPage:
    """A work page parsed: the novel, plus what only AO3 says (kept for display and tests)."""

    novel: NovelData
    language_name: str | None = None
    collections: list[str] = field(default_factory=list)
    stats: dict[str, str] = field(default_factory=dict)
    notes_html: str | None = None  # the work's notes, shown before its first chapter
    end_notes_html: str | None = None  # the work's end notes, shown after its last chapter


@dataclass(frozen=True, slots=True)
class ChapterView:
    """What a chapter-by-chapter page says about its chapter besides the text."""

    number: int | None
    title: str | None
    heading: str | None
    novel_title: str | None
    author: str | None
    author_url: str | None
    prev_url: str | None
    next_url: str | None


class ArchiveOfOurOwn(Site):
    """AO3: fan works. A work is fetched whole in one request; a series URL ingests each work."""

    name: ClassVar[str] = "ao3"
    title: ClassVar[str] = "Archive of Our Own"
    domains: ClassVar[tuple[str, ...]] = (
        "archiveofourown.org",
        "www.archiveofourown.org",
        "ao3.org",
    )
    example_url: ClassVar[str] = "https://archiveofourown.org/works/123456"
    limits: ClassVar[str] = (
        "One request at a time, at least 5 s apart (AO3 answers faster crawling with 429 and "
        "Retry-After). A whole work is one request; a series URL queues one job per work. "
        "Restricted works (registered users only) fail: no login is made. No per-chapter dates; "
        "a one-shot has no chapter id, so if it grows a second chapter its text is stored again."
    )
    download_delay: ClassVar[float] = 5.0
    concurrency: ClassVar[int] = 1
    chapters_on_novel_page: ClassVar[bool] = True

    # --- URLs --------------------------------------------------------------------------------

    def novel_ref(self, url: SplitResult) -> NovelRef:
        """Resolve a work, chapter or series URL; the work is fetched whole, adult notice off."""
        origin = self._origin(url)
        if match := _WORK_PATH.match(url.path):
            return NovelRef(
                site=self.name,
                site_novel_id=match["id"],
                url=f"{origin}/works/{match['id']}?{_WHOLE_WORK}",
            )
        if match := _SERIES_PATH.match(url.path):
            return NovelRef(
                site=self.name,
                site_novel_id=match["id"],
                url=f"{origin}/series/{match['id']}",
                kind="series",
            )
        raise InvalidUrlError(
            f"{urlunsplit(url)[:100]!r} is not an AO3 work or series URL; one looks like "
            f"{_CANONICAL_ORIGIN}/works/<id> (a chapter URL of the work works too) or "
            f"{_CANONICAL_ORIGIN}/series/<id>"
        )

    def _origin(self, url: SplitResult) -> str:
        # Mirrors and the test server keep their own origin; the real site has one spelling.
        host = (url.hostname or "").lower()
        if host in self.domains and url.port is None:
            return _CANONICAL_ORIGIN
        return f"{url.scheme}://{url.netloc}"

    # --- work page ---------------------------------------------------------------------------

    def parse_novel(self, response: PageResponse) -> NovelData:
        """Parse a work page (whole work or one chapter of it) into NovelData."""
        return self.work_page(response).novel

    def work_page(self, response: PageResponse) -> WorkPage:
        """The work's metadata, chapter list and work-level notes; raise a CrawlError."""
        _refuse_login_page(response)
        work_id = _work_id(response)
        url = f"{_origin_of(response.url)}/works/{work_id}"
        preface = _work_preface(response)
        title = _text(preface.xpath(f".//h2[{_has_class('title')}]"))
        if not title:
            if "part of an ongoing challenge" in response.text:
                raise NovelMissingError(f"AO3 has not revealed the work at {url} yet")
            if response.xpath(f"//p[{_has_class('caution')}]"):
                raise LayoutError(
                    f"{response.url}: AO3 showed its adult-content notice instead of the work "
                    "(view_adult=true was not honoured)"
                )
            raise LayoutError(
                f"{response.url}: the work title (selector '#workskin .preface h2.title') is "
                "missing; AO3's page layout may have changed"
            )
        byline_node = preface.xpath(f".//h3[{_has_class('byline')}]")
        byline = _text(byline_node) or None
        links = byline_node.xpath(".//a[@rel='author']")
        authors = [t for t in (_text(a) for a in links) if t] or ([byline] if byline else [])
        author_href = links[0].attrib.get("href") if links else None
        meta = response.xpath(f"//dl[{_has_class('work')}][{_has_class('meta')}]")
        groups = {key: _tags(meta, css) for key, css in TAG_GROUPS.items()}
        stats = _definitions(meta.xpath(f".//dl[{_has_class('stats')}]"))
        done, planned = _chapter_counts(stats.get("chapters"))
        language = meta.xpath(f"./dd[{_has_class('language')}]")
        published = _date(stats.get("published"))
        # The second date is labelled "Updated:" or "Completed:"; either way the latest change.
        updated = _date(stats.get("updated") or stats.get("completed")) or published
        novel = NovelData(
            site=self.name,
            site_novel_id=work_id,
            url=url,
            title=title,
            author=authors[0] if authors else None,
            author_url=response.urljoin(author_href) if author_href else None,
            synopsis=_paragraphs(preface.xpath(f".//div[{_has_class('summary')}]/blockquote")),
            status=_status(done, planned),
            novel_type="original" if "Original Work" in groups["fandoms"] else "fanfiction",
            language=language.attrib.get("lang") or _text(language) or None,
            word_count=_number(stats.get("words")),
            # Only freeform tags the genre table knows become genres; all stay in their groups.
            tags=[t for t in groups["freeform_tags"] if genre_slug(t) in GENRE_NAMES],
            content_warnings=[w for w in groups["warnings"] if w not in _NOT_WARNINGS],
            chapters=self._chapter_refs(response, url, title),
            authors=authors,
            byline=byline,
            tag_groups=groups,
            published_at=published,
            updated_at=updated,
            chapters_planned=planned,
            series=_series_links(response, meta),
        )
        return WorkPage(
            novel=novel,
            language_name=_text(language) or None,
            collections=[
                t for t in (_text(a) for a in meta.xpath("./dd[@class='collections']//a")) if t
            ],
            stats=stats,
            notes_html=_notes(preface.xpath(f"./div[{_has_class('notes')}]")),
            end_notes_html=_notes(response.xpath("//div[@id='work_endnotes']")),
        )

    def _chapter_refs(self, response: PageResponse, url: str, title: str) -> list[ChapterRef]:
        """Every chapter in reading order: the chapter menu, else the chapters on the page."""
        refs: list[ChapterRef] = []
        origin = _origin_of(url)
        work_id = url.rsplit("/", 1)[1]
        # A chapter-by-chapter page lists the whole work in its chapter menu.
        for option in response.xpath("//select[@id='selected_id']/option"):
            chapter_id = (option.attrib.get("value") or "").strip()
            if chapter_id.isdigit():
                name = _OPTION_NUMBER.sub("", _text(option), count=1)
                refs.append(
                    ChapterRef(
                        site_chapter_id=chapter_id,
                        number=len(refs) + 1,
                        title=name or f"Chapter {len(refs) + 1}",
                        url=f"{origin}/works/{work_id}/chapters/{chapter_id}",
                    )
                )
        if refs:
            return refs
        container = response.xpath("//div[@id='chapters']")
        if not container:
            raise LayoutError(
                f"{response.url}: the chapters (selector 'div#chapters') are missing; AO3's page "
                "layout may have changed"
            )
        for chapter in container.xpath(f"./div[{_has_class('chapter')}]"):
            link = chapter.xpath(f".//h3[{_has_class('title')}]/a")
            found = _CHAPTER_ID.search(link.attrib.get("href", "")) if link else None
            if found is None:
                raise LayoutError(f"{response.url}: a chapter heading has no /chapters/<id> link")
            refs.append(
                ChapterRef(
                    site_chapter_id=found.group(1),
                    number=len(refs) + 1,
                    title=_chapter_title(chapter, len(refs) + 1),
                    url=f"{origin}/works/{work_id}/chapters/{found.group(1)}",
                )
            )
        if not refs and container.xpath(f"./div[{_has_class('userstuff')}]"):
            # A one-shot: no chapter wrapper and no chapter id anywhere, so the work stands in.
            refs.append(
                ChapterRef(site_chapter_id=f"work-{work_id}", number=1, title=title, url=url)
            )
        return refs

    # --- a chapter's text --------------------------------------------------------------------

    def parse_chapter(self, response: PageResponse, ref: ChapterRef) -> ChapterData:
        """One chapter's text and notes, from the whole-work page (or its own chapter page)."""
        container = response.xpath("//div[@id='chapters']")
        if ref.site_chapter_id.startswith("work-"):
            content = container.xpath(f"./div[{_has_class('userstuff')}]")
            before: list[str | None] = []
            after: list[str | None] = []
            first = last = True
        else:
            # concat(@href, '#') matches the id exactly: /chapters/12 is not /chapters/123.
            chapter = container.xpath(
                f"./div[{_has_class('chapter')}][.//h3[{_has_class('title')}]"
                f"/a[contains(concat(@href, '#'), '/chapters/{int(ref.site_chapter_id)}#')]]"
            )
            content = chapter.xpath(f"./div[{_has_class('userstuff')}]")
            # The chapter's summary and notes, then its end notes, sit in prefaces around it.
            heads = content.xpath(f"preceding-sibling::div[{_has_class('preface')}]")
            tails = content.xpath(f"following-sibling::div[{_has_class('preface')}]")
            summary = _notes(heads.xpath(f".//div[{_has_class('summary')}]"))
            before = [f"<blockquote>{summary}</blockquote>" if summary else None]
            before.append(_notes(heads.xpath(f".//div[{_has_class('notes')}]")))
            after = [_notes(tails.xpath(f".//div[{_has_class('end')}][{_has_class('notes')}]"))]
            first = chapter.attrib.get("id") == "chapter-1"
            last = bool(chapter) and not chapter.xpath(
                f"following-sibling::div[{_has_class('chapter')}]"
            )
        if not content:
            raise LayoutError(
                f"{ref.url}: chapter {ref.number} ({ref.title}) has no text on the work page "
                "(selector 'div#chapters div.userstuff'); AO3's page layout may have changed"
            )
        if first:  # the work's own notes come before its first chapter, as AO3 shows them
            before.insert(0, _notes(_work_preface(response).xpath(f"./div[{_has_class('notes')}]")))
        if last:
            after.append(_notes(response.xpath("//div[@id='work_endnotes']")))
        return ChapterData(
            ref=ref,
            raw_html=_without_landmarks(content[0]),
            note_before_html="\n".join(n for n in before if n) or None,
            note_after_html="\n".join(n for n in after if n) or None,
        )

    def chapter_view(self, response: PageResponse) -> ChapterView:
        """Number, title, headings and prev/next links of a chapter-by-chapter page."""
        chapter = response.xpath(f"//div[@id='chapters']/div[{_has_class('chapter')}]")
        number = (chapter.attrib.get("id") or "").removeprefix("chapter-") if chapter else ""
        heading = _text(chapter.xpath(f".//h3[{_has_class('title')}]")) or None
        byline = response.xpath(
            f"//div[@id='workskin']//h3[{_has_class('byline')}]//a[@rel='author']"
        )
        author_href = byline.attrib.get("href") if byline else None
        return ChapterView(
            number=int(number) if number.isdigit() else None,
            title=_chapter_title(chapter[0], int(number)) if number.isdigit() else None,
            heading=heading,
            novel_title=_text(response.xpath(f"//div[@id='workskin']//h2[{_has_class('title')}]"))
            or None,
            author=_text(byline) or None,
            author_url=response.urljoin(author_href) if author_href else None,
            prev_url=_nav(response, "previous"),
            next_url=_nav(response, "next"),
        )

    # --- series ------------------------------------------------------------------------------

    def parse_series(self, response: PageResponse) -> SeriesData:
        """One page of a series: its metadata and the works it lists, in part order."""
        _refuse_login_page(response)
        found = _SERIES_ID.search(urlsplit(response.url).path)
        title = _text(response.xpath(f"//div[@id='main']/h2[{_has_class('heading')}]"))
        meta = response.xpath(f"//dl[{_has_class('series')}][{_has_class('meta')}]")
        if found is None or not title or not meta:
            raise LayoutError(
                f"{response.url}: the series title or metadata (selectors '#main h2.heading', "
                "'dl.series.meta') is missing; AO3's page layout may have changed"
            )
        series_id = found.group(1)
        fields = _definitions(meta, labels_as_shown=True, nested=False)
        stats = _definitions(meta.xpath(f".//dl[{_has_class('stats')}]"), labels_as_shown=True)
        links = meta.xpath("./dd//a[@rel='author']")
        author_href = links[0].attrib.get("href") if links else None
        works = [
            work
            for blurb in response.xpath(f"//ul[{_has_class('series')}][{_has_class('index')}]/li")
            if (work := _blurb(response, blurb, series_id)) is not None
        ]
        complete = stats.get("Complete", "").strip().lower()
        next_href = response.xpath(f"//ol[{_has_class('pagination')}]//a[@rel='next']/@href").get()
        description = meta.xpath(
            "./dt[normalize-space()='Description:']/following-sibling::dd[1]/blockquote"
        )
        return SeriesData(
            site=self.name,
            site_series_id=series_id,
            url=f"{_origin_of(response.url)}/series/{series_id}",
            title=title,
            author=_text(links[0]) if links else None,
            author_url=response.urljoin(author_href) if author_href else None,
            authors=[t for t in (_text(a) for a in links) if t],
            synopsis=_paragraphs(description),
            status={"yes": "completed", "no": "ongoing"}.get(complete),
            word_count=_number(stats.get("Words")),
            works_count=_number(stats.get("Works")),
            published_at=_date(fields.get("Series Begun")),
            updated_at=_date(fields.get("Series Updated")),
            stats=stats,
            works=works,
            next_page_url=response.urljoin(next_href) if next_href else None,
        )


# --- helpers ---------------------------------------------------------------------------------


def _text(selection: Any) -> str:
    """Visible text of a selector (or a list's first node), whitespace collapsed (NBSP too)."""
    markup = selection.get()  # SelectorList.get() is its first node, or None when empty
    return html_to_text(markup) if markup else ""


def _work_preface(response: PageResponse) -> Any:
    """The work's own preface (title, byline, summary, notes); not a chapter's, not the end."""
    return response.xpath(
        f"//div[@id='workskin']/div[{_has_class('preface')}]"
        f"[not({_has_class('chapter')})][not({_has_class('afterword')})]"
    )


def _origin_of(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}"


def _refuse_login_page(response: PageResponse) -> None:
    """A restricted work sends a logged-out reader to the login page: say so, never parse it."""
    path = urlsplit(response.url).path
    says_so = "only available to registered users" in response.text
    if not (path.startswith("/users/login") or says_so or response.xpath("//div[@id='signin']")):
        return
    # The login form remembers the work it came from: return_to=/works/<id>?view_adult=true
    back = parse_qs(urlsplit(response.url).query).get("return_to", [""])[0] or unquote(
        response.xpath("//form[contains(@action, 'return_to=')]/@action").get() or ""
    )
    found = _WORK_ID.search(back) or _SERIES_ID.search(back)
    where = f" ({_origin_of(response.url)}{found.group(0)})" if found else ""
    raise LoginRequiredError(f"this work requires an AO3 login{where}")


def _work_id(response: PageResponse) -> str:
    """The work's id: from the URL, else from the page's own links (after a redirect, say)."""
    found = _WORK_ID.search(urlsplit(response.url).path) or _WORK_ID.search(
        response.xpath(f"//li[{_has_class('share')}]/a/@href").get()
        or response.xpath("//a[contains(@href, '/works/')]/@href").get()
        or ""
    )
    if found is None:
        raise LayoutError(f"{response.url}: no work id in the URL or the page")
    return found.group(1)


def _tags(meta: Any, css_class: str) -> list[str]:
    """The tags of one group of `dl.work.meta`, in page order; [] when the work has none."""
    anchors = meta.xpath(
        f"./dd[{_has_class(css_class)}][{_has_class('tags')}]//a[{_has_class('tag')}]"
    )
    return [t for t in (_text(a) for a in anchors) if t]


def _definitions(dl: Any, *, labels_as_shown: bool = False, nested: bool = True) -> dict[str, str]:
    """A `<dl>`'s dt → dd texts: lower-case labels without the colon, or as shown."""
    result: dict[str, str] = {}
    path = ".//dt" if nested else "./dt"
    for dt in dl.xpath(path):
        label = _text(dt).rstrip(":").strip()
        dd = dt.xpath("following-sibling::dd[1]")
        if label and dd:
            result[label if labels_as_shown else label.lower()] = _text(dd)
    return result


def _number(text: str | None) -> int | None:
    digits = (text or "").replace(",", "").strip()
    return int(digits) if digits.isdigit() else None


def _date(text: str | None) -> datetime | None:
    """An AO3 date (`2010-08-24`, or a blurb's `05 Dec 2009`) at midnight UTC."""
    for shape in ("%Y-%m-%d", "%d %b %Y"):
        try:
            return datetime.strptime((text or "").strip(), shape).replace(tzinfo=UTC)
        except ValueError:
            continue
    return None


def _chapter_counts(text: str | None) -> tuple[int | None, int | None]:
    """("4/10") → (4, 10); the planned count is None when AO3 shows "?"."""
    done, _, planned = (text or "").partition("/")
    return _number(done), _number(planned)


def _status(done: int | None, planned: int | None) -> str | None:
    """AO3 has no status field: a work is complete when its chapters reach the planned count."""
    if done is None:
        return None
    return "completed" if planned is not None and done >= planned else "ongoing"


def _paragraphs(blockquote: Any) -> str | None:
    """A userstuff block as plain text, paragraphs separated by blank lines."""
    if not blockquote:
        return None
    parts = [html_to_text(part) for part in blockquote[0].xpath("node()").getall()]
    text = "\n\n".join(p for p in parts if p)
    return text or None


def _notes(modules: Any) -> str | None:
    """Inner HTML of the notes modules' texts; None when there are none (a bare "see the end")."""
    bodies = []
    for module in modules:
        for quote in module.xpath(f"./blockquote[{_has_class('userstuff')}]"):
            inner = "".join(quote.xpath("node()").getall()).strip()
            if inner and html_to_text(inner):
                bodies.append(inner)
    return "\n".join(bodies) or None


def _chapter_title(chapter: Any, number: int) -> str:
    """The AO3 chapter title: the heading after "Chapter N:", or "Chapter N" when untitled."""
    heading = _text(chapter.xpath(f".//h3[{_has_class('title')}]"))
    return _HEADING_NUMBER.sub("", heading, count=1) or heading or f"Chapter {number}"


def _without_landmarks(content: Any) -> str:
    """The content container's HTML without AO3's screen-reader heading ("Chapter Text")."""
    element = copy.deepcopy(content.root)
    for heading in element.xpath(f"./h3[{_has_class('landmark')}]"):
        # Keep the text that follows the heading: only the heading itself goes.
        previous, parent = heading.getprevious(), heading.getparent()
        if heading.tail:
            if previous is not None:
                previous.tail = (previous.tail or "") + heading.tail
            else:
                parent.text = (parent.text or "") + heading.tail
        parent.remove(heading)
    return str(etree.tostring(element, encoding="unicode", method="html", with_tail=False))


def _series_links(response: PageResponse, meta: Any) -> list[SeriesLink]:
    """ "Part N of <series>" lines of the work's metadata."""
    links: list[SeriesLink] = []
    for position in meta.xpath(f"./dd[{_has_class('series')}]//span[{_has_class('position')}]"):
        anchor = position.xpath(".//a[contains(@href, '/series/')]")
        found = _SERIES_ID.search(anchor.attrib.get("href", "")) if anchor else None
        if found is None:
            continue
        part = _PART.search(_text(position))
        links.append(
            SeriesLink(
                site_series_id=found.group(1),
                title=_text(anchor),
                url=f"{_origin_of(response.url)}/series/{found.group(1)}",
                position=int(part.group(1)) if part else None,
            )
        )
    return links


def _blurb(response: PageResponse, blurb: Any, series_id: str) -> SeriesWork | None:
    """One work of a series listing; None for an entry that is no work (deleted, say)."""
    link = blurb.xpath(f".//h4[{_has_class('heading')}]/a[contains(@href, '/works/')]")
    found = _WORK_ID.search(link.attrib.get("href", "")) if link else None
    if found is None:
        return None
    part = blurb.xpath(
        f".//ul[{_has_class('series')}]/li[a[contains(concat(@href, '#'), '/series/{series_id}#')]]"
    )
    number = _PART.search(_text(part)) if part else None
    required = blurb.xpath(f".//ul[{_has_class('required-tags')}]")

    def symbol(css_class: str) -> list[str]:
        title = required.xpath(f".//span[{_has_class(css_class)}]/@title").get() or ""
        return [t.strip() for t in title.split(",") if t.strip()]

    groups = {
        "rating": symbol("rating"),
        "category": symbol("category"),
        "fandoms": [
            t for t in (_text(a) for a in blurb.xpath(f".//h5[{_has_class('fandoms')}]/a")) if t
        ],
    }
    for key, css_class in _BLURB_TAGS.items():
        anchors = blurb.xpath(f".//ul[{_has_class('tags')}]/li[{_has_class(css_class)}]//a")
        groups[key] = [t for t in (_text(a) for a in anchors) if t]
    stats = _definitions(blurb.xpath(f".//dl[{_has_class('stats')}]"))
    done, planned = _chapter_counts(stats.get("chapters"))
    authors = blurb.xpath(f".//h4[{_has_class('heading')}]/a[@rel='author']")
    return SeriesWork(
        position=int(number.group(1)) if number else 0,
        site_novel_id=found.group(1),
        title=_text(link),
        url=f"{_origin_of(response.url)}/works/{found.group(1)}",
        authors=[t for t in (_text(a) for a in authors) if t],
        summary=_paragraphs(blurb.xpath(f".//blockquote[{_has_class('summary')}]")),
        language=stats.get("language"),
        word_count=_number(stats.get("words")),
        chapters=stats.get("chapters"),
        status=_status(done, planned),
        updated_at=_date(_text(blurb.xpath(f".//p[{_has_class('datetime')}]"))),
        tag_groups=groups,
    )


def _nav(response: PageResponse, which: str) -> str | None:
    """The previous/next chapter link of a chapter page, without AO3's #workskin anchor."""
    href = response.xpath(
        f"//ul[{_has_class('work')}][{_has_class('navigation')}]"
        f"/li[{_has_class('chapter')}][{_has_class(which)}]/a/@href"
    ).get()
    return response.urljoin(href).split("#", 1)[0] if href else None
