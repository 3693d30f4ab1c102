"""Genre reads (/genres, /genres/{slug}/novels) on factory data, on PostgreSQL and SQLite."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from chapterhouse.config import Settings
from chapterhouse.services import Runtime
from tests.api import TestClient, api_client
from tests.factories import make_genre, make_novel


@pytest.fixture
def client(any_settings: Settings, any_runtime: Runtime) -> Iterator[TestClient]:
    """Three genres (one unused) over three novels."""
    with any_runtime.sessions() as session:
        fantasy = make_genre(session, "fantasy")
        litrpg = make_genre(session, "litrpg", "LitRPG")
        make_genre(session, "romance")
        make_novel(session, "the-wandering-inn", genres=[fantasy, litrpg])
        make_novel(session, "azarinth-healer", genres=[litrpg])
        make_novel(session, "beware-of-chicken", genres=[fantasy])
        session.commit()
    with api_client(any_settings) as client:
        yield client


def test_genres_are_listed_by_name_with_novel_counts(client: TestClient) -> None:
    response = client.get("/genres")
    assert response.status_code == 200
    assert response.json() == [
        {"slug": "fantasy", "name": "Fantasy", "novel_count": 2},
        {"slug": "litrpg", "name": "LitRPG", "novel_count": 2},
        {"slug": "romance", "name": "Romance", "novel_count": 0},
    ]


def test_no_genres_is_an_empty_list(sqlite_settings: Settings) -> None:
    with api_client(sqlite_settings) as client:
        assert client.get("/genres").json() == []


def test_a_genres_novels_are_paginated(client: TestClient) -> None:
    body = client.get("/genres/fantasy/novels").json()
    assert [n["slug"] for n in body["items"]] == ["beware-of-chicken", "the-wandering-inn"]
    assert body["total"] == 2
    assert body["items"][1]["genres"] == [
        {"slug": "fantasy", "name": "Fantasy"},
        {"slug": "litrpg", "name": "LitRPG"},
    ]
    page = client.get("/genres/fantasy/novels?limit=1&offset=1").json()
    assert [n["slug"] for n in page["items"]] == ["the-wandering-inn"]
    assert (page["total"], page["limit"], page["offset"]) == (2, 1, 1)
    assert client.get("/genres/romance/novels").json()["items"] == []


def test_unknown_genre_and_page_past_the_end_are_404(client: TestClient) -> None:
    response = client.get("/genres/no-such/novels")
    assert response.status_code == 404
    assert response.json() == {"detail": "no genre has slug 'no-such'"}
    response = client.get("/genres/litrpg/novels?offset=5")
    assert response.status_code == 404
    assert response.json() == {"detail": "offset 5 is past the end: there are 2 novels"}
