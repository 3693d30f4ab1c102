"""Followed novels end to end: real workers run due checks against the fake site's RSS feed."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta

import pytest
from fastapi.testclient import TestClient
from redis import Redis
from sqlalchemy import func, select, update

from chapterhouse.api.app import create_app
from chapterhouse.config import Settings
from chapterhouse.db.models import Chapter, IngestionJob, Novel
from chapterhouse.queue.checks import enqueue_due_checks
from chapterhouse.services import Runtime
from tests.conftest import run_cli, settings_env
from tests.fakesite import royalroad
from tests.fakesite.server import FakeSite

pytestmark = pytest.mark.e2e


@pytest.fixture
def fast_settings(site_settings: Settings) -> Settings:
    """The workers' reconciler (and its due-checks pass) runs every second."""
    return site_settings.model_copy(update={"reconcile_interval": 1.0, "reconcile_grace": 1.0})


@pytest.fixture
def client(fast_settings: Settings) -> Iterator[TestClient]:
    with TestClient(create_app(fast_settings)) as client:
        yield client


@pytest.fixture
def rt(fast_settings: Settings) -> Iterator[Runtime]:
    runtime = Runtime(fast_settings)
    yield runtime
    runtime.close()


def burst_worker(settings: Settings) -> None:
    result = run_cli(settings, "worker", "--burst")
    assert result.returncode == 0, result.stderr[-2000:]


def ingest_and_follow(client: TestClient, settings: Settings, url: str) -> str:
    job = client.post("/ingest", json={"url": url}).json()
    burst_worker(settings)
    slug = client.get(f"/jobs/{job['job_id']}").json()["novel_slug"]
    response = client.post(f"/novels/{slug}/follow")
    assert response.status_code == 200, response.text
    return str(slug)


def make_due(rt: Runtime, slug: str) -> datetime:
    """Move the novel's planned check into the past, as time passing would."""
    past = datetime.now(UTC).replace(microsecond=0) - timedelta(seconds=2)
    with rt.sessions() as session:
        session.execute(update(Novel).where(Novel.slug == slug).values(next_check_at=past))
        session.commit()
    return past


def feed_and_pages(site: FakeSite) -> list[str]:
    """Paths the site served, robots.txt aside."""
    return [hit.path for hit in site.hits if hit.path != "/robots.txt"]


def count(rt: Runtime, model: type) -> int:
    with rt.sessions() as session:
        return int(session.scalar(select(func.count()).select_from(model)) or 0)


def wait_for(check: Callable[[], bool], timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.2)


def test_a_due_check_with_nothing_new_is_one_request_and_plans_the_next(
    client: TestClient, fast_settings: Settings, fake_site: FakeSite, rt: Runtime
) -> None:
    fiction = fake_site.add(royalroad.make_fiction(3101, 4))
    slug = ingest_and_follow(client, fast_settings, fake_site.url(fiction))
    due = make_due(rt, slug)
    assert enqueue_due_checks(rt)  # what the workers' reconciler does every interval
    fake_site.hits.clear()

    burst_worker(fast_settings)

    assert feed_and_pages(fake_site) == [royalroad.feed_path(fiction)]
    assert count(rt, IngestionJob) == 1  # the first ingest only
    state = client.get("/following").json()[0]
    assert state["last_checked_at"] and state["last_check_note"] == "no new chapters"
    assert datetime.fromisoformat(state["next_check_at"]) > datetime.now(UTC)
    assert datetime.fromisoformat(state["last_checked_at"]) > due
    feed_hit = next(h for h in fake_site.hits if h.path == royalroad.feed_path(fiction))
    assert "chapterhouse" in feed_hit.user_agent


def test_a_due_check_that_finds_new_chapters_stores_only_those(
    client: TestClient, fast_settings: Settings, fake_site: FakeSite, rt: Runtime
) -> None:
    fiction = fake_site.add(royalroad.make_fiction(3201, 4))
    slug = ingest_and_follow(client, fast_settings, fake_site.url(fiction))
    grown = fake_site.add(royalroad.make_fiction(3201, 6))
    make_due(rt, slug)
    enqueue_due_checks(rt)
    fake_site.hits.clear()

    burst_worker(fast_settings)  # runs the check, then the update job it queued

    new_pages = [royalroad.chapter_path(grown, c) for c in grown.chapters[4:]]
    assert feed_and_pages(fake_site) == [
        royalroad.feed_path(grown),
        royalroad.fiction_path(grown),
        *new_pages,
    ]
    assert count(rt, Chapter) == 6
    jobs = client.get("/jobs").json()["items"]
    assert len(jobs) == 2 and jobs[0]["status"] == "done" and jobs[0]["stats"]["new"] == 2
    note = client.get("/following").json()[0]["last_check_note"]
    assert note == f"2 new chapter(s): update job {jobs[0]['job_id']}"


def test_unfollowed_novels_are_not_checked(
    client: TestClient, fast_settings: Settings, fake_site: FakeSite, rt: Runtime
) -> None:
    fiction = fake_site.add(royalroad.make_fiction(3301, 3))
    slug = ingest_and_follow(client, fast_settings, fake_site.url(fiction))
    make_due(rt, slug)
    enqueue_due_checks(rt)  # queued, then the user changes their mind
    assert client.delete(f"/novels/{slug}/follow").status_code == 200
    fake_site.hits.clear()

    burst_worker(fast_settings)

    assert feed_and_pages(fake_site) == []
    assert enqueue_due_checks(rt) == []
    assert client.get(f"/novels/{slug}").json()["followed"] is False


def test_a_running_worker_requeues_due_checks_after_redis_is_flushed(
    client: TestClient, fast_settings: Settings, fake_site: FakeSite, rt: Runtime
) -> None:
    fiction = fake_site.add(royalroad.make_fiction(3401, 3))
    slug = ingest_and_follow(client, fast_settings, fake_site.url(fiction))
    make_due(rt, slug)
    Redis.from_url(fast_settings.redis_url).flushdb()  # the scheduled check is gone
    fake_site.hits.clear()

    worker = subprocess.Popen(
        [sys.executable, "-m", "chapterhouse", "worker"],
        env=settings_env(fast_settings),
        start_new_session=True,
    )
    try:
        wait_for(lambda: client.get("/following").json()[0]["last_checked_at"] is not None)
    finally:
        os.killpg(worker.pid, signal.SIGTERM)
        worker.wait(timeout=30)
    assert feed_and_pages(fake_site) == [royalroad.feed_path(fiction)]


def test_reconcile_command_queues_due_checks_redis_lost(
    client: TestClient, fast_settings: Settings, fake_site: FakeSite, rt: Runtime
) -> None:
    fiction = fake_site.add(royalroad.make_fiction(3501, 3))
    slug = ingest_and_follow(client, fast_settings, fake_site.url(fiction))
    make_due(rt, slug)
    Redis.from_url(fast_settings.redis_url).flushdb()

    result = run_cli(fast_settings, "reconcile")
    assert result.returncode == 0, result.stderr
    assert "1 due follow check(s) queued again" in result.stdout
    again = run_cli(fast_settings, "reconcile")
    assert "follow check" not in again.stdout  # already waiting: not queued twice
    fake_site.hits.clear()
    burst_worker(fast_settings)
    assert feed_and_pages(fake_site) == [royalroad.feed_path(fiction)]


def test_a_feed_that_fails_is_noted_and_the_next_check_still_planned(
    client: TestClient, fast_settings: Settings, fake_site: FakeSite, rt: Runtime
) -> None:
    fiction = fake_site.add(royalroad.make_fiction(3601, 3))
    slug = ingest_and_follow(client, fast_settings, fake_site.url(fiction))
    fake_site.failures[royalroad.feed_path(fiction)] = 500
    make_due(rt, slug)
    enqueue_due_checks(rt)

    burst_worker(fast_settings)

    state = client.get("/following").json()[0]
    assert state["last_check_note"].startswith("feed not read: GET ")
    assert "HTTP 500" in state["last_check_note"]
    assert datetime.fromisoformat(state["next_check_at"]) > datetime.now(UTC)
    assert count(rt, IngestionJob) == 1  # no update queued on a failed feed
