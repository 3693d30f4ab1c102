"""Scribble-Hub-shaped pages built from placeholder data: same markup structure, our own text.

The structure (series page with 15 TOC rows newest first, the admin-ajax TOC answer honouring
`pagenum` and the `toc_sorder` cookie, `#chp_raw` with author notes inside and navigation
outside) follows saved real pages; every name, id, sentence and image host here is made up.
Links are root-relative, so the pages work on whatever host serves them.

Render the static samples the parser tests read (after changing a builder) with:
    .venv/bin/python -m tests.fakesite.scribblehub
"""

from __future__ import annotations

import html
import json
import random
import re
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path

AJAX_PATH = "/wp-admin/admin-ajax.php"
TOC_ACTION = "wi_getreleases_pagination"
# WordPress's own robots.txt, which Scribble Hub serves: admin-ajax.php is allowed.
ROBOTS_TXT = "User-agent: *\nDisallow: /wp-admin/\nAllow: /wp-admin/admin-ajax.php\n"
SAMPLES_DIR = Path(__file__).resolve().parents[1] / "fixtures" / "sites" / "scribblehub"

_WORDS = (
    "kettle", "lantern", "thistle", "granite", "sparrow", "hinge", "amber", "ledger", "moss",
    "quill", "gravel", "brook", "cobalt", "furrow", "juniper", "lantern", "mantle", "nettle",
    "pewter", "rafter", "sorrel", "tallow", "umber", "vellum", "wicker", "yarrow", "zephyr",
)  # fmt: skip
_GENRE_POOL = ("Action", "Adventure", "Fantasy", "Mystery", "Sci-fi", "Slice of Life", "Comedy")
_TAG_POOL = (
    "Clever Protagonist", "Magic", "Portal Fantasy", "Female Protagonist", "Time Loop",
    "Character Growth", "Kingdom Building", "Strategic Battles",
)  # fmt: skip
_BASE_DATE = datetime(2024, 2, 3, 14, 0)  # the site shows times without a zone
_CDN = "https://cdn.fakescribble.invalid"
_SPACER = '<p><span style="font-weight:400">\u00a0</span></p>'


@dataclass
class FakeChapter:
    """One chapter of a fake series."""

    id: int
    title: str
    published: datetime
    paragraphs: list[str]
    note_before: str | None = None
    note_after: str | None = None


@dataclass
class FakeSeries:
    """One fake series and its chapters, in reading order."""

    id: int
    slug: str
    title: str
    author: str
    author_id: int
    status: str  # as the sidebar writes it: "Ongoing", "Completed", "Hiatus"
    genres: list[str]
    tags: list[str]
    warnings: list[str]
    synopsis: list[str]
    chapters: list[FakeChapter]
    cover_url: str
    rating: str = "4.5"
    toc_page_size: int = 15  # rows on the series page and on each admin-ajax page
    # Chapter ids the admin-ajax answer leaves out (a site dropping rows): a short list fails.
    missing_from_toc: set[int] = field(default_factory=set)


# --- data ------------------------------------------------------------------------------------


def _slug(text: str) -> str:
    kept = "".join(ch if ch.isalnum() else "-" for ch in text.lower().replace("’", ""))
    return "-".join(part for part in kept.split("-") if part) or "untitled"


def _paragraph(rng: random.Random) -> str:
    sentences = []
    for _ in range(rng.randint(2, 4)):
        words = [rng.choice(_WORDS) for _ in range(rng.randint(5, 10))]
        sentences.append(" ".join(words).capitalize() + ".")
    return " ".join(sentences)


def make_series(
    series_id: int,
    n_chapters: int,
    *,
    title: str | None = None,
    genres: list[str] | None = None,
    tags: list[str] | None = None,
    status: str = "Ongoing",
    toc_page_size: int = 15,
) -> FakeSeries:
    """A deterministic fake series: chapter ids series_id*1000+i, releases a day apart."""
    rng = random.Random(f"series-{series_id}")
    if title is None:
        title = f"The {rng.choice(_WORDS).capitalize()} {rng.choice(_WORDS).capitalize()}"
    chapters = []
    for number in range(1, n_chapters + 1):
        crng = random.Random(f"sh-chapter-{series_id}-{number}")
        name = f"{crng.choice(_WORDS).capitalize()}’s {crng.choice(_WORDS).capitalize()}"
        chapters.append(
            FakeChapter(
                id=series_id * 1000 + number,
                # Every fourth title has an ampersand: sites write it as an entity.
                title=f"Chapter {number}: {name}" + (" & After" if number % 4 == 0 else ""),
                published=_BASE_DATE + timedelta(days=number - 1, minutes=series_id % 60),
                paragraphs=[_paragraph(crng) for _ in range(crng.randint(4, 6))],
                note_before="Placeholder note before the chapter." if number == 2 else None,
                note_after="Placeholder note after the chapter." if number % 2 == 0 else None,
            )
        )
    return FakeSeries(
        id=series_id,
        slug=_slug(title),
        title=title,
        author=f"penname{series_id % 1000:03d}",
        author_id=700000 + series_id % 100000,
        status=status,
        genres=list(genres) if genres is not None else rng.sample(_GENRE_POOL, 3),
        tags=list(tags) if tags is not None else rng.sample(_TAG_POOL, 4),
        warnings=["Strong Language"] if series_id % 2 == 0 else [],
        synopsis=[_paragraph(rng) for _ in range(3)],
        chapters=chapters,
        cover_url=f"{_CDN}/images/{series_id % 100}/{_slug(title)}_{series_id}.jpg",
        toc_page_size=toc_page_size,
    )


def series_path(s: FakeSeries) -> str:
    """Path of the series page."""
    return f"/series/{s.id}/{s.slug}/"


def chapter_path(s: FakeSeries, c: FakeChapter) -> str:
    """Path of a chapter page."""
    return f"/read/{s.id}-{s.slug}/chapter/{c.id}/"


def chapter_text(c: FakeChapter) -> str:
    """What a reader sees of the chapter text (notes and navigation aside)."""
    return " ".join(" ".join(c.paragraphs).split())


# --- markup ----------------------------------------------------------------------------------


def _e(text: str) -> str:
    return html.escape(text, quote=True)


def _page(title: str, head: str, body_class: str, body: str) -> str:
    return f"""<!DOCTYPE html>
<html lang="en-US" class="no-js no-svg">
<head>
<meta charset="UTF-8">
<title>{title} | Scribble Hub</title>
{head}
</head>
<body class="{body_class}">
<div id="page" class="site"><div class="site-content-contain">
{body}
</div></div>
</body>
</html>
"""


def _toc_rows(s: FakeSeries, rows: list[tuple[int, FakeChapter]]) -> str:
    return "".join(
        f'<li title="Bookmark Chapter" class="toc_w" order="{order}">'
        f'<a class="toc_a" href="{chapter_path(s, c)}">{_e(c.title)}</a>'
        f'<span class="fic_date_pub" title="{c.published.strftime("%b %-d, %Y %I:%M %p")}">'
        f"{c.published.strftime('%b %-d, %Y')}</span></li>"
        for order, c in rows
    )


def _toc_page(
    s: FakeSeries, page: int, ascending: bool, leave_out: set[int] | None = None
) -> list[tuple[int, FakeChapter]]:
    """Rows of one TOC page (1-based; -1 for all), each with its `order`."""
    rows = [(i, c) for i, c in enumerate(s.chapters, start=1) if c.id not in (leave_out or ())]
    if not ascending:
        rows.reverse()
    if page == -1:
        return rows
    size = s.toc_page_size
    return rows[(page - 1) * size : page * size]


def series_html(s: FakeSeries, *, ascending: bool = False) -> str:
    """A series page: title, cover, stats, rating, synopsis, genres, tags, TOC page 1, sidebar."""
    total = len(s.chapters)
    pages = max(1, -(-total // s.toc_page_size))
    first = chapter_path(s, s.chapters[0]) if s.chapters else series_path(s)
    ld = {"@context": "https://schema.org", "@type": "Book", "name": s.title,
          "description": " ".join(s.synopsis)[:120] + "...", "image": s.cover_url,
          "url": series_path(s), "author": {"@type": "Person", "name": s.author}}  # fmt: skip
    rating_ld = {"@context": "https://schema.org", "@type": "AggregateRating", "bestRating": "5",
                 "ratingValue": s.rating, "ratingCount": 7}  # fmt: skip
    blocks = [json.dumps(block).replace("</", "<\\/") for block in (ld, rating_ld)]
    head = "\n".join(f'<script type="application/ld+json">{b}</script>' for b in blocks)
    head += f'\n<meta property="og:image" content="{s.cover_url}">'
    genres = "".join(
        f'<span property="genre"><a class="fic_genre" gid="{i}" href="/genre/{_slug(g)}/" '
        f'title="View All {_e(g)} Related Series" >{_e(g)}</a></span>'
        for i, g in enumerate(s.genres, start=1)
    )
    tags = " ".join(
        f'<a class="stag{" odd" if i % 2 == 0 else ""}" id="etagme" href="/tag/{_slug(t)}/" '
        f'title="View All {_e(t)} Related Series" >{_e(t)}</a>'
        for i, t in enumerate(s.tags)
    )
    warnings = "".join(
        f'<li class="mature_contains"><a href="/content/{_slug(w)}/">{_e(w)}</a></li>'
        for w in s.warnings
    )
    warning_block = (
        '<li><span class="rnd_stats"><i class="fa fa-exclamation"></i></span>Content Warning'
        f'<ul class="ul_rate_expand">{warnings}</ul></li>'
        if s.warnings
        else ""
    )
    synopsis = "\n".join(f"<p>{_e(p)}</p>" for p in s.synopsis)
    latest = s.chapters[-1].published.strftime("%b %-d, %Y") if s.chapters else ""
    stars = "".join(
        f'<i title="Rate this novel {n} stars" class="fa fa-star ficrate" data-rating="{n}"></i>'
        for n in range(1, 6)
    )
    body = f"""<div class="wi_bc_out fic"><div class="wi_breadcrumb fic"><a href="/"><i class="fa fa-home"></i></a><span class="vam"> / </span> Series<span class="vam"> / </span> {_e(s.title)}</div></div>
<div class="wi_fic_wrap bottom"><div vocab="http://schema.org/" typeof="Book">
<div class="novel-container"><div class="fic_title" property="name" title="{_e(s.title)}">{_e(s.title)}</div>
<div class="novel-cover"><div class="fic_image"><img src="{s.cover_url}" alt="{_e(s.title)}" property="image"></div></div>
<div class="fic_stats"><span class="st_item"><i class="fa fa-eye"></i> 2k <span class="mb_stat">Views</span></span><span class="st_item"><i class="fa fa-list-alt"></i> {total} <span class="mb_stat">Chapters</span></span><span class="st_item"><i class="fa fa-user-o fic"></i> 12 <span class="mb_stat">Readers</span></span></div>
<div class="fic_rate" id="chk_ficrate"><span id="ratefic_user">{stars}<span> <span>{s.rating}</span> <span style="font-size:14px;">(<span class="rate_more" dp="yes">7 ratings</span>)</span></span></span></div>
<div class="read_buttons"><a href="{first}"><span class="btn_read">Read</span></a></div></div>
<div class="wi-fic_l-content fic">
<div class="box_fictionpage details"><div class="fic_row details">
<div align="center"><div class="ad_336" style="font-size: 11px;">Advertisements</div><div id='div-gpt-ad-fake1'></div></div>
<div class="wi_novel_title">Synopsis</div><div class="wi_fic_desc" property="description">{synopsis}
</div><div class="wi_novel_title">Genre</div><span class="wi_fic_genre">{genres}</span><div class="wi_novel_title tags">Tags</div><span class="wi_fic_showtags"><span class="wi_fic_showtags_inner">{tags}</span></span></div></div>
<div class="wi_novel_title tags toc">Table of Contents <span class="cnt_toc">{total}</div>
<script>$('#pagination-mesh-toc').pagination({{items: {pages}, itemsOnPage: 1}});</script>
<div id="review_new_tab"><div class="wi_fic_table main"><div class="wi_fic_table toc"><ol class="toc_ol">{_toc_rows(s, _toc_page(s, 1, ascending))}</ol></div></div><div style="overflow: auto;"><ul id="pagination-mesh-toc" class="pagination-sm"></ul></div></div>
<div class="wi_novel_title tags pedit_body nreview">Reviews <span class="cnt_toc">0</span></div>
</div>
<div class="wi-fic_r-content">
<div class="sb_box"><div class="sb_content author"><div style="text-align:center;" property="author" typeof="Person"><span property="name"><a href="/profile/{s.author_id}/{_slug(s.author)}/"><span class="auth_name_fic">{_e(s.author)}</span></a></span></div></div></div>
<div class="sb_box"><div class="sb_content copyright"><ul class="widget_fic_similar">{warning_block}<li><span>All Rights Reserved</span></li><li><span class="rnd_stats"><i class="fa fa-question status" aria-hidden="true"></i></span><span>{_e(s.status)} - Updated <span title="Last updated">{latest}</span></span></li></ul></div></div>
</div>
</div></div>
<input type="hidden" id="mypostid" value="{s.id}"><input type="hidden" id="istranslation" value="0"><input type="hidden" id="chpcounter" value="{total}">"""  # noqa: E501
    return _page(_e(s.title), head, f"single single-fictionposts postid-{s.id}", body)


def toc_html(s: FakeSeries, page: int, *, ascending: bool) -> str:
    """The admin-ajax answer: one page of TOC rows (all with page -1) in the asked order."""
    rows = _toc_rows(s, _toc_page(s, page, ascending, s.missing_from_toc))
    return (
        f'<div class="wi_fic_table toc"><ol class="toc_ol">{rows}</ol></div>'
        '<div style="overflow: auto;"><ul id="pagination-mesh-toc" class="pagination-sm">'
        "</ul></div>"
    )


def _note(s: FakeSeries, text: str | None) -> str:
    if text is None:
        return ""
    profile = f"/profile/{s.author_id}/{_slug(s.author)}/"
    return (
        '<div class="wi_authornotes"><div class="p-avatar-wrap">'
        f'<a class="avatar has-link" href="{profile}"><img src="{_CDN}/avatar/{s.author_id}.jpg">'
        f'</a></div><span class="an_username"><a href="{profile}">{_e(s.author)}</a></span>'
        '<div style="clear: both;"></div>'
        f'<div class="wi_authornotes_body"><p>{_e(text)}</p></div></div>'
    )


def chapter_html(s: FakeSeries, c: FakeChapter) -> str:
    """A chapter page: headings, navigation around `#chp_raw`, author notes inside it."""
    index = next(i for i, other in enumerate(s.chapters) if other.id == c.id)
    prev_href = chapter_path(s, s.chapters[index - 1]) if index > 0 else None
    next_href = chapter_path(s, s.chapters[index + 1]) if index + 1 < len(s.chapters) else None

    def nav(href: str | None, kind: str, label: str) -> str:
        if href is None:
            return f'<a href="#" class="btn-wi btn-{kind} disabled" dpmb="yes">{label}</a>'
        return f'<a href="{href}" class="btn-wi btn-{kind}" dpmb="yes">{label}</a>'

    paragraphs = f"\n{_SPACER}\n".join(
        f'<p><span style="font-weight:400">{_e(p)}</span></p>' for p in c.paragraphs
    )
    body = f"""<div class="wi_fic_wrap chapter"><div class="wi-main">
<div class="wi_breadcrumb chapter"><a href="/"><i class="fa fa-home"></i></a> <span class="vam"> &gt; </span> <a href="{series_path(s)}">{_e(s.title)}</a> <span class="vam"> &gt; {_e(c.title)} </span></div>
<div id="primary" class="content-area chp"><main id="main read chapter" class="site-main" role="main">
<div class="chapter-title">{_e(c.title)}</div><div class="chp_byauthor"><a href="{series_path(s)}">{_e(s.title)}</a> by <a href="/profile/{s.author_id}/{_slug(s.author)}/">{_e(s.author)}</a></div>
<div class="ad_336" style="font-size: 11px;">Advertisements</div>
<div class="c_set" dp="yes"><div dp="yes" class="chp_setting_title">Font Size</div><span class="chp_font_size pt">A-</span><span class="chp_font_size pt">A+</span></div>
<div class="chapter_seperate"></div><div id="chp_contents"><div class="nav_chp_fi" dpmb="yes"><div class="prenext">{nav(prev_href, "prev", "Previous")}{nav(next_href, "next", "Next")}</div></div><div class="chp_raw" id="chp_raw">{_note(s, c.note_before)}
{paragraphs}
{_note(s, c.note_after)}</div><div id='div-gpt-ad-fake2'></div><style>.more_comments_chp {{ display:none; }}</style><div class="ta_c_bm"><span class="chp_stats_feature" title="Favorite This Chapter"><span id="heart_cnt btm">3</span></span></div></div>
</main>
<div class="next_nav_links">{nav(prev_href, "prev", "Previous")}<span class="c_index"><a href="{series_path(s)}">Index</a></span>{nav(next_href, "next", "Next")}</div>
</div></div></div>
<input type="hidden" id="mypostid" value="{c.id}"><input type="hidden" id="mysid" value="{s.id}">"""  # noqa: E501
    return _page(
        f"{_e(s.title)} - {_e(c.title)}", "", f"single single-chapters postid-{c.id}", body
    )


def not_found_html() -> str:
    """WordPress's "Page not found" page (served with HTTP 404)."""
    body = """<div class="wrap"><div id="primary" class="content-area"><main id="main" class="site-main">
<section class="error-404 not-found"><header class="page-header"><h1 class="page-title">Oops! That page can&rsquo;t be found.</h1></header>
<div class="page-content"><p>This placeholder page stands for a series that does not exist.</p></div></section>
</main></div></div>"""  # noqa: E501
    return _page("Page not found", "", "error404", body)


# --- serving ---------------------------------------------------------------------------------


def render(
    series: dict[int, FakeSeries],
    method: str,
    path: str,
    form: dict[str, str],
    cookies: dict[str, str],
) -> tuple[int, str] | None:
    """Status and body for a Scribble Hub path, or None when the path is not one of its pages."""
    ascending = cookies.get("toc_sorder") == "asc"
    if path == AJAX_PATH:
        # WordPress answers "0" to a request it has no handler for (a GET, another action).
        if method != "POST" or form.get("action") != TOC_ACTION:
            return 400, "0"
        found = series.get(int(form.get("mypostid", "0") or 0))
        page = int(form.get("pagenum", "1") or 1)
        return 200, toc_html(found, page, ascending=ascending) if found else ""
    if method != "GET":
        return None
    if match := re.match(r"^/series/(\d+)(?:/[^/]+)?/?$", path):
        found = series.get(int(match[1]))
        return (200, series_html(found, ascending=ascending)) if found else (404, not_found_html())
    if match := re.match(r"^/read/(\d+)-[^/]*/chapter/(\d+)/?$", path):
        found = series.get(int(match[1]))
        for chapter in found.chapters if found else []:
            if chapter.id == int(match[2]):
                return 200, chapter_html(found, chapter)  # type: ignore[arg-type]
        return 404, not_found_html()
    return None


# --- static samples for the parser tests -----------------------------------------------------

SAMPLE_SERIES_ID = 5150
SAMPLE_GENRES = ["Action", "Sci-fi", "Slice of Life"]
SAMPLE_TAGS = ["Portal Fantasy", "Clever Protagonist", "Female Protagonist", "Magic"]


def sample_series() -> FakeSeries:
    """The series behind the samples: 20 chapters, so its page shows only 15 of them."""
    return make_series(
        SAMPLE_SERIES_ID, 20, genres=SAMPLE_GENRES, tags=SAMPLE_TAGS, status="Completed"
    )


def sample_pages() -> dict[str, str]:
    """File name -> page HTML for every sample."""
    s = sample_series()
    return {
        "series.html": series_html(s),
        "toc-all-asc.html": toc_html(s, -1, ascending=True),
        "toc-page-2-desc.html": toc_html(s, 2, ascending=False),
        # Chapter 1: no previous chapter, no notes.
        "chapter-first.html": chapter_html(s, s.chapters[0]),
        # Chapter 2: a note before and one after the text, both inside #chp_raw.
        "chapter-notes.html": chapter_html(s, s.chapters[1]),
        "not-found.html": not_found_html(),
    }


def main() -> None:
    """Render every sample into tests/fixtures/sites/scribblehub/."""
    SAMPLES_DIR.mkdir(parents=True, exist_ok=True)
    for name, page in sample_pages().items():
        (SAMPLES_DIR / name).write_text(page, encoding="utf-8")


if __name__ == "__main__":
    main()
