"""The Royal Road site on our own fixture pages: URLs, the fiction page, chapter pages."""

from __future__ import annotations

import subprocess
import sys
from datetime import UTC, datetime
from urllib.parse import urlsplit

import pytest
from scrapy.http import HtmlResponse

from chapterhouse.content.normalize import clean_html, hidden_classes, html_to_text
from chapterhouse.crawl.registry import SiteRegistry
from chapterhouse.crawl.sites.royalroad import RoyalRoad
from chapterhouse.domain import ChapterRef
from chapterhouse.errors import InvalidUrlError, LayoutError, NovelMissingError
from tests.fakesite import royalroad as fake
from tests.fakesite.render_royalroad import SAMPLES_DIR, sample_fiction, sample_pages

MIRROR = "http://127.0.0.1:8765"
SITE = RoyalRoad()


def response(url: str, body: str) -> HtmlResponse:
    return HtmlResponse(url=url, body=body.encode("utf-8"), encoding="utf-8")


def sample(name: str, url: str) -> HtmlResponse:
    return response(url, (SAMPLES_DIR / name).read_text(encoding="utf-8"))


def ref_for(url: str) -> ChapterRef:
    return ChapterRef(site_chapter_id="1", number=1, title="t", url=url)


def test_committed_samples_match_the_page_builder() -> None:
    # The static pages are rendered output; re-render with tests/fakesite/render_royalroad.py.
    for name, page in sample_pages().items():
        assert (SAMPLES_DIR / name).read_text(encoding="utf-8") == page, name


# --- URLs ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("https://www.royalroad.com/fiction/21220", "https://www.royalroad.com/fiction/21220"),
        (
            "https://www.royalroad.com/fiction/21220/mother-of-learning/",
            "https://www.royalroad.com/fiction/21220/mother-of-learning",
        ),
        (
            "http://royalroad.com/fiction/21220/mother-of-learning/chapter/301778/1-good-morning",
            "https://www.royalroad.com/fiction/21220/mother-of-learning",
        ),
        (
            "https://www.royalroad.com/fiction/21220/mother-of-learning/chapter/301778/",
            "https://www.royalroad.com/fiction/21220/mother-of-learning",
        ),
        (
            "https://WWW.RoyalRoad.com/fiction/21220/mol?utm_source=x#toc",
            "https://www.royalroad.com/fiction/21220/mol",
        ),
        (f"{MIRROR}/fiction/77/some-slug/chapter/770001/one", f"{MIRROR}/fiction/77/some-slug"),
    ],
)
def test_registry_resolves_fiction_and_chapter_urls_to_the_fiction(url: str, expected: str) -> None:
    site, ref = SiteRegistry({"127.0.0.1:8765": "royalroad"}).resolve(url)
    assert site.name == "royalroad"
    assert ref.url == expected
    assert ref.site_novel_id == urlsplit(expected).path.split("/")[2]
    assert ref.key == f"royalroad:{ref.site_novel_id}"


def test_novel_ref_keeps_a_mirror_origin_as_given() -> None:
    ref = SITE.novel_ref(urlsplit("http://127.0.0.1:8765/fiction/5/x/"))
    assert ref.url == "http://127.0.0.1:8765/fiction/5/x"


@pytest.mark.parametrize(
    "path",
    [
        "/",
        "/profile/1",
        "/fiction/",
        "/fiction/abc/slug",
        "/fictions/best-rated",
        "/fiction/chapter/301778",
        "/fiction/1/slug/chapter/x",
        "/fiction/1/slug/extra",
    ],
)
def test_other_royal_road_paths_are_refused_with_an_example(path: str) -> None:
    with pytest.raises(InvalidUrlError) as caught:
        SITE.novel_ref(urlsplit(f"https://www.royalroad.com{path}"))
    assert "/fiction/<id>" in caught.value.message


# --- the fiction page ------------------------------------------------------------------------


def test_fiction_page_gives_every_field() -> None:
    fiction = sample_fiction()
    url = f"{MIRROR}{fake.fiction_path(fiction)}"
    novel = SITE.parse_novel(sample("fiction.html", url))

    assert novel.site == "royalroad"
    assert novel.site_novel_id == "4242"
    assert novel.url == url
    assert novel.title == fiction.title
    assert novel.author == fiction.author
    assert novel.author_url == f"{MIRROR}/profile/{fiction.author_id}"
    assert novel.synopsis == "\n\n".join(fiction.synopsis)
    assert novel.status == "completed"
    assert novel.novel_type == "original"
    assert novel.tags == ["LitRPG", "Portal Fantasy / Isekai", "Slice of Life", "Sci-fi"]
    assert novel.content_warnings == ["Graphic Violence", "Profanity"]
    assert novel.cover_url == fiction.cover_url
    assert novel.language == "en-US"
    assert novel.rating == fake.fiction_rating(fiction)
    assert novel.word_count == fake.fiction_word_count(fiction)


def test_fiction_page_lists_chapters_in_order_with_absolute_urls_and_utc_dates() -> None:
    fiction = sample_fiction()
    novel = SITE.parse_novel(sample("fiction.html", f"{MIRROR}{fake.fiction_path(fiction)}"))
    assert [c.number for c in novel.chapters] == [1, 2, 3, 4]
    for ref, chapter in zip(novel.chapters, fiction.chapters, strict=True):
        assert ref.site_chapter_id == str(chapter.id)
        assert ref.title == chapter.title  # the entity &#x2019; decoded, whitespace trimmed
        assert ref.url == f"{MIRROR}{fake.chapter_path(fiction, chapter)}"
        assert ref.published_at == chapter.published
        assert ref.published_at is not None and ref.published_at.tzinfo is not None
    assert "’" in novel.chapters[2].title


def test_published_falls_back_to_the_datetime_attribute() -> None:
    fiction = fake.make_fiction(12, 1)
    page = fake.fiction_html(fiction).replace('unixtime="', 'data-was-unixtime="')
    novel = SITE.parse_novel(response(f"{MIRROR}{fake.fiction_path(fiction)}", page))
    assert novel.chapters[0].published_at == fiction.chapters[0].published
    assert novel.chapters[0].published_at == datetime(2024, 3, 1, 9, 42, tzinfo=UTC)


def test_fiction_without_warnings_or_chapters() -> None:
    fiction = fake.make_fiction(7, 0, title="Empty Shelf", status="HIATUS")
    novel = SITE.parse_novel(
        response(f"{MIRROR}{fake.fiction_path(fiction)}", fake.fiction_html(fiction))
    )
    assert novel.title == "Empty Shelf"
    assert novel.status == "hiatus"
    assert novel.content_warnings == []
    assert novel.chapters == []


def test_missing_fiction_page_served_with_200_is_novel_missing() -> None:
    url = f"{MIRROR}/fiction/999/nothing-here"
    with pytest.raises(NovelMissingError) as caught:
        SITE.parse_novel(sample("not-found.html", url))
    assert caught.value.message == f"Royal Road has no fiction at {url} (not found)"


def test_page_without_a_title_is_a_layout_error_naming_the_selector() -> None:
    fiction = sample_fiction()
    url = f"{MIRROR}{fake.fiction_path(fiction)}"
    page = fake.fiction_html(fiction).replace("<h1", "<h2").replace("</h1>", "</h2>")
    with pytest.raises(LayoutError) as caught:
        SITE.parse_novel(response(url, page))
    assert url in caught.value.message and ".fic-title h1" in caught.value.message


# --- chapter pages ---------------------------------------------------------------------------


def test_chapter_keeps_style_blocks_and_content_for_the_cleaner() -> None:
    fiction = sample_fiction()
    chapter = fiction.chapters[1]
    url = f"{MIRROR}{fake.chapter_path(fiction, chapter)}"
    ref = ref_for(url)
    data = SITE.parse_chapter(sample("chapter.html", url), ref)

    assert data.ref is ref
    assert data.raw_html.startswith("<style>")
    assert 'class="chapter-inner chapter-content"' in data.raw_html
    assert fake.ANTI_THEFT_LINES[0] in data.raw_html  # raw: nothing is cleaned yet
    assert hidden_classes(data.raw_html) == [fake.hidden_class(chapter)]
    assert data.note_before_html is None
    assert data.note_after_html == "<p>Placeholder note after the chapter.</p>"
    assert "Advertisement" not in data.raw_html

    cleaned = clean_html(data.raw_html, url)
    text = html_to_text(cleaned)
    assert text == fake.chapter_text(fiction, chapter)
    assert all(line not in text for line in fake.ANTI_THEFT_LINES)
    assert cleaned.count("<p>") == len(chapter.paragraphs) + 2  # + the table's two cells


def test_table_chapter_with_a_note_before() -> None:
    fiction = sample_fiction()
    chapter = fiction.chapters[0]
    url = f"{MIRROR}{fake.chapter_path(fiction, chapter)}"
    data = SITE.parse_chapter(sample("chapter-with-table.html", url), ref_for(url))

    assert data.note_before_html == "<p>Placeholder note before the chapter.</p>"
    assert data.note_after_html is None
    cleaned = clean_html(data.raw_html, url)
    assert "<table>" in cleaned and "<td>&nbsp;</td>" in cleaned
    assert html_to_text(cleaned) == fake.chapter_text(fiction, chapter, "table")
    assert fake.ANTI_THEFT_LINES[1] not in cleaned
    # label + text per row, and the NBSP spacer paragraph after the table
    assert cleaned.count("<p>") == 2 * len(chapter.paragraphs) + 1


def test_chapter_page_headings_and_navigation() -> None:
    fiction = sample_fiction()
    first, second, third = fiction.chapters[:3]
    url = f"{MIRROR}{fake.chapter_path(fiction, second)}"
    page = SITE.chapter_page(sample("chapter.html", url))
    assert page.title == second.title
    assert page.novel_title == fiction.title
    assert page.novel_url == f"{MIRROR}{fake.fiction_path(fiction)}"
    assert page.author == fiction.author
    assert page.author_url == f"{MIRROR}/profile/{fiction.author_id}"
    assert page.prev_url == f"{MIRROR}{fake.chapter_path(fiction, first)}"
    assert page.next_url == f"{MIRROR}{fake.chapter_path(fiction, third)}"

    first_url = f"{MIRROR}{fake.chapter_path(fiction, first)}"
    opening = SITE.chapter_page(sample("chapter-with-table.html", first_url))
    assert opening.prev_url is None  # a disabled button and no <link rel=prev>
    assert opening.next_url == url


def test_every_fake_chapter_cleans_to_its_visible_text() -> None:
    fiction = fake.make_fiction(31, 5)
    for chapter in fiction.chapters:
        url = f"{MIRROR}{fake.chapter_path(fiction, chapter)}"
        data = SITE.parse_chapter(response(url, fake.chapter_html(fiction, chapter)), ref_for(url))
        cleaned = clean_html(data.raw_html, url)
        assert html_to_text(cleaned) == fake.chapter_text(fiction, chapter)
        assert chapter.paragraphs[0] in cleaned
        assert "class=" not in cleaned and "<span" not in cleaned


def test_chapter_without_content_is_a_layout_error() -> None:
    url = f"{MIRROR}/fiction/1/x/chapter/2/y"
    with pytest.raises(LayoutError) as caught:
        SITE.parse_chapter(response(url, "<html><body><p>nothing</p></body></html>"), ref_for(url))
    assert url in caught.value.message and "div.chapter-content" in caught.value.message


def test_site_declares_its_politeness() -> None:
    assert (SITE.name, SITE.title) == ("royalroad", "Royal Road")
    assert SITE.domains == ("www.royalroad.com", "royalroad.com")
    assert SITE.download_delay == 1.0 and SITE.concurrency == 1
    assert SITE.limits
    ref = SITE.novel_ref(urlsplit(SITE.example_url))
    assert ref.url == SITE.example_url


def test_site_module_does_not_import_scrapy() -> None:
    # The API process imports every site module through the registry.
    code = (
        "import sys, chapterhouse.crawl.sites.royalroad; "
        "assert not [m for m in sys.modules if m.split('.')[0] == 'scrapy']"
    )
    subprocess.run([sys.executable, "-c", code], check=True, timeout=60)
