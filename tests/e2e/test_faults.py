"""Faults survived: a worker killed mid-job, Redis losing its data, cancels, bulk retries."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator

import pytest
from fastapi.testclient import TestClient
from redis import Redis
from sqlalchemy import func, select

from chapterhouse.api.app import create_app
from chapterhouse.config import Settings
from chapterhouse.db.models import Chapter
from chapterhouse.services import Runtime
from tests.conftest import run_cli, settings_env
from tests.fakesite import royalroad
from tests.fakesite.server import FakeSite

pytestmark = pytest.mark.e2e


@pytest.fixture
def fast_settings(site_settings: Settings) -> Settings:
    """Reconcile every second; a silent job is lost after three; a dead request's slot after 7."""
    return site_settings.model_copy(
        update={
            "reconcile_interval": 1.0,
            "worker_lost_after": 3.0,
            "heartbeat_interval": 0.5,
            "request_timeout": 2.0,
            "reconcile_grace": 1.0,
            "backoff_base": 0.2,
        }
    )


@pytest.fixture
def client(fast_settings: Settings) -> Iterator[TestClient]:
    with TestClient(create_app(fast_settings)) as client:
        yield client


def start_worker(settings: Settings, *extra: str) -> subprocess.Popen[bytes]:
    # A process group of its own, so the worker and its work horse can be killed together.
    return subprocess.Popen(
        [sys.executable, "-m", "chapterhouse", "worker", *extra],
        env=settings_env(settings),
        start_new_session=True,
    )


def stop(worker: subprocess.Popen[bytes]) -> None:
    if worker.poll() is None:
        os.killpg(worker.pid, signal.SIGTERM)
        try:
            worker.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(worker.pid, signal.SIGKILL)
            worker.wait()


def wait_for(check: Callable[[], bool], timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.1)


def test_worker_killed_mid_job_the_job_is_picked_up_again_and_completes_once(
    client: TestClient, fast_settings: Settings, fake_site: FakeSite
) -> None:
    fiction = fake_site.add(royalroad.make_fiction(2101, 8))
    fake_site.slow["/fiction/2101/"] = 0.3
    job_id = client.post("/ingest", json={"url": fake_site.url(fiction)}).json()["job_id"]
    first = start_worker(fast_settings)
    try:
        wait_for(lambda: client.get(f"/jobs/{job_id}").json()["progress"]["done"] >= 2)
        # The worker and its work horse (RQ puts the horse in a session of its own), mid-job.
        horse = int(client.get(f"/jobs/{job_id}").json()["worker"].rpartition(":")[2])
        os.killpg(first.pid, signal.SIGKILL)
        os.kill(horse, signal.SIGKILL)
        first.wait()
        assert client.get(f"/jobs/{job_id}").json()["status"] == "crawling"

        second = start_worker(fast_settings)
        try:
            wait_for(lambda: client.get(f"/jobs/{job_id}").json()["status"] == "done", 90)
        finally:
            stop(second)
    finally:
        stop(first)
    job = client.get(f"/jobs/{job_id}").json()
    assert job["attempts"] == 2 and job["progress"]["total"] < 8  # resumed, not restarted
    rt = Runtime(fast_settings)
    with rt.sessions() as session:
        assert session.scalar(select(func.count(Chapter.id))) == 8
    rt.close()


def test_jobs_lost_with_redis_data_are_enqueued_again(
    client: TestClient, fast_settings: Settings, fake_site: FakeSite
) -> None:
    fictions = [fake_site.add(royalroad.make_fiction(2200 + i, 2)) for i in range(3)]
    ids = [
        client.post("/ingest", json={"url": fake_site.url(f)}).json()["job_id"] for f in fictions
    ]
    Redis.from_url(fast_settings.redis_url).flushdb()  # what FLUSHALL or a restart does

    result = run_cli(fast_settings, "reconcile", "--grace", "0")
    assert result.returncode == 0 and "3 requeued" in result.stdout, result.stdout
    assert run_cli(fast_settings, "worker", "--burst").returncode == 0
    assert [client.get(f"/jobs/{i}").json()["status"] for i in ids] == ["done"] * 3


def test_a_running_worker_requeues_lost_jobs_by_itself(
    client: TestClient, fast_settings: Settings, fake_site: FakeSite
) -> None:
    fiction = fake_site.add(royalroad.make_fiction(2301, 2))
    job_id = client.post("/ingest", json={"url": fake_site.url(fiction)}).json()["job_id"]
    time.sleep(1.2)  # past the reconciler's grace for fresh submissions
    Redis.from_url(fast_settings.redis_url).flushdb()
    worker = start_worker(fast_settings)
    try:
        wait_for(lambda: client.get(f"/jobs/{job_id}").json()["status"] == "done", 60)
    finally:
        stop(worker)


def test_cancel_a_queued_job_removes_it_from_the_queue(
    client: TestClient, fast_settings: Settings, fake_site: FakeSite
) -> None:
    fiction = fake_site.add(royalroad.make_fiction(2401, 2))
    job_id = client.post("/ingest", json={"url": fake_site.url(fiction)}).json()["job_id"]
    answer = client.post(f"/jobs/{job_id}/cancel")
    assert answer.status_code == 200 and answer.json()["status"] == "canceled"
    assert Redis.from_url(fast_settings.redis_url).llen("rq:queue:ingestion") == 0
    assert run_cli(fast_settings, "worker", "--burst").returncode == 0
    assert fake_site.hits == []
    again = client.post(f"/jobs/{job_id}/cancel")
    assert again.status_code == 409 and "already canceled" in again.json()["detail"]


def test_cancel_a_running_job_stops_at_a_chapter_and_keeps_what_it_has(
    client: TestClient, fast_settings: Settings, fake_site: FakeSite
) -> None:
    fiction = fake_site.add(royalroad.make_fiction(2501, 8))
    fake_site.slow["/fiction/2501/"] = 0.3
    job_id = client.post("/ingest", json={"url": fake_site.url(fiction)}).json()["job_id"]
    worker = start_worker(fast_settings, "--burst")
    try:
        wait_for(lambda: client.get(f"/jobs/{job_id}").json()["progress"]["done"] >= 1)
        assert client.post(f"/jobs/{job_id}/cancel").json()["cancel_requested"] is True
        assert worker.wait(timeout=60) == 0
    finally:
        stop(worker)
    job = client.get(f"/jobs/{job_id}").json()
    assert job["status"] == "canceled"
    slug = job["novel_slug"]
    kept = client.get(f"/novels/{slug}/chapters").json()["total"]
    assert 1 <= kept < 8 and job["progress"]["done"] == kept


def test_retry_failed_and_delete(
    client: TestClient, fast_settings: Settings, fake_site: FakeSite
) -> None:
    broken = [fake_site.add(royalroad.make_fiction(2600 + i, 1)) for i in range(2)]
    for fiction in broken:
        fake_site.failures[royalroad.fiction_path(fiction)] = 503
    ids = [client.post("/ingest", json={"url": fake_site.url(f)}).json()["job_id"] for f in broken]
    assert run_cli(fast_settings, "worker", "--burst").returncode == 0
    assert {client.get(f"/jobs/{i}").json()["status"] for i in ids} == {"failed"}

    fake_site.failures.clear()
    nothing = client.post("/jobs/retry-failed", params={"error": "no such text"})
    assert nothing.json() == {"job_ids": []}
    retried = client.post("/jobs/retry-failed", params={"error": "HTTP 503"})
    assert retried.status_code == 202 and sorted(retried.json()["job_ids"]) == ids
    assert client.delete(f"/jobs/{ids[0]}").status_code == 409  # queued again: still active
    assert run_cli(fast_settings, "worker", "--burst").returncode == 0
    assert {client.get(f"/jobs/{i}").json()["status"] for i in ids} == {"done"}

    assert client.delete(f"/jobs/{ids[0]}").status_code == 204
    assert client.get(f"/jobs/{ids[0]}").status_code == 404
    assert client.get("/novels").json()["total"] == 2  # the novel stays
