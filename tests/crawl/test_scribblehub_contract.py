"""Contract: the Scribble Hub parser on real saved pages, against every hand-checked value.

The pages live outside the repository (`../shared/fixtures/scribblehub`, beside the checkout);
they are never copied in. Every key of each `.expected.json` is either compared or skipped
here by name, so a key added later fails the test until it is handled.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import lxml.html
import pytest
from scrapy.http import HtmlResponse

from chapterhouse.content.normalize import clean_html, hidden_classes, html_to_text
from chapterhouse.crawl.registry import SiteRegistry
from chapterhouse.crawl.sites.scribblehub import ScribbleHub
from chapterhouse.domain import ChapterRef

SHARED = Path(__file__).resolve().parents[2].parent / "shared" / "fixtures" / "scribblehub"
ABSENT = "../shared/fixtures/scribblehub not present: contract tests need the shared real pages"
PAGES = sorted(SHARED.glob("*.html")) if SHARED.is_dir() else []
SITE = ScribbleHub()

# Keys that describe the file rather than the page.
SKIPPED = {"notes", "not_in_page"}
NOVEL_KEYS = {
    "kind", "site", "url", "title", "author", "author_url", "status", "genres", "tags",
    "content_warnings", "synopsis_starts_with", "synopsis_ends_with", "cover_url",
    "chapter_count", "chapter_count_total", "toc_first_page_only", "chapters",
}  # fmt: skip
CHAPTER_KEYS = {
    "kind", "site", "url", "novel_title", "novel_url", "title", "author", "author_url",
    "content_starts_with", "content_ends_with", "paragraphs", "paragraphs_nonempty",
    "must_not_contain", "hidden_classes", "author_note_present", "author_note_position",
    "author_note_starts_with", "prev_url", "next_url", "images",
}  # fmt: skip
# What `not_in_page` may name, and the NovelData field that must then be empty.
NOT_IN_PAGE = {"language": "language", "word_count": "word_count"}


def starts(text: str, length: int = 60) -> str:
    return text[:length].rstrip()


def ends(text: str, length: int) -> str:
    return text[-length:].lstrip()


def load(page: Path) -> tuple[dict[str, Any], HtmlResponse]:
    expected = json.loads(page.with_name(page.stem + ".expected.json").read_text("utf-8"))
    response = HtmlResponse(url=expected["url"], body=page.read_bytes(), encoding="utf-8")
    return expected, response


@pytest.mark.parametrize("page", PAGES or [None], ids=lambda p: p.stem if p else "absent")
def test_real_page_matches_expected(page: Path | None) -> None:
    if page is None:
        pytest.skip(ABSENT)
    expected, response = load(page)
    assert expected["site"] == SITE.name
    # The page's own URL resolves to this site (chapter URLs to their series).
    site, ref = SiteRegistry().resolve(expected["url"])
    assert site.name == SITE.name
    if expected["kind"] == "novel":
        assert set(expected) - SKIPPED <= NOVEL_KEYS, set(expected) - SKIPPED - NOVEL_KEYS
        assert ref.url == expected["url"]
        check_novel(expected, response)
    else:
        assert expected["kind"] == "chapter"
        assert set(expected) - SKIPPED <= CHAPTER_KEYS, set(expected) - SKIPPED - CHAPTER_KEYS
        assert ref.url == expected["novel_url"]
        check_chapter(expected, response)


def check_novel(expected: dict[str, Any], response: HtmlResponse) -> None:
    novel = SITE.parse_novel(response)
    assert novel.url == expected["url"]
    assert novel.title == expected["title"]
    assert novel.author == expected["author"]
    assert novel.author_url == expected["author_url"]
    assert novel.status == expected["status"]
    # Kept apart in their groups; both feed the genre table through `tags`.
    assert novel.tag_groups["genres"] == expected["genres"]
    assert novel.tag_groups["tags"] == expected["tags"]
    assert novel.tags == expected["genres"] + expected["tags"]
    assert novel.content_warnings == expected.get("content_warnings", [])
    assert novel.cover_url == expected["cover_url"]
    assert novel.synopsis is not None and "\n\n" in novel.synopsis
    # Expected values join paragraphs with a space; we keep blank lines between them.
    synopsis = " ".join(novel.synopsis.split())
    assert starts(synopsis) == expected["synopsis_starts_with"]
    assert ends(synopsis, 40) == expected["synopsis_ends_with"]
    for missing in expected.get("not_in_page", []):
        field = NOT_IN_PAGE.get(missing.split(" ")[0])
        if field is not None:
            assert getattr(novel, field) is None, field
    # Not in the expected file, but stated twice on the page (the score and ld+json): 5.0.
    assert novel.rating == 5.0

    # The page lists the 15 newest rows; the total says a second request is needed.
    assert len(novel.chapters) == expected["chapter_count"] == len(expected["chapters"])
    assert SITE.chapter_total(response) == expected["chapter_count_total"]
    toc = SITE.toc_request(response, novel)
    assert (toc is not None) == expected["toc_first_page_only"]
    if toc is not None:
        assert toc.chapter_total == expected["chapter_count_total"]
        assert toc.form["mypostid"] == expected["url"].split("/series/")[1].split("/")[0]
    for got, want in zip(novel.chapters, expected["chapters"], strict=True):
        assert got.number == want["index"]
        assert got.title == want["title"]
        assert got.url == want["url"]
        assert got.site_chapter_id == want["url"].split("/chapter/")[1].split("/")[0]
        # The page's time has no zone: read as UTC, it prints back as the page wrote it.
        assert got.published_at is not None
        assert got.published_at.strftime("%b %-d, %Y %I:%M %p") == want["published_text"]


def paragraph_counts(cleaned: str) -> tuple[int, int]:
    """All <p>, and those with visible text or an image (NBSP-only ones left out)."""
    root = lxml.html.fragment_fromstring(cleaned, create_parent="div")
    paragraphs = list(root.iter("p"))
    nonempty = [
        p
        for p in paragraphs
        if html_to_text(lxml.html.tostring(p, encoding="unicode")) or p.find(".//img") is not None
    ]
    return len(paragraphs), len(nonempty)


def check_chapter(expected: dict[str, Any], response: HtmlResponse) -> None:
    url = expected["url"]
    ref = ChapterRef(site_chapter_id=url.split("/chapter/")[1].split("/")[0], number=1,
                     title=expected["title"], url=url)  # fmt: skip
    data = SITE.parse_chapter(response, ref)
    page = SITE.chapter_page(response)

    # Not in ChapterData (the title comes from the table of contents): the page helper.
    assert page.title == expected["title"]
    assert page.novel_title == expected["novel_title"]
    assert page.novel_url == expected["novel_url"]
    assert page.author == expected["author"]
    assert page.author_url == expected["author_url"]
    assert page.prev_url == expected["prev_url"]
    assert page.next_url == expected["next_url"]

    assert hidden_classes(data.raw_html) == sorted(expected["hidden_classes"])
    cleaned = clean_html(data.raw_html, url)
    text = html_to_text(cleaned)
    container = html_to_text(response.css("div#chp_contents").get() or "")
    for navigation in expected["must_not_contain"]:
        assert navigation in container  # it is on the page, around the text
        assert navigation not in text and navigation not in data.raw_html
    assert starts(text) == expected["content_starts_with"]
    assert ends(text, 60) == expected["content_ends_with"]
    assert paragraph_counts(cleaned) == (expected["paragraphs"], expected["paragraphs_nonempty"])
    root = lxml.html.fragment_fromstring(cleaned, create_parent="div")
    assert [img.get("src") for img in root.iter("img")] == expected["images"]

    notes = {"before": data.note_before_html, "after": data.note_after_html}
    present = [position for position, note in notes.items() if note]
    assert bool(present) == expected["author_note_present"]
    if expected["author_note_present"]:
        assert present == [expected["author_note_position"]]
        note = notes[expected["author_note_position"]]
        assert note is not None
        assert starts(html_to_text(note)) == expected["author_note_starts_with"]
    else:
        assert expected["author_note_position"] is None
