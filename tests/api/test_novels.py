"""Library reads (/novels, chapters) on factory data, on PostgreSQL and on SQLite."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime

import pytest
from sqlalchemy import event, select

from chapterhouse.api.schemas import NovelSummary
from chapterhouse.config import Settings
from chapterhouse.db.models import Novel
from chapterhouse.services import Runtime
from tests.api import TestClient, api_client
from tests.factories import make_chapter, make_genre, make_novel


@pytest.fixture
def client(any_settings: Settings, any_runtime: Runtime) -> Iterator[TestClient]:
    """Four novels (one with three chapters) in three genres, and a client on them."""
    with any_runtime.sessions() as session:
        fantasy = make_genre(session, "fantasy")
        litrpg = make_genre(session, "litrpg", "LitRPG")
        loop = make_genre(session, "time-loop")
        make_genre(session, "romance")
        mol = make_novel(
            session,
            "mother-of-learning",
            title="Mother of Learning",
            author="nobody103",
            site_novel_id="21220",
            genres=[loop, fantasy],
            synopsis="Zorian is trapped in a month-long time loop.",
            rating=4.8,
            content_warnings=["Graphic Violence"],
            novel_type="original",
            language="en",
        )
        # Inserted out of order, so the listing has to sort.
        for number in (3, 1, 2):
            make_chapter(session, mol, number, note_before="<p>Hi.</p>" if number == 2 else None)
        make_novel(session, "the-wandering-inn", author="pirateaba", genres=[fantasy, litrpg])
        make_novel(session, "azarinth-healer", author="Rhaegar", genres=[litrpg])
        make_novel(session, "percent-zen", title="100% Zen", author=None)
        session.commit()
    with api_client(any_settings) as client:
        yield client


def slugs(body: dict[str, object]) -> list[str]:
    """The slugs of a page of novels, in order."""
    items = body["items"]
    assert isinstance(items, list)
    return [item["slug"] for item in items]


def test_novels_are_listed_by_title_with_their_genres(client: TestClient) -> None:
    response = client.get("/novels")
    assert response.status_code == 200
    body = response.json()
    assert (body["total"], body["limit"], body["offset"]) == (4, 20, 0)
    assert slugs(body) == [
        "percent-zen",
        "azarinth-healer",
        "mother-of-learning",
        "the-wandering-inn",
    ]
    mol = body["items"][2]
    assert mol["title"] == "Mother of Learning"
    assert mol["author"] == "nobody103"
    assert mol["site"] == "royalroad"
    assert mol["chapter_count"] == 3
    assert mol["word_count"] == 12
    assert mol["genres"] == [
        {"slug": "fantasy", "name": "Fantasy"},
        {"slug": "time-loop", "name": "Time Loop"},
    ]
    assert "synopsis" not in mol
    # SQLite hands back naive timestamps; the API always says they are UTC.
    assert datetime.fromisoformat(mol["updated_at"]).utcoffset() is not None


def test_listed_novels_are_exactly_what_their_schema_writes(
    any_runtime: Runtime, client: TestClient
) -> None:
    # PostgreSQL writes the listing's JSON itself: it must match the schema's, timestamps too.
    with any_runtime.sessions() as session:
        stamps = {
            "mother-of-learning": datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC),
            "the-wandering-inn": datetime(2026, 1, 2, 3, 4, 5, 120, tzinfo=UTC),
            "percent-zen": datetime(2025, 12, 31, 23, 59, 59, 500000, tzinfo=UTC),
        }
        for novel in session.scalars(select(Novel).where(Novel.slug.in_(stamps))):
            novel.updated_at = stamps[novel.slug]
        session.commit()
    items = client.get("/novels").json()["items"]
    written = {item["slug"]: item["updated_at"] for item in items}
    assert {slug: written[slug] for slug in stamps} == {
        "mother-of-learning": "2026-01-02T03:04:05Z",
        "the-wandering-inn": "2026-01-02T03:04:05.000120Z",
        "percent-zen": "2025-12-31T23:59:59.500000Z",
    }
    for item in items:
        assert NovelSummary.model_validate(item).model_dump(mode="json") == item
        assert list(item) == list(NovelSummary.model_fields)  # in the schema's order


@pytest.mark.parametrize(
    ("search", "expected"),
    [
        ("mother", ["mother-of-learning"]),
        ("LEARNING", ["mother-of-learning"]),
        ("PirateABA", ["the-wandering-inn"]),
        ("in", ["azarinth-healer", "mother-of-learning", "the-wandering-inn"]),
        ("%", ["percent-zen"]),
        ("_", []),
        ("nothing like this", []),
    ],
)
def test_search_matches_title_or_author_ignoring_case(
    client: TestClient, search: str, expected: list[str]
) -> None:
    body = client.get("/novels", params={"search": search}).json()
    assert slugs(body) == expected
    assert body["total"] == len(expected)


def test_genre_filter_and_search_combine(client: TestClient) -> None:
    assert slugs(client.get("/novels?genre=litrpg").json()) == [
        "azarinth-healer",
        "the-wandering-inn",
    ]
    assert slugs(client.get("/novels?genre=litrpg&search=inn").json()) == ["the-wandering-inn"]
    assert client.get("/novels?genre=romance").json() == {
        "items": [],
        "total": 0,
        "limit": 20,
        "offset": 0,
    }


def test_unknown_genre_filter_is_404(client: TestClient) -> None:
    response = client.get("/novels?genre=no-such-genre")
    assert response.status_code == 404
    assert "no-such-genre" in response.json()["detail"]


def test_novels_paginate_and_refuse_a_page_past_the_end(client: TestClient) -> None:
    body = client.get("/novels?limit=2&offset=2").json()
    assert slugs(body) == ["mother-of-learning", "the-wandering-inn"]
    assert (body["total"], body["limit"], body["offset"]) == (4, 2, 2)
    response = client.get("/novels?offset=4")
    assert response.status_code == 404
    assert response.json()["detail"] == "offset 4 is past the end: there are 4 novels"
    for query in ("limit=0", "limit=101", "offset=-1", "limit=ten"):
        response = client.get(f"/novels?{query}")
        assert response.status_code == 422, query
        assert isinstance(response.json()["detail"], str)


def test_novel_detail_has_every_field(client: TestClient) -> None:
    response = client.get("/novels/mother-of-learning")
    assert response.status_code == 200
    novel = response.json()
    assert novel["synopsis"] == "Zorian is trapped in a month-long time loop."
    assert novel["rating"] == 4.8
    assert novel["content_warnings"] == ["Graphic Violence"]
    assert (novel["novel_type"], novel["language"]) == ("original", "en")
    assert novel["url"] == "https://www.royalroad.com/fiction/21220/mother-of-learning"
    assert set(novel) >= {"author_url", "cover_url", "status", "created_at", "genres"}


def test_unknown_novel_is_404(client: TestClient) -> None:
    for path in ("/novels/nope", "/novels/nope/chapters", "/novels/nope/chapters/1"):
        response = client.get(path)
        assert response.status_code == 404, path
        assert "nope" in response.json()["detail"]


def test_chapters_are_listed_in_reading_order_without_text(client: TestClient) -> None:
    body = client.get("/novels/mother-of-learning/chapters").json()
    assert body["total"] == 3
    assert [c["number"] for c in body["items"]] == [1, 2, 3]
    assert set(body["items"][0]) == {
        "number",
        "title",
        "url",
        "published_at",
        "word_count",
        "withdrawn_at",
    }
    page = client.get("/novels/mother-of-learning/chapters?limit=1&offset=1").json()
    assert [c["number"] for c in page["items"]] == [2]
    response = client.get("/novels/mother-of-learning/chapters?offset=3")
    assert response.status_code == 404
    assert "there are 3 chapters" in response.json()["detail"]
    assert client.get("/novels/percent-zen/chapters").json()["items"] == []


@pytest.mark.parametrize(("number", "prev", "next_"), [(1, None, 2), (2, 1, 3), (3, 2, None)])
def test_chapter_has_text_notes_and_neighbours(
    client: TestClient, number: int, prev: int | None, next_: int | None
) -> None:
    response = client.get(f"/novels/mother-of-learning/chapters/{number}")
    assert response.status_code == 200
    chapter = response.json()
    assert chapter["number"] == number
    assert chapter["content"] == f"<p>Text of chapter {number}.</p>"
    assert (chapter["prev"], chapter["next"]) == (prev, next_)
    assert chapter["novel"] == {"slug": "mother-of-learning", "title": "Mother of Learning"}
    assert chapter["note_before"] == ("<p>Hi.</p>" if number == 2 else None)
    assert chapter["note_after"] is None


def test_neighbours_skip_gaps_in_numbering(any_runtime: Runtime, client: TestClient) -> None:
    with any_runtime.sessions() as session:
        novel = make_novel(session, "gappy")
        for number in (1, 5, 9):
            make_chapter(session, novel, number)
        session.commit()
    chapter = client.get("/novels/gappy/chapters/5").json()
    assert (chapter["prev"], chapter["next"]) == (1, 9)
    assert chapter["withdrawn_at"] is None


def test_withdrawn_chapters_stay_readable_and_say_so(
    any_runtime: Runtime, client: TestClient
) -> None:
    with any_runtime.sessions() as session:
        novel = make_novel(session, "withdrawn")
        make_chapter(session, novel, 1, withdrawn_at=datetime(2024, 3, 1, tzinfo=UTC))
        session.commit()
    listed = client.get("/novels/withdrawn/chapters").json()["items"][0]
    assert datetime.fromisoformat(listed["withdrawn_at"]) == datetime(2024, 3, 1, tzinfo=UTC)
    chapter = client.get("/novels/withdrawn/chapters/1").json()
    assert chapter["withdrawn_at"] == listed["withdrawn_at"]
    assert chapter["content"] == "<p>Text of chapter 1.</p>"


def test_unknown_or_invalid_chapter_number(client: TestClient) -> None:
    response = client.get("/novels/mother-of-learning/chapters/4")
    assert response.status_code == 404
    assert response.json()["detail"] == "novel 'mother-of-learning' has no chapter 4"
    for bad in ("0", "-1", "one", "1.5"):
        response = client.get(f"/novels/mother-of-learning/chapters/{bad}")
        assert response.status_code == 422, bad
        assert "number" in response.json()["detail"]


def test_listing_novels_takes_a_fixed_number_of_queries(
    client: TestClient, any_runtime: Runtime
) -> None:
    statements: list[str] = []
    engine = client.app.state.runtime.engine  # type: ignore[attr-defined]

    def record(*args: object) -> None:
        statements.append(str(args[2]))

    event.listen(engine, "before_cursor_execute", record)
    try:
        assert client.get("/novels").status_code == 200
        few = len(statements)
        with any_runtime.sessions() as session:
            for index in range(10):
                make_novel(session, f"extra-{index}", genres=[])
            session.commit()
        statements.clear()
        assert client.get("/novels").json()["total"] == 14
    finally:
        event.remove(engine, "before_cursor_execute", record)
    # count + page + one SELECT ... IN for every page's genres, however many novels.
    assert len(statements) == few <= 3
