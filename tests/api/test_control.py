"""GET /queue, POST /queue/pause|resume|drain, POST /domains/{domain}/pause|resume."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from chapterhouse.config import Settings
from tests.api import MOTHER_OF_LEARNING, TestClient, api_client


@pytest.fixture
def client(settings: Settings) -> Iterator[TestClient]:
    """A client on the test PostgreSQL database and Redis db."""
    with api_client(settings) as client:
        yield client


def test_queue_shows_counts_workers_and_that_nothing_is_paused(client: TestClient) -> None:
    client.post("/ingest", json={"url": MOTHER_OF_LEARNING})
    body = client.get("/queue").json()
    assert body["counts"]["queued"] == 1 and body["counts"]["started"] == 0
    assert body["workers"] == []
    assert body["paused"] is False and body["paused_domains"] == []


def test_pause_and_resume_the_queue_keeps_queued_jobs(client: TestClient) -> None:
    client.post("/ingest", json={"url": MOTHER_OF_LEARNING})
    paused = client.post("/queue/pause")
    assert paused.status_code == 200 and paused.json()["paused"] is True
    assert client.get("/queue").json()["paused"] is True
    assert client.post("/queue/pause").json()["paused"] is True  # twice changes nothing

    resumed = client.post("/queue/resume").json()
    assert resumed["paused"] is False and resumed["counts"]["queued"] == 1
    assert client.get("/jobs/1").json()["status"] == "queued"


def test_drain_pauses_the_queue_and_says_how_many_run(client: TestClient) -> None:
    body = client.post("/queue/drain").json()
    assert body["paused"] is True and body["counts"]["started"] == 0
    assert client.get("/queue").json()["paused"] is True


def test_pause_a_site_by_name_pauses_all_its_domains(client: TestClient) -> None:
    body = client.post("/domains/royalroad/pause").json()
    assert body["domains"] == ["royalroad.com", "www.royalroad.com"]
    assert client.get("/queue").json()["paused_domains"] == ["royalroad.com", "www.royalroad.com"]

    one = client.post("/domains/www.royalroad.com/resume").json()
    assert one == {"domains": ["www.royalroad.com"], "paused_domains": ["royalroad.com"]}
    assert client.post("/domains/royalroad/resume").json()["paused_domains"] == []


def test_pause_a_mapped_test_host(client: TestClient, settings: Settings) -> None:
    with api_client(settings.model_copy(update={"site_hosts": "127.0.0.1:8765=royalroad"})) as c:
        assert c.post("/domains/127.0.0.1:8765/pause").json()["domains"] == ["127.0.0.1:8765"]
        assert "127.0.0.1:8765" in c.post("/domains/royalroad/pause").json()["domains"]


def test_unknown_domain_is_404_json_naming_what_is_known(client: TestClient) -> None:
    response = client.post("/domains/example.com/pause")
    assert response.status_code == 404
    detail = response.json()["detail"]
    assert "example.com" in detail and "royalroad" in detail
    assert client.get("/queue").json()["paused_domains"] == []


def test_control_with_redis_down_is_503_json(settings: Settings) -> None:
    down = settings.model_copy(update={"redis_url": "redis://127.0.0.1:1/0"})
    with api_client(down) as client:
        for path in ("/queue", "/queue/pause", "/domains/royalroad/pause"):
            response = client.request("GET" if path == "/queue" else "POST", path)
            assert response.status_code == 503, path
            assert "Redis" in response.json()["detail"]
