"""Royal-Road-shaped pages built from placeholder data: same markup structure, our own text.

The structure (selectors, anti-theft `<style>` class, "404" page served with HTTP 200) follows
saved real pages; every name, id, sentence and image host here is made up. Links are relative,
so the pages work on whatever host serves them. Image hosts use the reserved `.invalid` TLD.
"""

from __future__ import annotations

import base64
import hashlib
import html
import json
import random
import re
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from typing import Literal

Layout = Literal["prose", "table"]

_WORDS = (
    "lantern", "river", "copper", "meadow", "quiet", "ember", "harbor", "willow", "signal",
    "pebble", "orchard", "thunder", "velvet", "compass", "ridge", "hollow", "marble", "falcon",
    "tidal", "cinder", "glass", "ribbon", "summit", "drift", "archive", "beacon", "clover",
    "dune", "feather", "garnet", "lattice", "mosaic", "nectar", "quarry", "rampart", "saffron",
)  # fmt: skip
_ADJECTIVES = ("Patient", "Hollow", "Copper", "Seventh", "Quiet", "Borrowed", "Winding")
_NOUNS = ("Cartographer", "Lighthouse", "Almanac", "Orchard", "Ledger", "Tide", "Compass")
_TAG_POOL = (
    "Fantasy", "Adventure", "LitRPG", "Portal Fantasy / Isekai", "Slice of Life", "Sci-fi",
    "Progression", "Magic", "Female Lead", "Romance", "Mystery", "Time Loop",
)  # fmt: skip
ANTI_THEFT_LINES = (
    "Placeholder watermark: this sentence is hidden from readers of the original page.",
    "Placeholder watermark in a cell: a careless copy would show this sentence.",
)
_BASE_DATE = datetime(2024, 3, 1, 9, 30, tzinfo=UTC)
_AD_CLASS = "qZfAkeAdBl0ck7x"
_CDN = "https://cdn.fakeroyal.invalid"


@dataclass
class FakeChapter:
    """One chapter of a fake fiction."""

    id: int
    title: str
    published: datetime
    paragraphs: list[str]
    note_before: str | None = None
    note_after: str | None = None


@dataclass
class FakeFiction:
    """One fake fiction and its chapters, in reading order."""

    id: int
    slug: str
    title: str
    author: str
    author_id: int
    status: str
    tags: list[str]
    warnings: list[str]
    synopsis: list[str]
    chapters: list[FakeChapter]
    cover_url: str


# --- data ------------------------------------------------------------------------------------


def _slug(text: str) -> str:
    slug = re.sub(r"[^a-z0-9]+", "-", text.lower().replace("'", "").replace("’", "")).strip("-")
    return slug or "untitled"


def _sentence(rng: random.Random, words: int) -> str:
    picked = [rng.choice(_WORDS) for _ in range(words)]
    return " ".join(picked).capitalize() + "."


def _paragraph(rng: random.Random) -> str:
    return " ".join(_sentence(rng, rng.randint(5, 11)) for _ in range(rng.randint(2, 4)))


def make_fiction(
    fiction_id: int,
    n_chapters: int,
    *,
    title: str | None = None,
    tags: list[str] | None = None,
    status: str = "ONGOING",
) -> FakeFiction:
    """A deterministic fake fiction: chapter ids fiction_id*10000+i, dates a day apart."""
    rng = random.Random(f"fiction-{fiction_id}")  # str seeds are stable across runs
    title = f"The {rng.choice(_ADJECTIVES)} {rng.choice(_NOUNS)}" if title is None else title
    chapters = []
    for number in range(1, n_chapters + 1):
        crng = random.Random(f"chapter-{fiction_id}-{number}")
        # A curly apostrophe in every third title: sites write it as an entity.
        name = crng.choice(_NOUNS) + ("’s " if number % 3 == 0 else " ") + crng.choice(_WORDS)
        chapters.append(
            FakeChapter(
                id=fiction_id * 10000 + number,
                title=f"Chapter {number}: " + " ".join(w.capitalize() for w in name.split()),
                published=_BASE_DATE + timedelta(days=number - 1, minutes=fiction_id % 60),
                paragraphs=[_paragraph(crng) for _ in range(crng.randint(4, 6))],
                note_before="Placeholder note before the chapter." if number == 1 else None,
                note_after="Placeholder note after the chapter." if number % 2 == 0 else None,
            )
        )
    return FakeFiction(
        id=fiction_id,
        slug=_slug(title),
        title=title,
        author=f"scribe{fiction_id % 1000:03d}",
        author_id=900000 + fiction_id,
        status=status,
        tags=list(tags) if tags is not None else rng.sample(_TAG_POOL, 4),
        warnings=["Graphic Violence", "Profanity"] if fiction_id % 2 == 0 else [],
        synopsis=[_paragraph(rng) for _ in range(3)],
        chapters=chapters,
        cover_url=f"{_CDN}/covers-full/{fiction_id}-{_slug(title)}.jpg",
    )


def fiction_path(f: FakeFiction) -> str:
    """Path of the fiction page."""
    return f"/fiction/{f.id}/{f.slug}"


def chapter_path(f: FakeFiction, c: FakeChapter) -> str:
    """Path of a chapter page."""
    return f"{fiction_path(f)}/chapter/{c.id}/{_slug(c.title)}"


def fiction_word_count(f: FakeFiction) -> int:
    """The word count the fiction page's Pages tooltip states (the paragraphs' words)."""
    return sum(len(p.split()) for c in f.chapters for p in c.paragraphs)


def fiction_rating(f: FakeFiction) -> float:
    """The overall score the fiction page states."""
    return round(3.5 + (f.id % 15) / 10, 2)


# --- markup ----------------------------------------------------------------------------------


def _e(text: str) -> str:
    """Escape, and write non-ASCII as hex references the way Royal Road does."""
    return "".join(ch if ord(ch) < 128 else f"&#x{ord(ch):X};" for ch in html.escape(text))


def _token(*seed: object) -> str:
    """A random-looking class name shaped like Royal Road's (base64 of hex)."""
    digest = hashlib.sha256("-".join(map(str, seed)).encode()).hexdigest()[:32]
    return "c" + base64.b64encode(digest.encode()).decode().rstrip("=")


def hidden_class(c: FakeChapter) -> str:
    """The anti-theft class that a chapter page's <style> block declares hidden."""
    return "cm" + _token("hidden", c.id)[2:]


def _time(moment: datetime) -> str:
    title = moment.strftime("%A, %B %-d, %Y %-I:%M&#x202F;%p")
    stamp = moment.strftime("%Y-%m-%dT%H:%M:%S.0000000&#x2B;00:00")
    return (
        f'<time unixtime="{int(moment.timestamp())}" title="{title}" datetime="{stamp}" '
        'format="agoshort">1 year </time> ago'
    )


def _page(title: str, head: str, body: str) -> str:
    return f"""<!DOCTYPE html>
<html lang="en">
<head>
    <meta charset="utf-8"/>
    <title>{title} | Royal Road</title>
{head}
</head>
<body class="page-container-bg-solid light-theme">
<div class="page-container"><div class="page-content-wrapper"><div class="page-content">
{body}
</div></div></div>
</body></html>
"""


def _ad() -> str:
    return (
        f'<div class="portlet light {_AD_CLASS}"><div class="bold uppercase">Advertisement</div>'
        '<a class="btn btn-default btn-xs" target="_blank" href="/ps/r">Remove</a></div>'
    )


def fiction_html(f: FakeFiction) -> str:
    """A fiction page: header, labels, tags, warnings, synopsis, stats, table of contents."""
    words = fiction_word_count(f)
    first = chapter_path(f, f.chapters[0]) if f.chapters else fiction_path(f)
    synopsis = "\n".join(f"<p>{_e(p)}</p>" for p in f.synopsis)
    ld = {"@context": "https://schema.org", "@type": "Book", "name": f.title,
          "description": synopsis, "image": f.cover_url, "url": fiction_path(f),
          "author": {"@type": "Person", "name": f.author, "url": f"/profile/{f.author_id}"},
          "aggregateRating": {"@type": "AggregateRating", "ratingValue": fiction_rating(f)},
          "inLanguage": "en-US", "numberOfPages": words // 275}  # fmt: skip
    ld_json = json.dumps(ld).replace("</", "<\\/")
    head = f'    <script type="application/ld+json">{ld_json}</script>'
    tags = "\n".join(
        '<a class="label label-default label-sm bg-blue-dark fiction-tag" '
        f'href="/fictions/search?tagsAdd={_slug(t)}">{_e(t)} </a>'
        for t in f.tags
    )
    items = "".join(f"<li>{_e(w)}</li>" for w in f.warnings)
    warnings = (
        '<div style="padding: 5px 0" class="text-center font-red-sunglo"><strong>Warning</strong>'
        f' <span>This fiction contains:</span><ul class="list-inline">{items}</ul></div>'
        if f.warnings
        else ""
    )
    rows = "\n".join(
        f"""<tr style="cursor: pointer" data-url="{chapter_path(f, c)}" class="chapter-row">
    <td><a href="{chapter_path(f, c)}">
        {_e(c.title)}
    </a></td>
    <td data-content="{i}" class="text-right"><a href="{chapter_path(f, c)}">{_time(c.published)}</a></td>
</tr>"""  # noqa: E501
        for i, c in enumerate(f.chapters)
    )
    body = f"""<div class="container fiction-page">
<script>window.fictionId = {f.id};</script>
<div class="row fic-header">
    <div class="col-md-3 cover-col"><img class="thumbnail" data-type="cover" alt="{_e(f.title)}" src="{f.cover_url}"></div>
    <div class="col-md-5 fic-title"><div class="col">
        <h1 class="font-white">{_e(f.title)}</h1>
        <h4 class="font-white"><span class="small font-white">by </span>
            <span><a href="/profile/{f.author_id}" class="font-white">{_e(f.author)}</a></span></h4>
    </div></div>
    <div class="col-md-4 fic-buttons"><a href="{first}" class="btn btn-primary"><span>Start Reading</span></a></div>
</div>
{_ad()}
<div class="fiction-info">
<div class="portlet light row"><div class="col-md-8">
    <div class="margin-bottom-10">
        <span class="label label-default label-sm bg-blue-hoki">Original</span>
        <span class="label label-default label-sm bg-blue-hoki">
            {_e(f.status)}
        </span>
        <span class="tags"><input type="checkbox" id="showTags"/>
{tags}
        <label for="showTags"></label></span>
    </div>
    {warnings}
    <div class="description"><input type="checkbox" value="" id="showMore"/>
        <div class="hidden-content">
{synopsis}
        </div>
    </div>
</div></div>
</div>
<div class="portlet light"><div class="portlet-body fiction-stats"><div class="stats-content">
    <ul class="list-unstyled">
        <li class="bold uppercase list-item">Overall Score</li>
        <li class="list-item"><span class="star popovers" data-content="{fiction_rating(f)} / 5"></span></li>
        <li class="bold uppercase">Pages <i class="fal fa-question-circle popovers" title="Story Length" data-content="This story would be {words // 275:,} pages long as a paperback, based on 275 words per page, calculated from {words:,} words."></i> :</li>
        <li class="bold uppercase font-red-sunglo">{words // 275:,}</li>
    </ul>
</div></div></div>
<div class="portlet light"><div class="portlet-title"><span class="label label-default pull-right">{len(f.chapters)} Chapters</span></div>
<div class="portlet-body"><table class="table no-border" id="chapters" data-chapters="{len(f.chapters)}">
<thead><tr><th>Chapter Name</th><th>Release Date</th></tr></thead>
<tbody>
{rows}
</tbody></table></div></div>
</div>"""  # noqa: E501
    return _page(_e(f.title), head, body)


def _content(f: FakeFiction, c: FakeChapter, layout: Layout) -> tuple[str, list[str]]:
    """The chapter-content markup, and the texts a reader sees in it, in order."""
    hidden = hidden_class(c)
    rng = random.Random(f"content-{c.id}")
    seen: list[str] = []

    def p(text: str, key: object) -> str:
        seen.append(text)
        return f'<p class="{_token("p", c.id, key)}">{_e(text)}</p>'

    def watermark(line: str) -> str:
        return f'<span class="{hidden}"><br>{_e(line)}<br></span>'

    cell = 'style="width: 200px; height: 48px"'
    if layout == "table":
        # Like a stats sheet: the whole content is one table, the watermark inside a cell,
        # an empty spacer cell per row and an NBSP paragraph after the table.
        rows = []
        for i, text in enumerate(c.paragraphs):
            label = p(f"Entry {i + 1}", f"label{i}")
            mark = watermark(ANTI_THEFT_LINES[1]) if i == 1 else ""
            body = p(text, i)
            rows.append(
                f"<tr><td {cell}>\n{label}{mark}\n</td><td {cell}>\n{body}\n</td>"
                f'<td style="width: 0">&nbsp;</td></tr>'
            )
        seen.append("\u00a0")
        markup = (
            '<div><div style="max-width: 100%; overflow:auto"><table style="width: 600px">\n'
            "<tbody>\n" + "\n".join(rows) + "\n</tbody>\n</table></div></div>\n"
            f'<p class="{_token("p", c.id, "spacer")}">&nbsp;</p>'
        )
        return markup, seen
    parts = []
    for i, text in enumerate(c.paragraphs):
        parts.append(p(text, i) + (watermark(ANTI_THEFT_LINES[0]) if i == 1 else ""))
    if c.id % 10000 == 1:  # the first chapter carries an illustration
        parts.append(
            f'<p class="{_token("p", c.id, "img")}"><img src="{_CDN}/art/{f.id}/map.png" '
            'alt="Placeholder map" width="640" height="360"></p>'
        )
    key, value = rng.choice(_NOUNS), rng.choice(_WORDS)
    label, val = p(key, "tk"), p(value, "tv")
    parts.append(
        '<div style="max-width: 100%; overflow:auto"><table style="width: 400px"><tbody>\n'
        f"<tr><td {cell}>\n{label}{watermark(ANTI_THEFT_LINES[1])}\n</td>"
        f"<td {cell}>\n{val}\n</td></tr>\n</tbody></table></div>"
    )
    return "\n".join(parts), seen


def chapter_text(f: FakeFiction, c: FakeChapter, layout: Layout = "prose") -> str:
    """What a reader sees of the chapter content: the text a correct cleaner keeps."""
    return " ".join(" ".join(_content(f, c, layout)[1]).split())


def _note(text: str | None) -> str:
    if text is None:
        return ""
    return f"""<div class="portlet solid author-note-portlet">
    <div class="portlet-title"><div class="caption"><span class="caption-subject bold uppercase">A note from the author</span></div></div>
    <div class="portlet-body author-note"><p>{_e(text)}</p></div>
</div>"""  # noqa: E501


def _nav(href: str | None, label: str, top: bool) -> str:
    classes = "btn btn-primary " + ("col-xs-12" if top else "col-xs-4")
    if href is None:
        return f'<button class="{classes}" disabled="disabled">{label} Chapter</button>'
    return f'<a class="{classes}" data-subscriber-nav="" href="{href}">{label} Chapter</a>'


def chapter_html(f: FakeFiction, c: FakeChapter, *, layout: Layout = "prose") -> str:
    """A chapter page: hidden-class <style>, headings, nav, notes, content with watermarks."""
    index = next(i for i, other in enumerate(f.chapters) if other.id == c.id)
    prev_href = chapter_path(f, f.chapters[index - 1]) if index > 0 else None
    next_href = chapter_path(f, f.chapters[index + 1]) if index + 1 < len(f.chapters) else None
    links = "".join(
        f"\n    <link rel='{rel}' href='{href}'/>"
        for rel, href in (("prev", prev_href), ("next", next_href))
        if href
    )
    head = f"""    <style>
        .{hidden_class(c)}{{
            display: none;
            speak: never;
        }}
    </style>{links}"""
    content, _ = _content(f, c, layout)
    body = f"""<div class="container chapter-page">
<div class="row fic-header margin-bottom-40">
    <div class="col-md-2"><img class="img-offset" data-type="cover" alt="{_e(f.title)}" src="{f.cover_url}"></div>
    <div class="col-md-5 text-center md-text-left">
        <a href="{fiction_path(f)}"><h2 style="font-size: 24px" class="font-white inline-block">{_e(f.title)}</h2></a><span class="font-white"> by </span>
        <h3 style="font-size: 21px" class="font-white inline-block"><a href="/profile/{f.author_id}" class="font-white">{_e(f.author)}</a></h3>
        <h1 style="margin-top: 10px" class="font-white break-word">{_e(c.title)}</h1>
    </div>
    <div class="col-md-4 fic-buttons"><a class="btn btn-block btn-primary" href="{fiction_path(f)}">Fiction Page</a></div>
</div>
<div class="portlet light chapter"><div class="portlet-body">
    <div class="row nav-buttons">
        <div class="col-xs-6">{_nav(prev_href, "Previous", True)}</div>
        <div class="col-xs-6">{_nav(next_href, "Next", True)}</div>
    </div>
    <hr/>
    {_note(c.note_before)}
    {_ad()}
    <div class="chapter-inner chapter-content">
{content}
    </div>
    {_ad()}
    {_note(c.note_after)}
    <hr/>
    <div class="row margin-bottom-10">
        {_nav(prev_href, "Previous", False)}
        <a class="btn btn-primary col-xs-4" href="{fiction_path(f)}">Fiction Index</a>
        {_nav(next_href, "Next", False)}
    </div>
</div></div>
</div>"""  # noqa: E501
    return _page(f"{_e(c.title)} - {_e(f.title)}", head, body)


def feed_path(f: FakeFiction) -> str:
    """Path of the fiction's RSS feed."""
    return f"/fiction/syndication/{f.id}"


def feed_xml(f: FakeFiction, *, latest: int = 20) -> str:
    """The fiction's RSS 2.0 feed: its latest chapters, newest first, links to chapter pages."""
    items = "\n".join(
        f"""    <item>
      <title>{html.escape(f.title)} - {html.escape(c.title)}</title>
      <link>{chapter_path(f, c)}</link>
      <guid isPermaLink="false">{c.id}</guid>
      <description>Placeholder summary of a new chapter.</description>
      <pubDate>{format_datetime(c.published, usegmt=True)}</pubDate>
    </item>"""
        for c in reversed(f.chapters[-latest:])
    )
    return f"""<?xml version="1.0" encoding="utf-8"?>
<rss version="2.0" xmlns:atom="http://www.w3.org/2005/Atom">
  <channel>
    <title>{html.escape(f.title)}</title>
    <link>{fiction_path(f)}</link>
    <description>Placeholder feed of the latest chapters.</description>
    <atom:link href="{feed_path(f)}" rel="self" type="application/rss+xml"/>
{items}
  </channel>
</rss>
"""


def not_found_html() -> str:
    """Royal Road's "404" page for a missing fiction (the site serves it with HTTP 200)."""
    body = """<div class="container">
<div class="row"><div class="col-md-12 page-404">
    <div class="number font-red"> 404 </div>
    <div class="details">
        <h3>Nothing to read here.</h3>
        <p>This placeholder page stands for a fiction that does not exist.<br/>
            <a href="/home">Back to the front page</a></p>
    </div>
</div></div>
</div>"""
    return _page("Not Found", "", body)
