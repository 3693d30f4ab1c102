"""Contract: the AO3 parser on real saved pages, against every hand-checked value.

The pages live outside the repository (`../shared/fixtures/ao3`, beside the checkout); they are
never copied in. Every key of each `.expected.json` is either compared or skipped here by name,
so a key added later fails the test until it is handled.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, urlsplit

import lxml.html
import pytest
from scrapy.http import HtmlResponse

from chapterhouse.content.normalize import clean_html, hidden_classes, html_to_text
from chapterhouse.crawl.registry import SiteRegistry
from chapterhouse.crawl.sites.ao3 import ArchiveOfOurOwn, WorkPage
from chapterhouse.domain import ChapterData
from chapterhouse.errors import LoginRequiredError

SHARED = Path(__file__).resolve().parents[2].parent / "shared" / "fixtures" / "ao3"
ABSENT = "../shared/fixtures/ao3 not present: contract tests need the shared real pages"
PAGES = sorted(SHARED.glob("*.html")) if SHARED.is_dir() else []
SITE = ArchiveOfOurOwn()

# Keys that describe the file rather than the page.
SKIPPED = {"notes", "not_in_page"}
WORK_KEYS = {
    "kind", "site", "url", "fetched_url", "title", "author", "author_url", "byline", "rating",
    "warnings", "category", "fandoms", "relationships", "characters", "freeform_tags",
    "language", "language_code", "collections", "series", "stats", "word_count", "status",
    "synopsis_starts_with", "synopsis_ends_with", "work_notes_starts_with",
    "end_notes_starts_with", "chapter_count", "chapter_count_total", "chapters",
}  # fmt: skip
CHAPTER_KEYS = {
    "kind", "site", "url", "fetched_url", "novel_title", "title", "heading", "chapter_index",
    "author", "author_url", "content_starts_with", "content_ends_with", "paragraphs",
    "paragraphs_nonempty", "inline_notes_text", "content_starts_with_after_inline_notes",
    "paragraphs_in_inline_notes", "must_not_contain", "hidden_classes", "author_note_present",
    "author_note_position", "author_note_starts_with", "prev_url", "next_url", "images", "work",
}  # fmt: skip
SERIES_KEYS = {
    "kind", "site", "url", "title", "author", "author_url", "series_begun", "series_updated",
    "stats", "status", "word_count", "fandoms", "chapter_count", "chapters",
}  # fmt: skip
ERROR_KEYS = {
    "kind", "site", "reason", "evidence", "evidence_paragraph", "heading", "page_title", "url",
}  # fmt: skip


def starts(text: str, length: int = 60) -> str:
    return text[:length].rstrip()


def ends(text: str, length: int) -> str:
    return text[-length:].lstrip()


def load(page: Path) -> tuple[dict[str, Any], HtmlResponse]:
    expected = json.loads(page.with_name(page.stem + ".expected.json").read_text("utf-8"))
    url = expected.get("fetched_url") or expected["url"]
    response = HtmlResponse(url=url, body=page.read_bytes(), encoding="utf-8")
    return expected, response


@pytest.mark.parametrize("page", PAGES or [None], ids=lambda p: p.stem if p else "absent")
def test_real_page_matches_expected(page: Path | None) -> None:
    if page is None:
        pytest.skip(ABSENT)
    expected, response = load(page)
    assert expected["site"] == SITE.name
    keys = set(expected) - SKIPPED
    if expected["kind"] == "error":
        assert keys <= ERROR_KEYS, keys - ERROR_KEYS
        check_restricted(expected, response)
    elif expected["kind"] == "chapter":
        assert keys <= CHAPTER_KEYS, keys - CHAPTER_KEYS
        check_chapter(expected, response)
    elif "/series/" in expected["url"]:
        assert keys <= SERIES_KEYS, keys - SERIES_KEYS
        check_series(expected, response)
    else:
        assert expected["kind"] == "novel"
        assert keys <= WORK_KEYS, keys - WORK_KEYS
        check_work(expected, response, SITE.work_page(response))


def check_resolves(url: str, work_url: str) -> None:
    """A work or chapter URL resolves to the whole work, adult notice skipped."""
    site, ref = SiteRegistry().resolve(url)
    assert site.name == SITE.name and ref.kind == "novel"
    assert ref.url == f"{work_url}?view_full_work=true&view_adult=true"


def check_work(expected: dict[str, Any], response: HtmlResponse, page: WorkPage) -> None:
    novel = page.novel
    assert novel.url == expected["url"]
    check_resolves(expected["url"], expected["url"])
    if "fetched_url" in expected:
        # We ask for what the page was fetched with, and view_adult=true besides.
        fetched = urlsplit(expected["fetched_url"])
        ours = urlsplit(SiteRegistry().resolve(expected["url"])[1].url)
        assert ours.path == fetched.path
        assert set(parse_qsl(fetched.query)) <= set(parse_qsl(ours.query))
    assert novel.title == expected["title"]
    assert novel.author == expected["author"]
    assert novel.author_url == expected["author_url"]
    assert novel.authors == [expected["author"]]
    # The Open Doors byline is kept whole; a plain one is the author's name.
    assert novel.byline == expected.get("byline", expected["author"])
    groups = novel.tag_groups
    assert groups["rating"] == [expected["rating"]]
    for key in ("warnings", "category", "fandoms", "relationships", "characters"):
        assert groups[key] == expected[key], key
    assert groups["freeform_tags"] == expected["freeform_tags"]
    assert page.language_name == expected["language"]
    assert novel.language == expected["language_code"]
    assert page.collections == expected.get("collections", [])
    assert [(s.title, s.url, s.position) for s in novel.series] == [
        (s["title"], s["url"], s["part"]) for s in expected.get("series", [])
    ]
    assert page.stats == expected["stats"]
    assert novel.word_count == expected["word_count"]
    assert novel.status == expected["status"]
    assert novel.published_at is not None
    assert novel.published_at.date().isoformat() == expected["stats"]["published"]
    synopsis = " ".join((novel.synopsis or "").split())
    assert starts(synopsis) == expected["synopsis_starts_with"]
    assert ends(synopsis, 40) == expected["synopsis_ends_with"]
    notes = html_to_text(page.notes_html or "")
    assert starts(notes) == expected.get("work_notes_starts_with", "")
    end_notes = html_to_text(page.end_notes_html or "")
    assert starts(end_notes) == expected.get("end_notes_starts_with", "")
    count = expected.get("chapter_count", expected.get("chapter_count_total"))
    assert len(novel.chapters) == count == len(expected["chapters"])
    for ref, want in zip(novel.chapters, expected["chapters"], strict=True):
        assert ref.number == want["index"]
        assert ref.title == want["title"]
        assert ref.url == want["url"]
        assert ref.published_at is None  # AO3 shows no per-chapter dates
        if "heading" in want:
            assert want["heading"] == f"Chapter {ref.number}: {ref.title}"
        if "content_starts_with" in want:
            data = SITE.parse_chapter(response, ref)
            check_text(want, data)
            # No chapter has notes of its own: only the work's, on its first and last.
            assert want.get("chapter_notes_present", False) is False
            first, last = ref.number == 1, ref.number == len(novel.chapters)
            assert data.note_before_html == (page.notes_html if first else None)
            assert data.note_after_html == (page.end_notes_html if last else None)


def paragraphs(html: str) -> list[Any]:
    return list(lxml.html.fragment_fromstring(html, create_parent="div").iter("p"))


def check_text(want: dict[str, Any], data: ChapterData) -> None:
    """The chapter's content against starts/ends and paragraph counts, inline notes included."""
    cleaned = clean_html(data.raw_html, data.ref.url)
    text = html_to_text(cleaned)
    assert starts(text) == want["content_starts_with"]
    assert ends(text, 60) == want["content_ends_with"]
    # Every <p> of the content container, as the page has them ...
    assert len(paragraphs(data.raw_html)) == want["paragraphs"]
    # ... and those a reader sees something in (the cleaner drops blank ones, keeps NBSP).
    visible = [
        p for p in paragraphs(cleaned) if html_to_text(lxml.html.tostring(p, encoding="unicode"))
    ]
    assert len(visible) == want.get("paragraphs_nonempty", want["paragraphs"])
    if "inline_notes_text" in want:
        # An Open Doors import's own "Author's notes" block is body HTML and stays in the text.
        root = lxml.html.fragment_fromstring(data.raw_html)
        block = root.xpath(".//div[contains(concat(' ', @class, ' '), ' form-group ')]")[0]
        inline = html_to_text(lxml.html.tostring(block, encoding="unicode", with_tail=False))
        assert inline == want["inline_notes_text"]
        assert len(list(block.iter("p"))) == want["paragraphs_in_inline_notes"]
        assert starts(text[len(inline) :].strip()) == want["content_starts_with_after_inline_notes"]


def check_chapter(expected: dict[str, Any], response: HtmlResponse) -> None:
    work = expected["work"]
    check_resolves(expected["url"], work["url"])
    page = SITE.work_page(response)
    check_work(work, response, page)
    view = SITE.chapter_view(response)
    assert view.number == expected["chapter_index"]
    assert view.title == expected["title"]
    assert view.heading == expected["heading"]
    assert view.novel_title == expected["novel_title"]
    assert view.author == expected["author"]
    assert view.author_url == expected["author_url"]
    assert view.prev_url == expected["prev_url"]
    assert view.next_url == expected["next_url"]

    ref = page.novel.chapters[expected["chapter_index"] - 1]
    assert ref.url == expected["url"]
    data = SITE.parse_chapter(response, ref)
    check_text(expected, data)
    assert hidden_classes(data.raw_html) == sorted(expected["hidden_classes"])
    cleaned = clean_html(data.raw_html, ref.url)
    for junk in expected["must_not_contain"]:
        assert junk in response.text  # it was on the page ...
        assert junk not in data.raw_html and junk not in cleaned  # ... and not in the chapter
    root = lxml.html.fragment_fromstring(cleaned, create_parent="div")
    assert [img.get("src") for img in root.iter("img")] == expected["images"]
    notes = {"before": data.note_before_html, "after": data.note_after_html}
    present = [position for position, note in notes.items() if note]
    assert bool(present) == expected["author_note_present"]
    assert present == [expected["author_note_position"]]
    note = notes[expected["author_note_position"]] or ""
    assert starts(html_to_text(note)) == expected["author_note_starts_with"]


def check_series(expected: dict[str, Any], response: HtmlResponse) -> None:
    site, ref = SiteRegistry().resolve(expected["url"])
    assert site.name == SITE.name and ref.kind == "series" and ref.url == expected["url"]
    series = SITE.parse_series(response)
    assert series.url == expected["url"]
    assert series.title == expected["title"]
    assert series.author == expected["author"]
    assert series.author_url == expected["author_url"]
    assert series.published_at is not None and series.updated_at is not None
    assert series.published_at.date().isoformat() == expected["series_begun"]
    assert series.updated_at.date().isoformat() == expected["series_updated"]
    assert series.stats == expected["stats"]
    assert series.status == expected["status"]
    assert series.word_count == expected["word_count"]
    fandoms = list(dict.fromkeys(f for w in series.works for f in w.tag_groups["fandoms"]))
    assert fandoms == expected["fandoms"]
    assert len(series.works) == expected["chapter_count"] == series.works_count
    assert series.next_page_url is None
    statuses = {"Complete Work": "completed", "Work in Progress": "ongoing"}
    for work, want in zip(series.works, expected["chapters"], strict=True):
        assert work.position == want["index"]
        assert work.title == want["title"]
        assert work.url == want["url"]
        assert work.site_novel_id == want["url"].rsplit("/", 1)[1]
        assert work.authors == [want["author"]]
        assert work.tag_groups["rating"] == [want["rating"]]
        for key in ("fandoms", "warnings", "category", "relationships", "characters"):
            assert work.tag_groups[key] == want[key], key
        assert work.tag_groups["freeform_tags"] == want["freeform_tags"]
        assert work.status == statuses[want["complete"]]
        assert work.summary == want["summary"]
        assert work.language == want["language"]
        assert work.word_count == want["word_count"]
        assert work.chapters == want["chapters"]
        assert work.updated_at is not None
        assert work.updated_at.strftime("%d %b %Y") == want["blurb_date_text"]


def check_restricted(expected: dict[str, Any], response: HtmlResponse) -> None:
    assert expected["reason"] == "login_required"
    page_text = html_to_text(response.text)
    # What the page says, so we know what we recognise it by.
    for sentence in (expected["evidence"], expected["evidence_paragraph"], expected["heading"]):
        assert sentence in page_text
    title = html_to_text(response.xpath("//title").get() or "")
    assert title == expected["page_title"]
    with pytest.raises(LoginRequiredError) as caught:
        SITE.parse_novel(response)
    assert caught.value.message == f"this work requires an AO3 login ({expected['url']})"
