"""Stopping and recycling real workers: SIGTERM and its grace period, --max-jobs, --max-memory."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient
from redis import Redis
from rq import Queue
from sqlalchemy import func, select

from chapterhouse.api.app import create_app
from chapterhouse.config import Settings
from chapterhouse.db.models import Chapter
from chapterhouse.services import Runtime
from tests.conftest import settings_env
from tests.e2e.test_faults import stop, wait_for
from tests.fakesite import royalroad
from tests.fakesite.server import FakeSite

pytestmark = pytest.mark.e2e


@pytest.fixture
def site_settings(site_settings: Settings) -> Settings:
    """A request a stopped work horse had in flight frees its politeness slot after ~2 s."""
    return site_settings.model_copy(update={"request_timeout": 2.0})


@pytest.fixture
def client(site_settings: Settings) -> Iterator[TestClient]:
    with TestClient(create_app(site_settings)) as client:
        yield client


def start_worker(settings: Settings, *extra: str) -> subprocess.Popen[bytes]:
    # A session of its own, so `stop` can take down the worker and its scheduler together.
    return subprocess.Popen(
        [sys.executable, "-m", "chapterhouse", "worker", *extra],
        env=settings_env(settings),
        start_new_session=True,
    )


def chapters_stored(settings: Settings) -> int:
    rt = Runtime(settings)
    with rt.sessions() as session:
        count = session.scalar(select(func.count(Chapter.id))) or 0
    rt.close()
    return count


def submit_slow_novel(
    client: TestClient, fake_site: FakeSite, fiction_id: int, chapters: int = 8
) -> int:
    fiction = fake_site.add(royalroad.make_fiction(fiction_id, chapters))
    fake_site.slow[f"/fiction/{fiction_id}/"] = 0.4  # ~0.4 s per chapter: a job worth stopping
    return int(client.post("/ingest", json={"url": fake_site.url(fiction)}).json()["job_id"])


def test_sigterm_past_the_grace_requeues_the_job_and_another_worker_finishes_it(
    client: TestClient, site_settings: Settings, fake_site: FakeSite
) -> None:
    settings = site_settings.model_copy(update={"shutdown_grace": 1.0})
    # Long enough (~8 s) that a loaded machine cannot finish it within the grace.
    job_id = submit_slow_novel(client, fake_site, 5101, chapters=20)
    first = start_worker(settings)
    try:
        wait_for(lambda: client.get(f"/jobs/{job_id}").json()["progress"]["done"] >= 2)
        first.send_signal(signal.SIGTERM)  # the worker only, as systemd's KillMode=mixed does
        assert first.wait(timeout=60) == 0
    finally:
        stop(first)
    job = client.get(f"/jobs/{job_id}").json()
    assert job["status"] == "queued" and "shut down" in job["note"], job
    assert job["attempts"] == 0  # cut short, not counted
    kept = chapters_stored(settings)
    assert 2 <= kept < 20
    queue = Queue(settings.queue_name, connection=Redis.from_url(settings.redis_url))
    assert queue.job_ids == [f"ingest-{job_id}"] and queue.failed_job_registry.count == 0

    second = start_worker(settings, "--burst")
    try:
        assert second.wait(timeout=90) == 0
    finally:
        stop(second)
    job = client.get(f"/jobs/{job_id}").json()
    assert job["status"] == "done" and job["attempts"] == 1, job
    assert job["progress"]["total"] <= 20 - kept  # continued from what was stored
    assert chapters_stored(settings) == 20  # each chapter once


def test_sigterm_within_the_grace_lets_the_job_finish_then_exits_0(
    client: TestClient, site_settings: Settings, fake_site: FakeSite
) -> None:
    settings = site_settings.model_copy(update={"shutdown_grace": 60.0})
    job_id = submit_slow_novel(client, fake_site, 5201)
    worker = start_worker(settings)
    try:
        wait_for(lambda: client.get(f"/jobs/{job_id}").json()["progress"]["done"] >= 1)
        horse = int(client.get(f"/jobs/{job_id}").json()["worker"].rpartition(":")[2])
        # The worker and its work horse, as systemd's default KillMode=control-group does.
        worker.send_signal(signal.SIGTERM)
        os.kill(horse, signal.SIGTERM)
        assert worker.wait(timeout=60) == 0
    finally:
        stop(worker)
    job = client.get(f"/jobs/{job_id}").json()
    assert job["status"] == "done" and job["attempts"] == 1, job
    assert chapters_stored(settings) == 8


def test_a_second_sigterm_ends_the_grace_at_once_and_requeues_the_job(
    client: TestClient, site_settings: Settings, fake_site: FakeSite
) -> None:
    settings = site_settings.model_copy(update={"shutdown_grace": 600.0})
    job_id = submit_slow_novel(client, fake_site, 5251)
    fake_site.slow["/fiction/5251/"] = 1.0  # the job would outlast the test without the 2nd signal
    worker = start_worker(settings)
    try:
        wait_for(lambda: client.get(f"/jobs/{job_id}").json()["progress"]["done"] >= 1)
        worker.send_signal(signal.SIGTERM)
        time.sleep(1.5)  # RQ takes a repeat within a second for the same signal
        worker.send_signal(signal.SIGTERM)
        assert worker.wait(timeout=30) == 0
    finally:
        stop(worker)
    job = client.get(f"/jobs/{job_id}").json()
    assert job["status"] == "queued" and "shut down" in job["note"], job
    assert job["progress"]["done"] < 8


def test_sigterm_to_several_workers_is_passed_on_and_the_job_is_requeued(
    client: TestClient, site_settings: Settings, fake_site: FakeSite
) -> None:
    settings = site_settings.model_copy(update={"shutdown_grace": 1.0})
    job_id = submit_slow_novel(client, fake_site, 5301)
    workers = start_worker(settings, "--workers", "2")
    try:
        # Two workers starting at once on a busy machine can take a while.
        wait_for(lambda: client.get(f"/jobs/{job_id}").json()["progress"]["done"] >= 1, 90)
        workers.send_signal(signal.SIGTERM)
        assert workers.wait(timeout=60) == 0
    finally:
        stop(workers)
    job = client.get(f"/jobs/{job_id}").json()
    assert job["status"] == "queued" and "shut down" in job["note"], job


@pytest.mark.parametrize("recycle", [["--max-jobs", "1"], ["--max-memory", "1"]])
def test_a_recycled_worker_exits_0_after_one_job_and_leaves_the_next_queued(
    client: TestClient, site_settings: Settings, fake_site: FakeSite, recycle: list[str]
) -> None:
    fictions = [fake_site.add(royalroad.make_fiction(5400 + i, 1)) for i in range(2)]
    ids = [
        client.post("/ingest", json={"url": fake_site.url(f)}).json()["job_id"] for f in fictions
    ]
    worker = start_worker(site_settings, *recycle)  # not --burst: only the limit stops it
    try:
        assert worker.wait(timeout=60) == 0
    finally:
        stop(worker)
    assert [client.get(f"/jobs/{i}").json()["status"] for i in ids] == ["done", "queued"]
    queue = Queue(site_settings.queue_name, connection=Redis.from_url(site_settings.redis_url))
    assert queue.job_ids == [f"ingest-{ids[1]}"]


def test_max_memory_above_the_worker_size_keeps_it_serving(
    client: TestClient, site_settings: Settings, fake_site: FakeSite
) -> None:
    fictions = [fake_site.add(royalroad.make_fiction(5500 + i, 1)) for i in range(2)]
    ids = [
        client.post("/ingest", json={"url": fake_site.url(f)}).json()["job_id"] for f in fictions
    ]
    worker = start_worker(site_settings, "--burst", "--max-memory", "100000")
    try:
        assert worker.wait(timeout=60) == 0
    finally:
        stop(worker)
    assert [client.get(f"/jobs/{i}").json()["status"] for i in ids] == ["done", "done"]
