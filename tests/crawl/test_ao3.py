"""The AO3 site on our own fixture pages: URLs, the whole-work page split into chapters,
chapter pages, one-shots, series pages, restricted works, politeness defaults."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from scrapy.http import HtmlResponse

from chapterhouse.config import Settings, SiteLimit
from chapterhouse.content.normalize import clean_html, html_to_text
from chapterhouse.crawl.registry import SiteRegistry
from chapterhouse.crawl.sites.ao3 import ArchiveOfOurOwn
from chapterhouse.domain import SeriesLink
from chapterhouse.errors import InvalidUrlError, LayoutError, LoginRequiredError
from tests.conftest import run_cli
from tests.fakesite import ao3 as fake

MIRROR = "http://127.0.0.1:8765"
SITE = ArchiveOfOurOwn()
WHOLE = "?view_full_work=true&view_adult=true"


def response(url: str, body: str) -> HtmlResponse:
    return HtmlResponse(url=url, body=body.encode("utf-8"), encoding="utf-8")


def sample(name: str, url: str) -> HtmlResponse:
    return response(url, (fake.SAMPLES_DIR / name).read_text(encoding="utf-8"))


def whole_work(work: fake.FakeWork) -> HtmlResponse:
    return response(f"{MIRROR}{fake.work_path(work)}{WHOLE}", fake.work_html(work))


def text_of(html: str | None, url: str) -> str:
    return html_to_text(clean_html(html or "", url))


def test_committed_samples_match_the_page_builder() -> None:
    # The static pages are rendered output; re-render with `python -m tests.fakesite.ao3`.
    for name, page in fake.sample_pages().items():
        assert (fake.SAMPLES_DIR / name).read_text(encoding="utf-8") == page, name


# --- URLs ------------------------------------------------------------------------------------

WORK = "https://archiveofourown.org/works/41952030"


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        (WORK, WORK + WHOLE),
        (WORK + "/", WORK + WHOLE),
        (WORK + "?view_adult=true#workskin", WORK + WHOLE),
        (WORK + "/chapters/105298968", WORK + WHOLE),
        ("http://www.archiveofourown.org/works/41952030/chapters/105298968#workskin", WORK + WHOLE),
        ("https://ao3.org/works/41952030", WORK + WHOLE),
        ("https://archiveofourown.org/collections/some_fest/works/41952030", WORK + WHOLE),
        (f"{MIRROR}/works/77/chapters/7701", f"{MIRROR}/works/77{WHOLE}"),
    ],
)  # fmt: skip
def test_work_and_chapter_urls_resolve_to_the_whole_work(url: str, expected: str) -> None:
    site, ref = SiteRegistry({"127.0.0.1:8765": "ao3"}).resolve(url)
    assert site.name == "ao3" and ref.kind == "novel"
    assert ref.url == expected
    assert ref.key == f"ao3:{ref.site_novel_id}"


def test_a_series_url_resolves_to_a_series_whose_key_is_not_a_works() -> None:
    registry = SiteRegistry()
    _, series = registry.resolve("https://archiveofourown.org/series/1234/")
    _, work = registry.resolve("https://archiveofourown.org/works/1234")
    assert (series.kind, series.url) == ("series", "https://archiveofourown.org/series/1234")
    assert series.key == "ao3:series:1234" != work.key


@pytest.mark.parametrize(
    "path", ["/users/someone/works", "/chapters/105298968", "/works", "/tags/x"]
)
def test_other_ao3_paths_are_refused_with_an_example(path: str) -> None:
    with pytest.raises(InvalidUrlError) as caught:
        SiteRegistry().resolve(f"https://archiveofourown.org{path}")
    assert "/works/<id>" in caught.value.message and "/series/<id>" in caught.value.message


# --- the whole work --------------------------------------------------------------------------


def test_work_page_gives_every_field() -> None:
    work = fake.sample_work()
    url = f"{MIRROR}{fake.work_path(work)}"
    page = SITE.work_page(sample("work-full.html", url + WHOLE))
    novel = page.novel

    assert (novel.site, novel.site_novel_id, novel.url) == ("ao3", "6150", url)
    assert novel.title == work.title
    # Every author, and the Open Doors byline kept whole.
    assert novel.authors == ["gatekeeper_archivist", "second_archivist"]
    assert novel.author == "gatekeeper_archivist"
    assert (
        novel.author_url
        == f"{url.rsplit('/works', 1)[0]}/users/gatekeeper_archivist/pseuds/gatekeeper_archivist"
    )
    assert novel.byline == "Placeholder Elder [archived by gatekeeper_archivist, second_archivist]"
    assert novel.synopsis == "\n\n".join(work.summary)
    # Tags stay in their AO3 groups; only freeform tags the genre table knows become genres.
    assert novel.tag_groups == {
        "rating": ["Mature"],
        "warnings": ["Graphic Depictions Of Violence", "Major Character Death"],
        "category": ["F/M", "Multi"],
        "fandoms": ["Placeholder Fandom (Imaginary Series)"],
        "relationships": ["Placeholder Hero & Placeholder Rival"],
        "characters": ["Placeholder Hero", "Placeholder Rival"],
        "freeform_tags": ["Time Travel", "Sci-fi", "Found Family", "Hurt/Comfort", "Slice of Life"],
    }
    assert novel.tags == ["Time Travel", "Sci-fi", "Slice of Life"]
    assert novel.content_warnings == ["Graphic Depictions Of Violence", "Major Character Death"]
    assert (novel.language, page.language_name) == ("en", "English")
    assert novel.word_count == fake.words(work)
    assert (novel.status, novel.chapters_planned) == ("completed", 4)
    assert novel.novel_type == "fanfiction"
    assert novel.published_at == datetime(2023, 5, 14, tzinfo=UTC)
    assert novel.updated_at == datetime(2023, 6, 4, tzinfo=UTC)
    assert novel.series == [
        SeriesLink(
            site_series_id="615",
            title="The Placeholder Cycle",
            url=f"{MIRROR}/series/615",
            position=2,
        )
    ]
    assert [
        (c.site_chapter_id, c.number, c.title, c.url, c.published_at) for c in novel.chapters
    ] == [
        (str(c.id), n, fake.chapter_title(c, n), f"{url}/chapters/{c.id}", None)
        for n, c in enumerate(work.chapters, start=1)
    ]
    assert novel.chapters[1].title == "Chapter 2"  # untitled: what AO3 shows
    assert page.stats["chapters"] == "4/4" and page.stats["hits"] == "6,150"
    assert text_of(page.notes_html, url) == work.notes
    assert text_of(page.end_notes_html, url) == work.end_notes


@pytest.mark.parametrize(
    ("planned", "status", "expected"),
    [(None, "ongoing", None), (10, "ongoing", 10), (3, "completed", 3)],
)
def test_chapters_done_of_planned_give_the_status(
    planned: int | None, status: str, expected: int | None
) -> None:
    work = fake.make_work(7100, 3, planned=planned)
    novel = SITE.parse_novel(whole_work(work))
    assert (novel.status, novel.chapters_planned) == (status, expected)


def test_original_work_is_not_fan_fiction_and_unknown_tags_make_no_genre() -> None:
    work = fake.make_work(7101, 2, fandoms=["Original Work"], freeform=["Angst", "Slow Burn"])
    novel = SITE.parse_novel(whole_work(work))
    assert novel.novel_type == "original"
    assert novel.tags == [] and novel.tag_groups["freeform_tags"] == ["Angst", "Slow Burn"]


def test_each_chapter_comes_from_the_whole_work_page_with_its_notes_apart() -> None:
    work = fake.sample_work()
    url = f"{MIRROR}{fake.work_path(work)}"
    page = sample("work-full.html", url + WHOLE)
    novel = SITE.parse_novel(page)
    chapters = [SITE.parse_chapter(page, ref) for ref in novel.chapters]

    for data, original in zip(chapters, work.chapters, strict=True):
        text = text_of(data.raw_html, data.ref.url)
        assert text == fake.chapter_text(original)  # exactly its own text, nothing else
        assert "Chapter Text" not in data.raw_html  # AO3's screen-reader heading is gone
    notes = [
        (text_of(d.note_before_html, d.ref.url), text_of(d.note_after_html, d.ref.url))
        for d in chapters
    ]
    assert notes == [
        (work.notes, ""),  # the work's notes come before its first chapter
        (work.chapters[1].notes, work.chapters[1].end_notes),
        (work.chapters[2].summary, ""),  # a chapter summary is kept apart too
        ("", work.end_notes),  # the work's end notes come after its last chapter
    ]


def test_a_chapter_missing_from_the_page_fails_alone() -> None:
    work = fake.make_work(7102, 3)
    work.damaged = {work.chapters[1].id}
    page = whole_work(work)
    refs = SITE.parse_novel(page).chapters
    assert len(refs) == 3  # the listing still has it
    SITE.parse_chapter(page, refs[0])
    with pytest.raises(LayoutError) as caught:
        SITE.parse_chapter(page, refs[1])
    assert refs[1].url in caught.value.message and "div.userstuff" in caught.value.message
    SITE.parse_chapter(page, refs[2])


def test_chapter_ids_are_matched_exactly() -> None:
    work = fake.make_work(7103, 2)
    work.chapters[1].id = int(f"{work.chapters[0].id}9")  # 710301 and 7103019
    page = whole_work(work)
    first, second = SITE.parse_novel(page).chapters
    assert text_of(SITE.parse_chapter(page, first).raw_html, first.url) == fake.chapter_text(
        work.chapters[0]
    )
    assert text_of(SITE.parse_chapter(page, second).raw_html, second.url) == fake.chapter_text(
        work.chapters[1]
    )


# --- a chapter's own page --------------------------------------------------------------------


def test_chapter_page_lists_the_whole_work_and_holds_only_its_chapter() -> None:
    work = fake.sample_work()
    second = work.chapters[1]
    url = f"{MIRROR}{fake.chapter_path(work, second)}"
    page = sample("work-chapter-2.html", url)
    novel = SITE.parse_novel(page)
    assert [c.site_chapter_id for c in novel.chapters] == [str(c.id) for c in work.chapters]
    assert novel.title == work.title and novel.chapters[1].title == "Chapter 2"

    data = SITE.parse_chapter(page, novel.chapters[1])
    assert text_of(data.raw_html, url) == fake.chapter_text(second)
    assert text_of(data.note_before_html, url) == second.notes
    assert text_of(data.note_after_html, url) == second.end_notes
    with pytest.raises(LayoutError):
        SITE.parse_chapter(page, novel.chapters[2])

    view = SITE.chapter_view(page)
    assert (view.number, view.title, view.heading) == (2, "Chapter 2", "Chapter 2")
    assert view.novel_title == work.title and view.author == "gatekeeper_archivist"
    assert view.prev_url == f"{MIRROR}{fake.chapter_path(work, work.chapters[0])}"
    assert view.next_url == f"{MIRROR}{fake.chapter_path(work, work.chapters[2])}"


# --- one-shots, restricted works, changed layouts --------------------------------------------


def test_one_shot_is_one_chapter_keyed_by_the_work() -> None:
    work = fake.sample_one_shot()
    url = f"{MIRROR}{fake.work_path(work)}"
    page = sample("work-one-shot.html", url + WHOLE)
    novel = SITE.parse_novel(page)
    assert [(c.site_chapter_id, c.title, c.url) for c in novel.chapters] == [
        (f"work-{work.id}", work.title, url)
    ]
    assert novel.status == "completed" and novel.tag_groups["relationships"] == []
    data = SITE.parse_chapter(page, novel.chapters[0])
    assert text_of(data.raw_html, url) == fake.chapter_text(work.chapters[0])
    assert data.note_before_html is None  # only "see the end of the work for notes"
    assert text_of(data.note_after_html, url) == work.end_notes


def test_restricted_work_says_it_needs_a_login() -> None:
    work = fake.sample_work()
    redirected = f"{MIRROR}{fake.login_redirect(work)}"
    with pytest.raises(LoginRequiredError) as caught:
        SITE.parse_novel(sample("login-restricted.html", redirected))
    assert caught.value.message == (
        f"this work requires an AO3 login ({MIRROR}{fake.work_path(work)})"
    )
    # Served in place of the work (no redirect), the page is recognised all the same.
    with pytest.raises(LoginRequiredError):
        SITE.parse_novel(sample("login-restricted.html", f"{MIRROR}/works/6150{WHOLE}"))


def test_adult_notice_and_changed_layout_fail_naming_the_page() -> None:
    url = f"{MIRROR}/works/6150{WHOLE}"
    with pytest.raises(LayoutError) as caught:
        SITE.parse_novel(sample("adult-notice.html", url))
    assert url in caught.value.message and "adult-content notice" in caught.value.message
    redesigned = response(url, "<html><body><div id='workskin'><p>new look</p></div></body></html>")
    with pytest.raises(LayoutError) as caught:
        SITE.parse_novel(redesigned)
    assert "h2.title" in caught.value.message


# --- series ----------------------------------------------------------------------------------


def test_series_page_gives_the_series_and_its_works_in_part_order() -> None:
    series = fake.sample_series()
    url = f"{MIRROR}{fake.series_path(series)}"
    work, one_shot = fake.sample_work(), fake.sample_one_shot()
    data = SITE.parse_series(sample("series.html", url))

    assert (data.site, data.site_series_id, data.url) == ("ao3", "615", url)
    assert data.title == series.title and data.author == series.creator
    assert data.author_url == f"{MIRROR}/users/{series.creator}/pseuds/{series.creator}"
    assert data.synopsis == series.description
    assert (data.status, data.works_count) == ("ongoing", 2)
    assert data.word_count == fake.words(work) + fake.words(one_shot)
    assert data.published_at == datetime(2023, 5, 14, tzinfo=UTC)
    assert data.next_page_url is None
    assert [(w.position, w.site_novel_id, w.title, w.url) for w in data.works] == [
        (1, str(one_shot.id), one_shot.title, f"{MIRROR}{fake.work_path(one_shot)}"),
        (2, str(work.id), work.title, f"{MIRROR}{fake.work_path(work)}"),
    ]
    listed = data.works[1]
    assert listed.authors == work.authors and listed.chapters == "4/4"
    assert listed.tag_groups["rating"] == ["Mature"]
    assert listed.tag_groups["category"] == ["F/M", "Multi"]
    assert listed.tag_groups["freeform_tags"] == work.freeform


def test_a_long_series_names_its_next_page() -> None:
    works = {i: fake.make_work(i, 1) for i in range(8000, 8023)}
    series = fake.FakeSeries(616, "A Long Placeholder", "quill", list(works))
    url = f"{MIRROR}{fake.series_path(series)}"
    first = SITE.parse_series(response(url, fake.series_html(series, works)))
    assert len(first.works) == 20 and first.next_page_url == f"{url}?page=2"
    last = SITE.parse_series(response(f"{url}?page=2", fake.series_html(series, works, 2)))
    assert [w.position for w in last.works] == [21, 22, 23] and last.next_page_url is None


# --- politeness ------------------------------------------------------------------------------


def test_default_politeness_is_one_request_at_a_time_five_seconds_apart() -> None:
    assert Settings(download_delay=None).limit_for(SITE) == SiteLimit(interval=5.0, concurrency=1)
    tuned = Settings(download_delay=None, site_limits={"ao3": {"interval": 8}})
    assert tuned.limit_for(SITE) == SiteLimit(interval=8.0, concurrency=1)


def test_sites_command_lists_ao3_with_its_politeness(settings: Settings) -> None:
    result = run_cli(settings, "sites")
    assert result.returncode == 0, result.stderr
    row = next(line for line in result.stdout.splitlines() if "Archive of Our Own" in line)
    assert "archiveofourown.org" in row and "1 at a time, 5 s apart" in row
