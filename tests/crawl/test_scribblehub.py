"""The Scribble Hub site on our own fixture pages: URLs, the series page, its full table of
contents from admin-ajax, chapter pages."""

from __future__ import annotations

import subprocess
import sys
from datetime import UTC, datetime
from urllib.parse import urlsplit

import pytest
from scrapy.http import HtmlResponse

from chapterhouse.config import Settings, SiteLimit
from chapterhouse.content.normalize import clean_html, genre_slug, html_to_text
from chapterhouse.crawl.registry import SiteRegistry
from chapterhouse.crawl.site import TocRequest
from chapterhouse.crawl.sites.scribblehub import ScribbleHub
from chapterhouse.domain import ChapterRef, NovelData
from chapterhouse.errors import InvalidUrlError, LayoutError, NovelMissingError
from tests.fakesite import scribblehub as fake

MIRROR = "http://127.0.0.1:8765"
AJAX_URL = f"{MIRROR}/wp-admin/admin-ajax.php"
SITE = ScribbleHub()


def response(url: str, body: str, status: int = 200) -> HtmlResponse:
    return HtmlResponse(url=url, body=body.encode("utf-8"), encoding="utf-8", status=status)


def sample(name: str, url: str, status: int = 200) -> HtmlResponse:
    return response(url, (fake.SAMPLES_DIR / name).read_text(encoding="utf-8"), status)


def ref_for(url: str) -> ChapterRef:
    return ChapterRef(site_chapter_id="1", number=1, title="t", url=url)


def series_page(series: fake.FakeSeries) -> HtmlResponse:
    return response(f"{MIRROR}{fake.series_path(series)}", fake.series_html(series))


def full_listing(series: fake.FakeSeries, *, ascending: bool = True) -> NovelData:
    """The series page parsed, then the admin-ajax answer for every row merged in."""
    page = series_page(series)
    novel = SITE.parse_novel(page)
    toc = SITE.toc_request(page, novel)
    assert toc is not None
    answer = response(AJAX_URL, fake.toc_html(series, -1, ascending=ascending))
    return SITE.parse_toc(answer, novel, toc)


def test_committed_samples_match_the_page_builder() -> None:
    # The static pages are rendered output; re-render with `python -m tests.fakesite.scribblehub`.
    for name, page in fake.sample_pages().items():
        assert (fake.SAMPLES_DIR / name).read_text(encoding="utf-8") == page, name


# --- URLs ------------------------------------------------------------------------------------

SERIES = "https://www.scribblehub.com/series/1000564/apokalypsis-lost-magic-awakening/"


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        (SERIES, SERIES),
        (SERIES.rstrip("/"), SERIES),
        ("https://www.scribblehub.com/series/1000564/", "https://www.scribblehub.com/series/1000564/"),
        (
            "https://www.scribblehub.com/read/1000564-apokalypsis-lost-magic-awakening/chapter/1000566/",
            SERIES,
        ),
        ("http://scribblehub.com/series/1000564/apokalypsis-lost-magic-awakening/glossary", SERIES),
        (SERIES.replace("www.scribblehub", "WWW.ScribbleHub") + "?toc=2#content1", SERIES),
        (f"{MIRROR}/read/77-some-slug/chapter/77001/", f"{MIRROR}/series/77/some-slug/"),
    ],
)  # fmt: skip
def test_registry_resolves_series_and_chapter_urls_to_the_series(url: str, expected: str) -> None:
    site, ref = SiteRegistry({"127.0.0.1:8765": "scribblehub"}).resolve(url)
    assert site.name == "scribblehub"
    assert ref.url == expected
    assert ref.site_novel_id == urlsplit(expected).path.split("/")[2]
    assert ref.key == f"scribblehub:{ref.site_novel_id}"


@pytest.mark.parametrize(
    "path", ["/profile/152348/kuyaimbo/", "/series/", "/read/abc/chapter/1/", "/genre/fantasy/"]
)
def test_other_scribble_hub_paths_are_refused_with_an_example(path: str) -> None:
    with pytest.raises(InvalidUrlError) as caught:
        SiteRegistry().resolve(f"https://www.scribblehub.com{path}")
    assert "/series/<id>/<name>/" in caught.value.message


# --- the series page -------------------------------------------------------------------------


def test_series_page_gives_every_field() -> None:
    series = fake.sample_series()
    url = f"{MIRROR}{fake.series_path(series)}"
    novel = SITE.parse_novel(sample("series.html", url))

    assert novel.site == "scribblehub"
    assert novel.site_novel_id == "5150"
    assert novel.url == url
    assert novel.title == series.title
    assert novel.author == series.author
    assert novel.author_url == f"{MIRROR}/profile/{series.author_id}/{series.author}/"
    assert novel.synopsis == "\n\n".join(series.synopsis)
    assert novel.status == "completed"
    assert novel.cover_url == series.cover_url
    assert novel.rating == 4.5
    assert novel.content_warnings == ["Strong Language"]
    assert novel.language is None and novel.word_count is None  # the page has neither


def test_genres_and_tags_are_kept_apart_and_all_go_through_the_genre_table() -> None:
    series = fake.sample_series()
    novel = SITE.parse_novel(sample("series.html", f"{MIRROR}{fake.series_path(series)}"))
    assert novel.tag_groups == {"genres": fake.SAMPLE_GENRES, "tags": fake.SAMPLE_TAGS}
    # `tags` is what the store turns into the novel's genres, through the shared alias table.
    assert novel.tags == fake.SAMPLE_GENRES + fake.SAMPLE_TAGS
    slugs = {genre_slug(name) for name in novel.tags}
    assert {"science-fiction", "isekai", "female-lead", "slice-of-life"} <= slugs


def test_series_page_lists_its_fifteen_newest_rows_in_reading_order() -> None:
    series = fake.sample_series()
    novel = SITE.parse_novel(sample("series.html", f"{MIRROR}{fake.series_path(series)}"))
    shown = series.chapters[5:]  # the page shows the 15 newest of 20, newest first
    assert [c.number for c in novel.chapters] == list(range(6, 21))
    for ref, chapter in zip(novel.chapters, shown, strict=True):
        assert ref.site_chapter_id == str(chapter.id)
        assert ref.title == chapter.title  # entities (&amp;) decoded
        assert ref.url == f"{MIRROR}{fake.chapter_path(series, chapter)}"
        # "Feb 8, 2024 02:50 PM": no zone on the site, read as UTC
        assert ref.published_at == chapter.published.replace(tzinfo=UTC)
    assert any("&" in c.title for c in novel.chapters) and all("’" in c.title for c in shown)


def test_a_row_with_a_relative_date_has_no_date_rather_than_a_wrong_one() -> None:
    series = fake.make_series(41, 2)
    title = series.chapters[1].published.strftime("%b %-d, %Y %I:%M %p")
    page = fake.series_html(series).replace(f'title="{title}"', 'title="2 hours ago"')
    novel = SITE.parse_novel(response(f"{MIRROR}{fake.series_path(series)}", page))
    assert novel.chapters[0].published_at == datetime(2024, 2, 3, 14, 41, tzinfo=UTC)
    assert novel.chapters[1].published_at is None


def test_missing_series_is_novel_missing() -> None:
    url = f"{MIRROR}/series/999/nothing-here/"
    for status in (404, 200):  # WordPress's "Page not found", whichever status it comes with
        with pytest.raises(NovelMissingError) as caught:
            SITE.parse_novel(sample("not-found.html", url, status))
        assert caught.value.message == f"Scribble Hub has no series at {url} (not found)"


def test_page_without_a_title_is_a_layout_error_naming_the_selector() -> None:
    series = fake.make_series(42, 3)
    url = f"{MIRROR}{fake.series_path(series)}"
    page = fake.series_html(series).replace('class="fic_title"', 'class="series-heading"')
    with pytest.raises(LayoutError) as caught:
        SITE.parse_novel(response(url, page))
    assert url in caught.value.message and "div.fic_title" in caught.value.message


# --- the whole table of contents -------------------------------------------------------------


def test_a_longer_series_asks_admin_ajax_for_every_row_oldest_first() -> None:
    series = fake.sample_series()
    page = sample("series.html", f"{MIRROR}{fake.series_path(series)}")
    novel = SITE.parse_novel(page)
    assert SITE.chapter_total(page) == 20
    assert SITE.toc_request(page, novel) == TocRequest(
        url=AJAX_URL,
        method="POST",
        form={"action": "wi_getreleases_pagination", "pagenum": "-1", "mypostid": "5150"},
        cookies={"toc_sorder": "asc"},
        chapter_total=20,
    )


def test_a_series_whose_page_shows_every_row_needs_no_second_request() -> None:
    series = fake.make_series(43, 15)
    page = series_page(series)
    novel = SITE.parse_novel(page)
    assert SITE.chapter_total(page) == 15
    assert SITE.toc_request(page, novel) is None
    assert [c.number for c in novel.chapters] == list(range(1, 16))
    assert [c.site_chapter_id for c in novel.chapters] == [str(c.id) for c in series.chapters]


def test_the_full_listing_is_in_reading_order_keyed_by_chapter_id() -> None:
    series = fake.sample_series()
    page = sample("series.html", f"{MIRROR}{fake.series_path(series)}")
    novel = SITE.parse_novel(page)
    toc = SITE.toc_request(page, novel)
    assert toc is not None
    merged = SITE.parse_toc(sample("toc-all-asc.html", AJAX_URL), novel, toc)
    assert [c.number for c in merged.chapters] == list(range(1, 21))
    assert [c.site_chapter_id for c in merged.chapters] == [str(c.id) for c in series.chapters]
    assert [c.title for c in merged.chapters] == [c.title for c in series.chapters]
    assert merged.chapters[0].url == f"{MIRROR}{fake.chapter_path(series, series.chapters[0])}"


def test_reading_order_comes_from_the_rows_order_not_from_the_cookie_being_honoured() -> None:
    series = fake.make_series(44, 18)
    ascending = full_listing(series, ascending=True)
    newest_first = full_listing(series, ascending=False)
    assert newest_first.chapters == ascending.chapters
    assert [c.site_chapter_id for c in ascending.chapters] == [str(c.id) for c in series.chapters]


def test_rows_on_the_series_page_only_are_kept() -> None:
    # A chapter released between the two requests is on the page but not in the answer.
    series = fake.make_series(45, 17)
    page = series_page(series)
    novel = SITE.parse_novel(page)
    toc = SITE.toc_request(page, novel)
    assert toc is not None
    older = fake.make_series(45, 16)
    merged = SITE.parse_toc(
        response(AJAX_URL, fake.toc_html(older, -1, ascending=True)), novel, toc
    )
    assert [c.site_chapter_id for c in merged.chapters] == [str(c.id) for c in series.chapters]


def test_a_listing_shorter_than_the_page_says_fails_rather_than_withdraw_chapters() -> None:
    series = fake.make_series(46, 18)
    # Two of the three oldest, which the series page does not show either, are left out.
    series.missing_from_toc = {series.chapters[0].id, series.chapters[1].id}
    with pytest.raises(LayoutError) as caught:
        full_listing(series)
    assert "lists 16 chapters but the series page says 18" in caught.value.message
    assert AJAX_URL in caught.value.message


def test_an_answer_without_rows_is_a_layout_error() -> None:
    series = fake.make_series(47, 16)
    page = series_page(series)
    novel = SITE.parse_novel(page)
    toc = SITE.toc_request(page, novel)
    assert toc is not None
    with pytest.raises(LayoutError) as caught:
        SITE.parse_toc(response(AJAX_URL, "0"), novel, toc)  # WordPress's "no such action"
    assert "li.toc_w" in caught.value.message and f"POST {AJAX_URL}" in caught.value.message


def test_the_fake_site_pages_its_toc_like_the_real_one() -> None:
    # Page 2, newest first, holds rows 5..1 of 20: the shape the real pagination has.
    answer = sample("toc-page-2-desc.html", AJAX_URL)
    orders = [int(o) for o in answer.css("li.toc_w::attr(order)").getall()]
    assert orders == [5, 4, 3, 2, 1]


# --- chapter pages ---------------------------------------------------------------------------


def test_chapter_notes_are_kept_apart_and_navigation_left_out() -> None:
    series = fake.sample_series()
    chapter = series.chapters[1]
    url = f"{MIRROR}{fake.chapter_path(series, chapter)}"
    ref = ref_for(url)
    data = SITE.parse_chapter(sample("chapter-notes.html", url), ref)

    assert data.ref is ref
    assert data.note_before_html == "<p>Placeholder note before the chapter.</p>"
    assert data.note_after_html == "<p>Placeholder note after the chapter.</p>"
    assert 'id="chp_raw"' in data.raw_html
    assert "Placeholder note" not in data.raw_html and "wi_authornotes" not in data.raw_html
    cleaned = clean_html(data.raw_html, url)
    text = html_to_text(cleaned)
    assert text == fake.chapter_text(chapter)
    for navigation in ("Previous", "Next", "Index", "Font Size", "Advertisements"):
        assert navigation not in text
    # paragraphs plus the NBSP spacer between each two
    assert cleaned.count("<p>") == 2 * len(chapter.paragraphs) - 1


def test_chapter_page_headings_and_navigation() -> None:
    series = fake.sample_series()
    first, second, third = series.chapters[:3]
    url = f"{MIRROR}{fake.chapter_path(series, second)}"
    page = SITE.chapter_page(sample("chapter-notes.html", url))
    assert page.title == second.title
    assert page.novel_title == series.title
    assert page.novel_url == f"{MIRROR}{fake.series_path(series)}"
    assert page.author == series.author
    assert page.author_url == f"{MIRROR}/profile/{series.author_id}/{series.author}/"
    assert page.prev_url == f"{MIRROR}{fake.chapter_path(series, first)}"
    assert page.next_url == f"{MIRROR}{fake.chapter_path(series, third)}"

    first_url = f"{MIRROR}{fake.chapter_path(series, first)}"
    opening = SITE.chapter_page(sample("chapter-first.html", first_url))
    assert opening.prev_url is None  # a disabled button with href "#"
    assert opening.next_url == url
    data = SITE.parse_chapter(sample("chapter-first.html", first_url), ref_for(first_url))
    assert data.note_before_html is None and data.note_after_html is None


def test_every_fake_chapter_cleans_to_its_visible_text() -> None:
    series = fake.make_series(48, 5)
    for chapter in series.chapters:
        url = f"{MIRROR}{fake.chapter_path(series, chapter)}"
        data = SITE.parse_chapter(response(url, fake.chapter_html(series, chapter)), ref_for(url))
        cleaned = clean_html(data.raw_html, url)
        assert html_to_text(cleaned) == fake.chapter_text(chapter)
        assert "class=" not in cleaned and "<span" not in cleaned and "style=" not in cleaned


def test_chapter_without_content_is_a_layout_error() -> None:
    url = f"{MIRROR}/read/1-x/chapter/2/"
    with pytest.raises(LayoutError) as caught:
        SITE.parse_chapter(response(url, "<html><body><p>nothing</p></body></html>"), ref_for(url))
    assert url in caught.value.message and "div#chp_raw" in caught.value.message


# --- the site --------------------------------------------------------------------------------


def test_site_declares_its_politeness() -> None:
    assert (SITE.name, SITE.title) == ("scribblehub", "Scribble Hub")
    assert SITE.domains == ("www.scribblehub.com", "scribblehub.com")
    assert SITE.download_delay == 2.0 and SITE.concurrency == 1
    assert SITE.limits
    assert SITE.novel_ref(urlsplit(SITE.example_url)).url == SITE.example_url
    # With nothing configured, the site's own defaults are what every worker keeps to.
    defaults = Settings(database_url=None, download_delay=None, site_limits={})
    assert defaults.limit_for(SITE) == SiteLimit(interval=2.0, concurrency=1)
    tuned = defaults.model_copy(update={"site_limits": {"scribblehub": SiteLimit(interval=5.0)}})
    assert tuned.limit_for(SITE).interval == 5.0


def test_site_module_does_not_import_scrapy() -> None:
    # The API process imports every site module through the registry.
    code = (
        "import sys, chapterhouse.crawl.sites.scribblehub; "
        "assert not [m for m in sys.modules if m.split('.')[0] == 'scrapy']"
    )
    subprocess.run([sys.executable, "-c", code], check=True, timeout=60)
