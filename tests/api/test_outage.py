"""The API while its PostgreSQL database is unreachable: 503 JSON naming it, then 200s again."""

from __future__ import annotations

from typing import Any

import pytest

from chapterhouse.config import Settings
from tests.api import MOTHER_OF_LEARNING, TestClient, api_client
from tests.pgoutage import database_down

NEEDS_DATABASE = [
    ("POST", "/ingest"),
    ("GET", "/novels"),
    ("GET", "/jobs/1"),
    ("GET", "/jobs"),
    ("GET", "/genres"),
    ("POST", "/jobs/1/cancel"),
    ("GET", "/health"),
]


def call(client: TestClient, method: str, path: str) -> Any:  # the TestClient's response
    body = {"url": MOTHER_OF_LEARNING} if path == "/ingest" else None
    return client.request(method, path, json=body)


def test_every_endpoint_answers_503_naming_the_database_then_recovers(
    settings: Settings,
) -> None:
    with api_client(settings) as client:
        assert client.post("/ingest", json={"url": MOTHER_OF_LEARNING}).status_code == 202
        assert client.get("/novels").status_code == 200  # the pool now holds live connections

        with database_down(settings.database_url or ""):
            for method, path in NEEDS_DATABASE:
                response = call(client, method, path)
                assert response.status_code == 503, (path, response.text)
                assert response.headers["content-type"] == "application/json"
                assert "database" in response.json()["detail"], (path, response.json())

        for path in ("/novels", "/jobs/1", "/jobs", "/genres", "/health"):
            assert client.get(path).status_code == 200, path
        again = client.post("/ingest", json={"url": MOTHER_OF_LEARNING})
        assert again.status_code == 200 and again.json()["job_id"] == 1  # the same active job


@pytest.mark.parametrize("path", ["/health", "/novels"])
def test_an_outage_from_the_start_is_503_too(settings: Settings, path: str) -> None:
    with database_down(settings.database_url or ""), api_client(settings) as client:
        response = client.get(path)
    assert response.status_code == 503
    assert "database" in response.json()["detail"]
