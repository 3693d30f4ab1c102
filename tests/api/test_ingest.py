"""POST /ingest: a job row and an RQ job for good URLs, nothing at all for bad input."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest
from sqlalchemy import func, select

from chapterhouse.config import Settings
from chapterhouse.db.models import IngestionJob, JobStatus
from chapterhouse.services import Runtime
from tests.api import MOTHER_OF_LEARNING, QUEUE_KEY, TestClient, api_client
from tests.factories import make_job, make_novel

JSON = {"content-type": "application/json"}


@pytest.fixture
def client(any_settings: Settings) -> Iterator[TestClient]:
    """A client on PostgreSQL (the asyncpg path) or SQLite (the ORM path), and the Redis db."""
    with api_client(any_settings) as client:
        yield client


@pytest.fixture
def runtime(any_runtime: Runtime) -> Runtime:
    """Connections on the client's database: both paths give the same answers."""
    return any_runtime


def job_count(runtime: Runtime) -> int:
    """Rows in ingestion_jobs."""
    with runtime.sessions() as session:
        return session.scalar(select(func.count()).select_from(IngestionJob)) or 0


def test_submit_records_and_queues_a_job(client: TestClient, runtime: Runtime) -> None:
    response = client.post("/ingest", json={"url": MOTHER_OF_LEARNING})
    assert response.status_code == 202
    body = response.json()
    assert body["created"] is True
    assert (body["job_id"], body["status"], body["rq_job_id"]) == (1, "queued", "ingest-1")
    assert body["url"] == MOTHER_OF_LEARNING
    assert body["site"] == "royalroad"
    assert body["novel_slug"] is None
    assert body["progress"] == {"done": 0, "total": None}
    assert (body["attempts"], body["error"], body["failed_chapters"]) == (0, None, [])
    assert body["started_at"] is None and body["finished_at"] is None
    assert job_count(runtime) == 1
    assert runtime.redis.llen(QUEUE_KEY) == 1
    assert runtime.redis.lrange(QUEUE_KEY, 0, -1) == [b"ingest-1"]
    assert client.get("/jobs/1").json()["status"] == "queued"


@pytest.mark.parametrize(
    "again",
    [
        MOTHER_OF_LEARNING,
        "https://www.royalroad.com/fiction/21220/mother-of-learning/chapter/301778/1-good-morning-brother",
        MOTHER_OF_LEARNING + "?utm_source=feed#chapters",
        "https://royalroad.com/fiction/21220",
        "  HTTPS://WWW.ROYALROAD.COM/fiction/21220/mother-of-learning  ",
    ],
)
def test_resubmitting_an_active_novel_returns_its_job(
    client: TestClient, runtime: Runtime, again: str
) -> None:
    first = client.post("/ingest", json={"url": MOTHER_OF_LEARNING}).json()
    response = client.post("/ingest", json={"url": again})
    assert response.status_code == 200
    body = response.json()
    assert body["created"] is False
    assert body["job_id"] == first["job_id"]
    assert body["url"] == MOTHER_OF_LEARNING
    assert job_count(runtime) == 1
    assert runtime.redis.llen(QUEUE_KEY) == 1


def test_a_novel_whose_job_ended_gets_a_new_job(client: TestClient, runtime: Runtime) -> None:
    with runtime.sessions() as session:
        novel = make_novel(session, "mother-of-learning", site_novel_id="21220")
        make_job(session, status=JobStatus.DONE, novel=novel)
        session.commit()
    response = client.post("/ingest", json={"url": MOTHER_OF_LEARNING})
    assert response.status_code == 202
    body = response.json()
    assert (body["job_id"], body["rq_job_id"], body["created"]) == (2, "ingest-2", True)
    # The novel was stored before, so the new job already knows it.
    assert body["novel_slug"] == "mother-of-learning"
    assert runtime.redis.lrange(QUEUE_KEY, 0, -1) == [b"ingest-2"]


BAD_JSON_BODIES: list[tuple[str, Any]] = [
    ("not a URL", {"url": "not a url"}),
    ("bare host", {"url": "www.royalroad.com/fiction/21220"}),
    ("ftp scheme", {"url": "ftp://www.royalroad.com/fiction/21220"}),
    ("javascript scheme", {"url": "javascript:alert(1)"}),
    ("file scheme", {"url": "file:///etc/passwd"}),
    ("empty url", {"url": ""}),
    ("blank url", {"url": "   "}),
    ("no fiction path", {"url": "https://www.royalroad.com/"}),
    ("credentials", {"url": "https://user:pw@www.royalroad.com/fiction/21220"}),
    ("bad port", {"url": "https://www.royalroad.com:99999/fiction/21220"}),
    ("10 kB url", {"url": MOTHER_OF_LEARNING + "/" + "a" * 10_000}),
    ("missing field", {}),
    ("misspelt field", {"URL": MOTHER_OF_LEARNING}),
    ("url is a number", {"url": 21220}),
    ("url is null", {"url": None}),
    ("url is a list", {"url": [MOTHER_OF_LEARNING]}),
    ("body is a list", [MOTHER_OF_LEARNING]),
    ("body is a string", MOTHER_OF_LEARNING),
    ("body is null", None),
]


@pytest.mark.parametrize(("case", "body"), BAD_JSON_BODIES, ids=[c for c, _ in BAD_JSON_BODIES])
def test_bad_json_input_is_refused_and_nothing_is_written(
    client: TestClient, runtime: Runtime, case: str, body: Any
) -> None:
    response = client.post("/ingest", content=json.dumps(body), headers=JSON)
    assert response.status_code == 422, case
    detail = response.json()["detail"]
    assert isinstance(detail, str) and detail, case
    assert "Traceback" not in response.text
    assert job_count(runtime) == 0
    assert runtime.redis.llen(QUEUE_KEY) == 0


@pytest.mark.parametrize(
    ("case", "content", "headers", "expected"),
    [
        ("empty body", b"", JSON, 422),
        ("no body, no type", None, {}, 422),
        ("invalid JSON", b'{"url": ', JSON, 422),
        ("form encoded", b"url=https%3A%2F%2Fwww.royalroad.com%2Ffiction%2F1", {}, 422),
        ("text/plain", MOTHER_OF_LEARNING.encode(), {"content-type": "text/plain"}, 422),
        ("JSON without content type", json.dumps({"url": MOTHER_OF_LEARNING}).encode(), {}, 422),
        ("100 kB body", json.dumps({"url": "x" * 100_000}).encode(), JSON, 413),
    ],
)
def test_malformed_requests_are_refused_with_json_detail(
    client: TestClient,
    runtime: Runtime,
    case: str,
    content: bytes | None,
    headers: dict[str, str],
    expected: int,
) -> None:
    response = client.post("/ingest", content=content, headers=headers)
    assert response.status_code == expected, case
    assert isinstance(response.json()["detail"], str), case
    assert job_count(runtime) == 0
    assert runtime.redis.llen(QUEUE_KEY) == 0


def test_a_large_chunked_body_is_refused_with_json(client: TestClient, runtime: Runtime) -> None:
    def chunks() -> Iterator[bytes]:
        yield b'{"url": "'
        for _ in range(100):
            yield b"x" * 1024
        yield b'"}'

    # No Content-Length: the route's own body limit has to stop it while reading.
    response = client.post("/ingest", content=chunks(), headers=JSON)
    assert response.status_code == 413
    assert isinstance(response.json()["detail"], str)
    assert job_count(runtime) == 0


def test_invalid_input_explains_itself(client: TestClient) -> None:
    cases = {
        "not a url": "not an http(s) URL",
        "ftp://www.royalroad.com/fiction/1": "not an http(s) URL",
        "https://www.royalroad.com/forums": "fiction",
        MOTHER_OF_LEARNING + "/" + "a" * 10_000: "longer than 2048 characters",
    }
    for url, phrase in cases.items():
        detail = client.post("/ingest", json={"url": url}).json()["detail"]
        assert phrase in detail, (url[:60], detail)
        assert len(detail) < 400
    assert client.post("/ingest", json={}).json()["detail"] == "url: Field required"
    assert client.post("/ingest").json()["detail"].startswith("request body is required")
    assert "not valid JSON" in client.post("/ingest", content=b"{", headers=JSON).json()["detail"]


def test_unsupported_site_lists_the_supported_ones(client: TestClient, runtime: Runtime) -> None:
    response = client.post("/ingest", json={"url": "https://example.com/novel/1"})
    assert response.status_code == 422
    body = response.json()
    assert "example.com is not a supported site" in body["detail"]
    assert "Royal Road" in body["supported_sites"]
    assert job_count(runtime) == 0


def test_redis_down_is_503_and_the_job_is_marked_failed(
    any_settings: Settings, runtime: Runtime
) -> None:
    down = any_settings.model_copy(update={"redis_url": "redis://127.0.0.1:1/0"})
    with api_client(down) as client:
        response = client.post("/ingest", json={"url": MOTHER_OF_LEARNING})
    assert response.status_code == 503
    assert "Redis" in response.json()["detail"]
    with runtime.sessions() as session:
        job = session.scalars(select(IngestionJob)).one()
    assert job.status == JobStatus.FAILED
    assert job.error and "Redis" in job.error


def test_database_down_is_503(settings: Settings) -> None:
    down = settings.model_copy(
        update={"database_url": "postgresql+psycopg://postgres@127.0.0.1:1/x"}
    )
    with api_client(down) as client:
        response = client.post("/ingest", json={"url": MOTHER_OF_LEARNING})
    assert response.status_code == 503
    # The driver's name for it follows the colon (the API's asyncpg path, or psycopg's).
    assert response.json()["detail"].startswith("the database is unavailable: ")
