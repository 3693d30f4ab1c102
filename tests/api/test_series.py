"""Series reads (/series, and a novel's series on /novels/{slug}), on PostgreSQL and SQLite."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from chapterhouse.config import Settings
from chapterhouse.db import series, store
from chapterhouse.domain import NovelData, SeriesData, SeriesLink, SeriesWork
from chapterhouse.services import Runtime
from tests.api import TestClient, api_client

ORIGIN = "https://archiveofourown.org"


@pytest.fixture
def client(any_settings: Settings, any_runtime: Runtime) -> Iterator[TestClient]:
    """A series of two works, the second of which is stored; a client on them."""
    with any_runtime.sessions() as session:
        store.upsert_novel(
            session,
            NovelData(
                site="ao3",
                site_novel_id="12",
                url=f"{ORIGIN}/works/12",
                title="The Second Part",
                author="quill",
                authors=["quill", "ink"],
                byline="quill, ink",
                tag_groups={"rating": ["General Audiences"], "fandoms": ["Placeholder"]},
                chapters_planned=5,
                series=[SeriesLink("7", "The Cycle", f"{ORIGIN}/series/7", 2)],
            ),
        )
        series.upsert_series(
            session,
            SeriesData(
                site="ao3",
                site_series_id="7",
                url=f"{ORIGIN}/series/7",
                title="The Cycle",
                author="quill",
                authors=["quill"],
                status="completed",
                word_count=3000,
                works=[
                    SeriesWork(1, "11", "The First Part", f"{ORIGIN}/works/11"),
                    SeriesWork(2, "12", "The Second Part", f"{ORIGIN}/works/12"),
                ],
            ),
        )
        session.commit()
    with api_client(any_settings) as client:
        yield client


def test_a_series_shows_its_works_in_order_with_what_is_stored(client: TestClient) -> None:
    listing = client.get("/series").json()
    assert listing["total"] == 1
    series_id = listing["items"][0]["id"]
    body = client.get(f"/series/{series_id}").json()
    assert (body["title"], body["status"], body["works_count"]) == ("The Cycle", "completed", 2)
    assert body["word_count"] == 3000 and body["authors"] == ["quill"]
    assert [(w["position"], w["title"], w["novel_slug"]) for w in body["works"]] == [
        (1, "The First Part", None),
        (2, "The Second Part", "the-second-part"),
    ]


def test_a_novel_shows_its_series_authors_and_tag_groups(client: TestClient) -> None:
    series_id = client.get("/series").json()["items"][0]["id"]
    novel = client.get("/novels/the-second-part").json()
    assert novel["series"] == [{"series_id": series_id, "title": "The Cycle", "position": 2}]
    assert novel["authors"] == ["quill", "ink"] and novel["byline"] == "quill, ink"
    assert novel["tag_groups"]["fandoms"] == ["Placeholder"]
    assert novel["chapters_planned"] == 5


def test_an_unknown_series_is_a_json_404(client: TestClient) -> None:
    response = client.get("/series/999")
    assert response.status_code == 404
    assert response.json() == {"detail": "no series has id 999"}
    assert client.get("/series/0").status_code == 422
    assert client.get("/series", params={"offset": 5}).status_code == 404  # past the end
