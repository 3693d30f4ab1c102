"""GET /jobs and /jobs/{id}, and POST /jobs/{id}/retry."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from typing import get_args

import pytest

from chapterhouse.api.schemas import JobStatusName
from chapterhouse.config import Settings
from chapterhouse.db.models import JobStatus
from chapterhouse.services import Runtime
from tests.api import QUEUE_KEY, TestClient, api_client
from tests.factories import make_job, make_novel


@pytest.fixture
def client(settings: Settings) -> Iterator[TestClient]:
    """A client on the test PostgreSQL database and Redis db."""
    with api_client(settings) as client:
        yield client


@pytest.fixture
def five_jobs(runtime: Runtime) -> None:
    """Jobs 1..5: failed, done, failed, queued, failed (each for its own novel)."""
    statuses = [JobStatus.FAILED, JobStatus.DONE, JobStatus.FAILED, JobStatus.QUEUED]
    statuses.append(JobStatus.FAILED)
    with runtime.sessions() as session:
        for index, status in enumerate(statuses, start=1):
            make_job(session, status=status, novel_key=f"royalroad:{index}", error=None)
        session.commit()


def test_status_names_match_the_model() -> None:
    assert set(get_args(JobStatusName)) == set(JobStatus.ALL)


def test_job_shows_state_progress_and_novel(client: TestClient, runtime: Runtime) -> None:
    started = datetime(2024, 5, 1, 12, 0, tzinfo=UTC)
    with runtime.sessions() as session:
        novel = make_novel(session, "mother-of-learning", site_novel_id="21220")
        make_job(
            session,
            novel=novel,
            status=JobStatus.PARTIAL,
            chapters_done=108,
            chapters_total=109,
            attempts=1,
            error="1 chapter failed",
            failed_chapters=[{"number": 7, "url": "https://x", "error": "HTTP 500"}],
            stats={"new": 108, "updated": 0, "unchanged": 0},
            started_at=started,
            finished_at=started,
        )
        session.commit()
    response = client.get("/jobs/1")
    assert response.status_code == 200
    job = response.json()
    assert job["job_id"] == 1
    assert job["status"] == "partial"
    assert job["novel_slug"] == "mother-of-learning"
    assert job["progress"] == {"done": 108, "total": 109}
    assert job["failed_chapters"] == [{"number": 7, "url": "https://x", "error": "HTTP 500"}]
    assert job["stats"] == {"new": 108, "updated": 0, "unchanged": 0}
    assert job["rq_job_id"] == "ingest-1"
    assert job["note"] is None
    assert datetime.fromisoformat(job["started_at"]) == started
    assert job["worker"] is None and job["cancel_requested"] is False
    assert set(job) == {
        "worker",
        "heartbeat_at",
        "cancel_requested",
        "job_id",
        "status",
        "url",
        "site",
        "novel_slug",
        "progress",
        "attempts",
        "error",
        "note",
        "failed_chapters",
        "stats",
        "rq_job_id",
        "created_at",
        "started_at",
        "finished_at",
        "series_id",  # set on a series job only
    }
    assert job["series_id"] is None


def test_unknown_job_is_404(client: TestClient) -> None:
    response = client.get("/jobs/42")
    assert response.status_code == 404
    assert response.json() == {"detail": "no ingestion job has id 42"}


@pytest.mark.parametrize("bad", ["abc", "1.5", "0", "-3", str(2**40)])
def test_invalid_job_id_is_422(client: TestClient, bad: str) -> None:
    response = client.get(f"/jobs/{bad}")
    assert response.status_code == 422
    body = response.json()
    assert body["detail"].startswith("path parameter job_id: ")
    assert body["errors"][0]["loc"] == ["path", "job_id"]


@pytest.mark.usefixtures("five_jobs")
def test_jobs_are_listed_newest_first(client: TestClient) -> None:
    body = client.get("/jobs").json()
    assert [job["job_id"] for job in body["items"]] == [5, 4, 3, 2, 1]
    assert (body["total"], body["limit"], body["offset"]) == (5, 20, 0)


@pytest.mark.usefixtures("five_jobs")
def test_jobs_filter_by_status_and_paginate(client: TestClient) -> None:
    body = client.get("/jobs?status=failed&limit=2&offset=0").json()
    assert [job["job_id"] for job in body["items"]] == [5, 3]
    assert (body["total"], body["limit"], body["offset"]) == (3, 2, 0)
    body = client.get("/jobs?status=failed&limit=2&offset=2").json()
    assert [job["job_id"] for job in body["items"]] == [1]
    assert client.get("/jobs?status=crawling").json()["items"] == []


@pytest.mark.usefixtures("five_jobs")
def test_a_page_past_the_end_is_404(client: TestClient) -> None:
    response = client.get("/jobs?status=failed&offset=3")
    assert response.status_code == 404
    assert response.json() == {"detail": "offset 3 is past the end: there are 3 jobs"}
    response = client.get("/jobs?status=done&offset=1")
    assert response.json() == {"detail": "offset 1 is past the end: there is 1 job"}


def test_an_empty_first_page_is_fine(client: TestClient) -> None:
    assert client.get("/jobs").json() == {"items": [], "total": 0, "limit": 20, "offset": 0}


def test_unknown_status_names_the_allowed_ones(client: TestClient) -> None:
    response = client.get("/jobs?status=finished")
    assert response.status_code == 422
    detail = response.json()["detail"]
    assert detail.startswith("query parameter status: ")
    for status in JobStatus.ALL:
        assert f"'{status}'" in detail


@pytest.mark.parametrize("query", ["limit=0", "limit=101", "limit=x", "offset=-1"])
def test_limit_and_offset_are_checked(client: TestClient, query: str) -> None:
    response = client.get(f"/jobs?{query}")
    assert response.status_code == 422
    assert "query parameter" in response.json()["detail"]


def test_retry_requeues_an_ended_job(client: TestClient, runtime: Runtime) -> None:
    with runtime.sessions() as session:
        make_job(session, status=JobStatus.FAILED, error="boom", chapters_done=3)
        session.commit()
    response = client.post("/jobs/1/retry")
    assert response.status_code == 202
    body = response.json()
    assert (body["job_id"], body["status"], body["created"]) == (1, "queued", True)
    assert (body["error"], body["progress"]) == (None, {"done": 0, "total": None})
    assert runtime.redis.lrange(QUEUE_KEY, 0, -1) == [b"ingest-1"]


def test_retry_of_an_active_job_is_409(client: TestClient, runtime: Runtime) -> None:
    with runtime.sessions() as session:
        make_job(session, status=JobStatus.CRAWLING)
        session.commit()
    response = client.post("/jobs/1/retry")
    assert response.status_code == 409
    assert "crawling" in response.json()["detail"]
    assert runtime.redis.llen(QUEUE_KEY) == 0


def test_retry_when_the_novel_has_another_active_job(client: TestClient, runtime: Runtime) -> None:
    with runtime.sessions() as session:
        make_job(session, status=JobStatus.FAILED)
        make_job(session, status=JobStatus.QUEUED)
        session.commit()
    response = client.post("/jobs/1/retry")
    assert response.status_code == 200
    assert (response.json()["job_id"], response.json()["created"]) == (2, False)


def test_retry_of_an_unknown_job_is_404(client: TestClient) -> None:
    assert client.post("/jobs/9/retry").status_code == 404


def test_database_down_is_503(settings: Settings) -> None:
    down = settings.model_copy(
        update={"database_url": "postgresql+psycopg://postgres@127.0.0.1:1/x"}
    )
    with api_client(down) as client:
        for path in ("/jobs/1", "/jobs", "/novels", "/genres"):
            response = client.get(path)
            assert response.status_code == 503, path
            assert "database is unavailable" in response.json()["detail"]


def _three_ended_jobs(runtime: Runtime) -> None:
    with runtime.sessions() as session:
        make_job(session, status=JobStatus.FAILED, error="GET … answered HTTP 503")
        make_job(
            session,
            status=JobStatus.FAILED,
            error="this work requires an AO3 login",
            url="https://archiveofourown.org/works/1",
            site="ao3",
            novel_key="ao3:1",
        )
        make_job(
            session,
            status=JobStatus.PARTIAL,
            error="1 chapter(s) could not be fetched",
            url="https://www.royalroad.com/fiction/2/x",
            novel_key="royalroad:2",
        )
        session.commit()


def test_retry_failed_takes_only_the_named_sites_jobs(client: TestClient, runtime: Runtime) -> None:
    _three_ended_jobs(runtime)
    response = client.post("/jobs/retry-failed", params={"site": "ao3"})
    assert response.status_code == 202 and response.json() == {"job_ids": [2]}
    assert runtime.redis.lrange(QUEUE_KEY, 0, -1) == [b"ingest-2"]
    statuses = [client.get(f"/jobs/{i}").json()["status"] for i in (1, 2, 3)]
    assert statuses == ["failed", "queued", "partial"]

    rest = client.post("/jobs/retry-failed", params={"site": "royalroad"})
    assert sorted(rest.json()["job_ids"]) == [1, 3]  # partial jobs are retried too


def test_retry_failed_from_the_cli_filters_by_site_and_error(
    settings: Settings, runtime: Runtime
) -> None:
    from tests.conftest import run_cli

    _three_ended_jobs(runtime)
    result = run_cli(settings, "retry-failed", "--site", "royalroad", "--error", "HTTP 503")
    assert result.returncode == 0, result.stderr
    assert "1 job(s) queued again: 1" in result.stdout
    assert runtime.redis.lrange(QUEUE_KEY, 0, -1) == [b"ingest-1"]
