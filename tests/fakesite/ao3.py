"""AO3-shaped pages built from placeholder data: same markup structure, our own text.

The structure (the whole-work view, chapter-by-chapter pages with their chapter menu, one-shots
without chapter wrappers, Open Doors bylines, the series blurbs, the login page a restricted
work leads to) follows saved real pages; every name, id and sentence here is made up. Links are
relative, so the pages work on whatever host serves them.
"""

from __future__ import annotations

import html
import random
from dataclasses import dataclass, field
from datetime import date, timedelta
from pathlib import Path
from urllib.parse import parse_qs, quote

_WORDS = (
    "lantern", "river", "copper", "meadow", "quiet", "ember", "harbor", "willow", "signal",
    "pebble", "orchard", "thunder", "velvet", "compass", "ridge", "hollow", "marble", "falcon",
    "tidal", "cinder", "glass", "ribbon", "summit", "drift", "archive", "beacon", "clover",
)  # fmt: skip
_NOUNS = ("Cartographer", "Lighthouse", "Almanac", "Orchard", "Ledger", "Tide", "Compass")
_BASE_DATE = date(2023, 5, 14)
SERIES_PAGE_SIZE = 20  # AO3 lists a series' works 20 to a page
SAMPLES_DIR = Path(__file__).resolve().parents[1] / "fixtures" / "sites" / "ao3"


@dataclass
class FakeChapter:
    """One chapter of a fake work; `title` None is an untitled chapter ("Chapter N")."""

    id: int
    title: str | None
    paragraphs: list[str]
    summary: str | None = None
    notes: str | None = None
    end_notes: str | None = None


@dataclass
class FakeWork:
    """One fake work and its chapters, in reading order."""

    id: int
    title: str
    authors: list[str]  # linked pseuds (user name = pseud here)
    chapters: list[FakeChapter]
    rating: str = "Teen And Up Audiences"
    warnings: list[str] = field(default_factory=lambda: ["No Archive Warnings Apply"])
    category: list[str] = field(default_factory=lambda: ["Gen"])
    fandoms: list[str] = field(default_factory=lambda: ["Placeholder Fandom (Imaginary Series)"])
    relationships: list[str] = field(default_factory=list)
    characters: list[str] = field(default_factory=list)
    freeform: list[str] = field(default_factory=list)
    summary: list[str] = field(default_factory=list)
    notes: str | None = None  # the work's notes, before its first chapter
    end_notes: str | None = None  # the work's end notes, after its last chapter
    published: date = _BASE_DATE
    updated: date | None = None
    planned: int | None = 0  # chapters planned; 0: as many as there are; None: "?"
    # Open Doors imports credit the original creator in plain text around the archivist.
    imported_from: str | None = None
    series: list[tuple[int, str, int]] = field(default_factory=list)  # (id, title, part)
    restricted: bool = False  # registered users only
    damaged: set[int] = field(default_factory=set)  # chapter ids served without their text

    @property
    def one_shot(self) -> bool:
        """One chapter, planned as one: AO3 shows it without chapter wrappers or ids."""
        return len(self.chapters) == 1 and self.planned in (0, 1)

    @property
    def adult(self) -> bool:
        """AO3 asks before showing Mature and Explicit works (unless `view_adult=true`)."""
        return self.rating in ("Mature", "Explicit")


@dataclass
class FakeSeries:
    """A fake series: its works in part order."""

    id: int
    title: str
    creator: str
    work_ids: list[int]
    complete: bool = False
    description: str | None = None
    begun: date = _BASE_DATE
    updated: date = _BASE_DATE + timedelta(days=40)


# --- data ------------------------------------------------------------------------------------


def _sentence(rng: random.Random, words: int) -> str:
    return " ".join(rng.choice(_WORDS) for _ in range(words)).capitalize() + "."


def _paragraph(rng: random.Random) -> str:
    return " ".join(_sentence(rng, rng.randint(5, 11)) for _ in range(rng.randint(2, 4)))


def make_chapter(work_id: int, number: int, *, title: str | None = None) -> FakeChapter:
    """A deterministic chapter: id work_id*100+number, a few placeholder paragraphs."""
    rng = random.Random(f"ao3-chapter-{work_id}-{number}")
    return FakeChapter(
        id=work_id * 100 + number,
        title=title if title is not None else f"The {rng.choice(_NOUNS)} of {rng.choice(_WORDS)}",
        paragraphs=[_paragraph(rng) for _ in range(rng.randint(3, 5))],
        notes="Placeholder chapter note before the text." if number == 2 else None,
        end_notes="Placeholder chapter note after the text." if number == 2 else None,
        summary="Placeholder chapter summary." if number == 3 else None,
    )


def make_work(work_id: int, n_chapters: int, **extra: object) -> FakeWork:
    """A deterministic fake work with `n_chapters` chapters; keywords override any field."""
    rng = random.Random(f"ao3-work-{work_id}")
    work = FakeWork(
        id=work_id,
        title=f"The {rng.choice(_NOUNS)} and the {rng.choice(_NOUNS)}",
        authors=[f"quill{work_id % 1000:03d}"],
        chapters=[make_chapter(work_id, n) for n in range(1, n_chapters + 1)],
        characters=["Placeholder Hero", "Placeholder Rival"],
        relationships=["Placeholder Hero & Placeholder Rival"],
        freeform=["Time Travel", "Found Family", "Adventure", "Slow Burn"],
        summary=[_paragraph(rng) for _ in range(2)],
        notes="Placeholder work note: thanks to the imaginary beta reader.",
        end_notes="Placeholder end note of the whole work.",
        updated=_BASE_DATE + timedelta(days=7 * max(n_chapters - 1, 0)),
    )
    for key, value in extra.items():
        setattr(work, key, value)
    return work


def work_path(w: FakeWork) -> str:
    """Path of the work."""
    return f"/works/{w.id}"


def chapter_path(w: FakeWork, c: FakeChapter) -> str:
    """Path of one chapter's page."""
    return f"{work_path(w)}/chapters/{c.id}"


def series_path(s: FakeSeries) -> str:
    """Path of the series."""
    return f"/series/{s.id}"


def chapter_text(c: FakeChapter) -> str:
    """What a reader sees of the chapter's text."""
    return " ".join(" ".join(c.paragraphs).split())


def chapter_title(c: FakeChapter, number: int) -> str:
    """The title AO3 shows for the chapter: its own, or "Chapter N" when untitled."""
    return c.title or f"Chapter {number}"


def words(w: FakeWork) -> int:
    """The word count the work's stats state."""
    return sum(len(p.split()) for c in w.chapters for p in c.paragraphs)


# --- markup ----------------------------------------------------------------------------------


def _e(text: str) -> str:
    return html.escape(text)


def _page(title: str, main_class: str, body: str) -> str:
    return f"""<!DOCTYPE html>
<html lang="en">
<head>
    <meta charset="utf-8"/>
    <title>{title} [Archive of Our Own]</title>
</head>
<body>
<div id="outer" class="wrapper">
  <ul id="skiplinks"><li><a href="#main">Main Content</a></li></ul>
  <div id="header" class="region"><h1 class="heading"><a href="/">Archive of Our Own</a></h1></div>
  <div id="inner" class="wrapper">
    <div id="main" class="{main_class} region" role="main">
      <div class="flash"></div>
{body}
    </div>
  </div>
  <div id="footer" role="contentinfo" class="region"><h3 class="landmark heading">Footer</h3></div>
</div>
</body>
</html>
"""


def _tag_href(tag: str) -> str:
    return f"/tags/{quote(tag, safe='')}/works"


def _tag_list(values: list[str]) -> str:
    items = "".join(f'<li><a class="tag" href="{_tag_href(v)}">{_e(v)}</a></li>' for v in values)
    return f'<ul class="commas">\n               {items}\n            </ul>'


def _stats(w: FakeWork) -> str:
    n = len(w.chapters)
    planned = "?" if w.planned is None else str(w.planned or n)
    done = planned != "?" and n >= int(planned)
    second = ""
    if w.updated is not None and (w.updated != w.published or done) and n > 1:
        label, css = ("Completed", "status") if done else ("Updated", "status")
        second = f'<dt class="{css}">{label}:</dt><dd class="{css}">{w.updated.isoformat()}</dd>'
    return (
        f'<dl class="stats"><dt class="published">Published:</dt><dd class="published">'
        f'{w.published.isoformat()}</dd>{second}<dt class="words">Words:</dt>'
        f'<dd class="words">{words(w):,}</dd><dt class="chapters">Chapters:</dt>'
        f'<dd class="chapters">{n}/{planned}</dd><dt class="kudos">Kudos:</dt>'
        f'<dd class="kudos">{w.id % 97}</dd><dt class="hits">Hits:</dt>'
        f'<dd class="hits">{w.id % 9973:,}</dd></dl>'
    )


def _meta(w: FakeWork) -> str:
    groups = [
        ("rating", "Rating", [w.rating]),
        ("warning", '<a href="/tos_faq#tags">Archive Warning</a>', w.warnings),
        ("category", "Category", w.category),
        ("fandom", "Fandom", w.fandoms),
        ("relationship", "Relationship", w.relationships),
        ("character", "Characters", w.characters),
        ("freeform", "Additional Tags", w.freeform),
    ]
    rows = "".join(
        f"""
          <dt class="{css} tags">
              {label}:
          </dt>
          <dd class="{css} tags">
            {_tag_list(values)}
          </dd>"""
        for css, label, values in groups
        if values
    )
    series = ""
    if w.series:
        spans = "".join(
            f'<span class="series"><span class="position">Part {part} of '
            f'<a href="/series/{sid}">{_e(title)}</a></span></span>'
            for sid, title, part in w.series
        )
        series = f"""
      <dt class="series">
        Series:
      </dt>
      <dd class="series">
        {spans}
      </dd>"""
    return f"""<h3 class="landmark heading">Work Header</h3>
<div class="wrapper">
  <dl class="work meta group">{rows}
      <dt class="language">
        Language:
      </dt>
      <dd class="language" lang="en">
        English
      </dd>{series}
    <dt class="stats">Stats:</dt>
    <dd class="stats">
      {_stats(w)}
      </dd>
  </dl>
</div>"""


def _byline(w: FakeWork) -> str:
    links = ", ".join(
        f'<a rel="author" href="/users/{_e(a)}/pseuds/{_e(a)}">{_e(a)}</a>' for a in w.authors
    )
    if w.imported_from:
        return f"{_e(w.imported_from)} [archived by {links}]"
    return links


def _preface(w: FakeWork, *, jump: bool, first: bool) -> str:
    """Title and byline on every page; summary and notes with the first chapter only."""
    summary = "".join(f"<p>{_e(p)}</p>" for p in w.summary)
    if not first:
        notes = ""
    elif w.notes:
        notes = f"""
      <div class="notes module">
  <h3 class="heading">Notes:</h3>
    <blockquote class="userstuff">
      <p>{_e(w.notes)}</p>
    </blockquote>
</div>"""
    elif w.end_notes and jump:
        notes = """
      <div class="notes module">
  <h3 class="heading">Notes:</h3>
    <p class="jump">
        (See the end of the work for <a href="#work_endnotes">notes</a>.)
    </p>
</div>"""
    else:
        notes = ""
    return f"""      <div class="preface group">
  <h2 class="title heading">
    {_e(w.title)}
  </h2>
  <h3 class="byline heading">
    {_byline(w)}
  </h3>{_summary(summary) if first else ""}{notes}
</div>"""


def _summary(paragraphs: str) -> str:
    return f"""
      <div class="summary module">
        <h3 class="heading">Summary:</h3>
          <blockquote class="userstuff">
            {paragraphs}
          </blockquote>
      </div>"""


def _note_module(css: str, text: str | None, element_id: str) -> str:
    if not text:
        return ""
    return f"""
    <div id="{element_id}" class="{css} module">
      <h3 class="heading">{"Summary" if "summary" in css else "Notes"}:</h3>
      <blockquote class="userstuff"><p>{_e(text)}</p></blockquote>
    </div>"""


def _chapter_block(w: FakeWork, c: FakeChapter, number: int) -> str:
    heading = f'<a href="{chapter_path(w, c)}">Chapter {number}</a>'
    if c.title:
        heading += f": {_e(c.title)}"
    text = "".join(f"<p>{_e(p)}</p>" for p in c.paragraphs)
    content = (
        ""
        if c.id in w.damaged
        else f"""
  <div class="userstuff module" role="article">
    <h3 class="landmark heading" id="work">Chapter Text</h3>
    {text}
  </div>"""
    )
    end = ""
    if c.end_notes:
        end = f"""
  <div class="chapter preface group" role="complementary">
    {_note_module("end notes", c.end_notes, f"chapter_{number}_endnotes").strip()}
  </div>"""
    return f"""<div class="chapter" id="chapter-{number}">
  <div class="chapter preface group">
    <h3 class="title">
      {heading}
    </h3>{_note_module("summary", c.summary, "summary")}{_note_module("notes", c.notes, "notes")}
  </div>{content}{end}
</div>"""


def _afterword(w: FakeWork) -> str:
    parts = []
    if w.end_notes:
        parts.append(f"""<div id="work_endnotes" class="end notes module">
  <h3 class="heading">Notes:</h3>
  <blockquote class="userstuff"><p>{_e(w.end_notes)}</p></blockquote>
</div>""")
    if w.series:
        items = "".join(
            f'<li><span class="series"><span class="position">Part {part} of '
            f'<a href="/series/{sid}">{_e(title)}</a></span></span></li>'
            for sid, title, part in w.series
        )
        parts.append(f"""<div id="series" class="series module">
  <h3 class="heading">Series this work belongs to:</h3>
  <ul>{items}</ul>
</div>""")
    if not parts:
        return ""
    return '\n          <div class="afterword preface group">\n' + "\n".join(parts) + "\n</div>"


def _navigation(w: FakeWork, *, chapter: FakeChapter | None) -> str:
    if chapter is None:
        first = f'<li class="chapter bychapter"><a href="{chapter_path(w, w.chapters[0])}">'
        items = (first + "Chapter by Chapter</a></li>") if not w.one_shot else ""
    else:
        index = w.chapters.index(chapter)
        selected = ' selected="selected"'
        options = "\n".join(
            f'<option{selected if c is chapter else ""} value="{c.id}">'
            f"{n}. {_e(chapter_title(c, n))}</option>"
            for n, c in enumerate(w.chapters, start=1)
        )
        prev_link = (
            f'<li class="chapter previous"><a href="{chapter_path(w, w.chapters[index - 1])}'
            '#workskin">&#8592; Previous Chapter</a></li>'
            if index > 0
            else ""
        )
        next_link = (
            f'<li class="chapter next"><a href="{chapter_path(w, w.chapters[index + 1])}'
            '#workskin">Next Chapter &#8594;</a></li>'
            if index + 1 < len(w.chapters)
            else ""
        )
        items = f"""<li class="chapter entire"><a href="{work_path(w)}?view_full_work=true">Entire Work</a></li>
    {prev_link}{next_link}
    <li class="chapter"><ul id="chapter_index" class="expandable secondary hidden"><li>
      <form action="{chapter_path(w, chapter)}" accept-charset="UTF-8" method="get"><p>
        <select name="selected_id" id="selected_id">{options}</select>
      </p></form></li></ul></li>"""  # noqa: E501
    return f"""<h3 class="landmark heading">Actions</h3>
<ul class="work navigation actions">
    {items}
    <li class="share hidden"><a class=" modal" title="Share Work" href="{work_path(w)}/share">Share</a></li>
</ul>"""  # noqa: E501


def work_html(w: FakeWork, *, chapter: FakeChapter | None = None) -> str:
    """The whole work (`chapter` None), or one chapter's page with the work's chapter menu.

    The work's own notes and summary show with the first chapter, its end notes with the last.
    """
    if w.one_shot:
        text = "".join(f"<p>{_e(p)}</p>" for p in w.chapters[0].paragraphs)
        content = (
            ""
            if w.chapters[0].id in w.damaged
            else f'\n            <div class="userstuff">{text}\n        </div>'
        )
        chapters = f"""        <div id="chapters" role="article">
            <h3 class="landmark heading" id="work">Work Text:</h3>{content}
        </div>"""
        shown = w.chapters
    else:
        shown = w.chapters if chapter is None else [chapter]
        blocks = "\n".join(_chapter_block(w, c, w.chapters.index(c) + 1) for c in shown)
        chapters = f'      <div id="chapters" role="article">\n{blocks}\n      </div>'
    first = shown[0] is w.chapters[0]
    last = shown[-1] is w.chapters[-1]
    preface = _preface(w, jump=w.one_shot, first=first)
    body = f"""  <div class="work">
    {_navigation(w, chapter=chapter)}
    {_meta(w)}
    <div id="workskin">
{preface}
{chapters}{_afterword(w) if last else ""}
    </div>
  </div>
  <div id="feedback" class="feedback"><h3 class="landmark heading">Actions</h3></div>"""
    names = " - ".join([_e(w.title), *(_e(a) for a in w.authors), _e(w.fandoms[0])])
    main = "works-show" if chapter is None else "chapters-show"
    return _page(names, main, body)


def adult_notice_html(w: FakeWork) -> str:
    """What AO3 shows before a Mature or Explicit work without `view_adult=true`."""
    body = f"""<p class="caution">This work could have adult content. If you continue, you have
agreed that you are willing to see such content.</p>
<ul class="actions"><li><a href="{work_path(w)}?view_adult=true">Proceed</a></li></ul>"""
    return _page("Adult content notice", "works-show", body)


def login_html(return_to: str) -> str:
    """The login page a logged-out reader of a restricted work is sent to."""
    back = quote(return_to, safe="")
    body = f"""          <div id="signin">
              <h3 class="heading">Sorry!</h3>
  <p>
    This work is only available to registered users of the Archive.
    If you already have an Archive of Our Own account, log in now.
  </p>
<div id="loginform">
  <form class="new_user" id="new_user" action="/users/login?return_to={back}" method="post">
  <dl><dt><label for="user_login">Username or email:</label></dt>
    <dd><input type="text" name="user[login]" id="user_login" /></dd></dl>
  </form>
</div>
          </div>"""
    return _page("New Session | Archive of Our Own", "sessions-new system session", body)


def login_redirect(w: FakeWork) -> str:
    """Where a restricted work sends a logged-out reader."""
    return "/users/login?restricted=true&return_to=" + quote(f"{work_path(w)}?view_adult=true")


def not_found_html() -> str:
    """AO3's answer (HTTP 404) for a work or series that does not exist."""
    body = """<h2 class="heading">Error 404</h2>
<p>The page you were looking for doesn't exist.</p>"""
    return _page("Error 404", "error-404 system errors", body)


def _blurb(w: FakeWork, s: FakeSeries) -> str:
    part = s.work_ids.index(w.id) + 1
    tags = "".join(
        f'<li class=\'{css}\'><a class="tag" href="{_tag_href(v)}">{_e(v)}</a></li>'
        for css, values in (
            ("warnings", w.warnings),
            ("relationships", w.relationships),
            ("characters", w.characters),
            ("freeforms", w.freeform),
        )
        for v in values
    )
    n = len(w.chapters)
    planned = "?" if w.planned is None else str(w.planned or n)
    fandoms = "".join(f'<a class="tag" href="{_tag_href(f)}">{_e(f)}</a>' for f in w.fandoms)
    authors = ", ".join(
        f'<a rel="author" href="/users/{a}/pseuds/{a}">{_e(a)}</a>' for a in w.authors
    )
    updated = (w.updated or w.published).strftime("%d %b %Y")
    return f"""<li id="work_{w.id}" class="work blurb group work-{w.id}" role="article">
  <div class="header module">
    <h4 class="heading">
      <a href="{work_path(w)}">{_e(w.title)}</a>
      by
      {authors}
    </h4>
    <h5 class="fandoms heading"><span class="landmark">Fandoms:</span> {fandoms}</h5>
    <ul class="required-tags">
<li><span class="rating" title="{_e(w.rating)}"><span class="text">{_e(w.rating)}</span></span></li>
<li><span class="category" title="{_e(", ".join(w.category))}"><span class="text">{_e(", ".join(w.category))}</span></span></li>
</ul>
    <p class="datetime">{updated}</p>
  </div>
  <h6 class="landmark heading">Tags</h6>
  <ul class="tags commas">{tags}</ul>
  <blockquote class="userstuff summary">{"".join(f"<p>{_e(p)}</p>" for p in w.summary)}</blockquote>
  <ul class="series"><li>Part <strong>{part}</strong> of <a href="{series_path(s)}">{_e(s.title)}</a></li></ul>
  <dl class="stats">
    <dt class="language">Language:</dt><dd class="language" lang="en">English</dd>
    <dt class="words">Words:</dt><dd class="words">{words(w):,}</dd>
    <dt class="chapters">Chapters:</dt><dd class="chapters">{n}/{planned}</dd>
  </dl>
</li>"""  # noqa: E501


def series_html(s: FakeSeries, works: dict[int, FakeWork], page: int = 1) -> str:
    """One page of the series: metadata, then 20 works as blurbs, with pagination links."""
    listed = [works[i] for i in s.work_ids if i in works]
    pages = max(1, -(-len(listed) // SERIES_PAGE_SIZE))
    shown = listed[(page - 1) * SERIES_PAGE_SIZE : page * SERIES_PAGE_SIZE]
    pagination = ""
    if pages > 1:
        nxt = (
            f'<li class="next" title="next"><a rel="next" href="{series_path(s)}?page={page + 1}">'
            "Next &#8594;</a></li>"
            if page < pages
            else '<li class="next" title="next"><span class="disabled">Next &#8594;</span></li>'
        )
        pagination = f'<ol class="pagination actions" role="navigation">{nxt}</ol>'
    description = (
        f"""
    <dt>Description:</dt>
    <dd><blockquote class="userstuff"><p>{_e(s.description)}</p></blockquote></dd>"""
        if s.description
        else ""
    )
    body = f"""<h2 class="heading">
	{_e(s.title)}
</h2>
<h3 class="landmark heading">Series Metadata</h3>
<div class="wrapper">
  <dl class="series meta group">
      <dt>Creator:</dt>
      <dd><a rel="author" href="/users/{s.creator}/pseuds/{s.creator}">{_e(s.creator)}</a></dd>
    <dt>Series Begun:</dt>
    <dd>{s.begun.isoformat()}</dd>
    <dt>Series Updated:</dt>
    <dd>{s.updated.isoformat()}</dd>{description}
    <dt class="stats">Stats:</dt>
    <dd class="stats">
      <dl class="stats">
        <dt class="words">Words:</dt>
        <dd class="words">{sum(words(w) for w in listed):,}</dd>
        <dt class="works">Works:</dt>
        <dd class="works">{len(listed)}</dd>
        <dt>Complete:</dt>
        <dd>{"Yes" if s.complete else "No"}</dd>
      </dl>
    </dd>
  </dl>
</div>
<h3 class="landmark heading">Listing Series</h3>
{pagination}
<ul class="series work index group">
{"".join(_blurb(w, s) for w in shown)}
</ul>
{pagination}"""
    return _page(f"{_e(s.title)} - {_e(s.creator)}", "series-show", body)


# --- serving ---------------------------------------------------------------------------------


@dataclass
class FakeArchive:
    """The works and series an AO3-shaped fake site serves."""

    works: dict[int, FakeWork] = field(default_factory=dict)
    series: dict[int, FakeSeries] = field(default_factory=dict)

    def add(self, work: FakeWork) -> FakeWork:
        """Serve this work from now on (replacing an earlier version of it)."""
        self.works[work.id] = work
        return work

    def add_series(self, series: FakeSeries) -> FakeSeries:
        """Serve this series from now on."""
        self.series[series.id] = series
        return series

    def respond(self, path: str, query: str) -> tuple[int, dict[str, str], str] | None:
        """Status, headers and body for an AO3 path; None when the path is not AO3's."""
        params = parse_qs(query)
        parts = path.strip("/").split("/")
        if parts[:2] == ["users", "login"]:
            return 200, {}, login_html(params.get("return_to", ["/"])[0])
        if parts[0] == "series" and len(parts) == 2 and parts[1].isdigit():
            series = self.series.get(int(parts[1]))
            if series is None:
                return None  # another fake site's series (Scribble Hub has /series/ too)
            page = int(params.get("page", ["1"])[0] or 1)
            return 200, {}, series_html(series, self.works, page)
        if parts[0] != "works" or len(parts) not in (2, 4) or not parts[1].isdigit():
            return None
        work = self.works.get(int(parts[1]))
        if work is None:
            return 404, {}, not_found_html()
        if work.restricted:
            return 302, {"Location": login_redirect(work)}, ""
        if work.adult and params.get("view_adult") != ["true"]:
            return 200, {}, adult_notice_html(work)
        if len(parts) == 4:
            chapter = next((c for c in work.chapters if str(c.id) == parts[3]), None)
            if parts[2] != "chapters" or chapter is None:
                return 404, {}, not_found_html()
            return 200, {}, work_html(work, chapter=chapter)
        if params.get("view_full_work") == ["true"] or work.one_shot:
            return 200, {}, work_html(work)
        return 200, {}, work_html(work, chapter=work.chapters[0])  # AO3 opens at chapter 1


# --- static samples for the parser tests -----------------------------------------------------

SAMPLE_WORK_ID = 6150
SAMPLE_ONE_SHOT_ID = 6151
SAMPLE_SERIES_ID = 615


def sample_work() -> FakeWork:
    """The work behind the samples: an Open Doors import credited to two archivists, four
    chapters (the second untitled), Mature (so AO3 asks first), part 2 of the sample series."""
    return make_work(
        SAMPLE_WORK_ID,
        4,
        authors=["gatekeeper_archivist", "second_archivist"],
        imported_from="Placeholder Elder",
        rating="Mature",
        warnings=["Graphic Depictions Of Violence", "Major Character Death"],
        category=["F/M", "Multi"],
        freeform=["Time Travel", "Sci-fi", "Found Family", "Hurt/Comfort", "Slice of Life"],
        series=[(SAMPLE_SERIES_ID, "The Placeholder Cycle", 2)],
        chapters=[
            make_chapter(SAMPLE_WORK_ID, 1),
            make_chapter(SAMPLE_WORK_ID, 2, title=""),
            make_chapter(SAMPLE_WORK_ID, 3),
            make_chapter(SAMPLE_WORK_ID, 4),
        ],
    )


def sample_one_shot() -> FakeWork:
    """A one-shot, part 1 of the sample series: no chapter wrapper, its notes at the end."""
    return make_work(
        SAMPLE_ONE_SHOT_ID,
        1,
        notes=None,
        relationships=[],
        freeform=["Fluff"],
        series=[(SAMPLE_SERIES_ID, "The Placeholder Cycle", 1)],
    )


def sample_series() -> FakeSeries:
    """The series behind the samples: the one-shot, then the four-chapter work."""
    return FakeSeries(
        SAMPLE_SERIES_ID,
        "The Placeholder Cycle",
        "gatekeeper_archivist",
        [SAMPLE_ONE_SHOT_ID, SAMPLE_WORK_ID],
        description="Placeholder description of the whole cycle.",
    )


def sample_pages() -> dict[str, str]:
    """File name -> page HTML for every sample."""
    work, one_shot = sample_work(), sample_one_shot()
    return {
        "work-full.html": work_html(work),
        # Chapter 2's own page: the chapter menu, previous and next links, its notes.
        "work-chapter-2.html": work_html(work, chapter=work.chapters[1]),
        "work-one-shot.html": work_html(one_shot),
        "series.html": series_html(sample_series(), {w.id: w for w in (work, one_shot)}),
        "login-restricted.html": login_html(f"{work_path(work)}?view_adult=true"),
        "adult-notice.html": adult_notice_html(work),
    }


def main() -> None:
    """Render every sample into tests/fixtures/sites/ao3/."""
    SAMPLES_DIR.mkdir(parents=True, exist_ok=True)
    for name, page in sample_pages().items():
        (SAMPLES_DIR / name).write_text(page, encoding="utf-8")


if __name__ == "__main__":
    main()
