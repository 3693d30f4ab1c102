"""A worker whose PostgreSQL database goes away mid-job: the job is retried and ends done, once."""

from __future__ import annotations

import time
from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient
from redis import Redis
from sqlalchemy import func, select

from chapterhouse.api.app import create_app
from chapterhouse.config import Settings
from chapterhouse.db.models import Chapter
from chapterhouse.services import Runtime
from tests.e2e.test_faults import start_worker, stop, wait_for
from tests.fakesite import royalroad
from tests.fakesite.server import FakeSite
from tests.pgoutage import database_down

pytestmark = pytest.mark.e2e


@pytest.fixture
def outage_settings(site_settings: Settings) -> Settings:
    """The reconciler runs every second, so it meets the outage too."""
    return site_settings.model_copy(
        update={"reconcile_interval": 1.0, "reconcile_grace": 1.0, "heartbeat_interval": 0.5}
    )


@pytest.fixture
def client(outage_settings: Settings) -> Iterator[TestClient]:
    with TestClient(create_app(outage_settings)) as client:
        yield client


def test_database_lost_mid_job_the_job_is_retried_and_ends_done_without_duplicates(
    client: TestClient, outage_settings: Settings, fake_site: FakeSite
) -> None:
    fiction = fake_site.add(royalroad.make_fiction(5601, 8))
    fake_site.slow["/fiction/5601/"] = 0.4
    job_id = client.post("/ingest", json={"url": fake_site.url(fiction)}).json()["job_id"]
    worker = start_worker(outage_settings)
    try:
        wait_for(lambda: client.get(f"/jobs/{job_id}").json()["progress"]["done"] >= 2)
        with database_down(outage_settings.database_url or ""):
            time.sleep(4)  # the crawl, its heartbeat and the reconciler all meet the outage
            assert worker.poll() is None  # the worker process rides it out
        # RQ retries the failed attempt 10 s after it failed; the database is back by then.
        wait_for(lambda: client.get(f"/jobs/{job_id}").json()["status"] == "done", 90)
        assert worker.poll() is None
    finally:
        stop(worker)
    job = client.get(f"/jobs/{job_id}").json()
    assert job["attempts"] >= 2 and job["error"] is None, job
    assert job["progress"]["total"] < 8  # the retry fetched only what the first had not stored
    rt = Runtime(outage_settings)
    with rt.sessions() as session:
        numbers = session.scalars(select(Chapter.number)).all()
        assert session.scalar(select(func.count(Chapter.id))) == 8
    rt.close()
    assert sorted(numbers) == list(range(1, 9))  # every chapter, each once


def test_a_worker_started_during_an_outage_waits_it_out_and_its_reconciler_recovers_the_job(
    client: TestClient, outage_settings: Settings, fake_site: FakeSite
) -> None:
    fiction = fake_site.add(royalroad.make_fiction(5701, 2))
    job_id = client.post("/ingest", json={"url": fake_site.url(fiction)}).json()["job_id"]
    time.sleep(1.2)  # past the reconciler's grace for fresh submissions
    Redis.from_url(outage_settings.redis_url).flushdb()  # the job now lives in the database only
    worker = None
    try:
        with database_down(outage_settings.database_url or ""):
            worker = start_worker(outage_settings)
            time.sleep(4)  # several reconciler passes, each meeting the outage
            assert worker.poll() is None
        wait_for(lambda: client.get(f"/jobs/{job_id}").json()["status"] == "done", 60)
    finally:
        if worker is not None:
            stop(worker)
    assert fake_site.hits  # fetched once the database was back
