"""Following novels through the API: the planned check, its RQ job, unfollowing, errors."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest
from redis import Redis
from rq import Queue
from rq.registry import ScheduledJobRegistry
from sqlalchemy import update

from chapterhouse.config import Settings
from chapterhouse.db.models import Novel
from chapterhouse.queue.checks import enqueue_due_checks
from chapterhouse.services import Runtime
from tests.api import TestClient, api_client
from tests.factories import make_chapter, make_novel

HOUR = 3600


@pytest.fixture
def client(any_settings: Settings, any_runtime: Runtime) -> Iterator[TestClient]:
    """A daily novel (twelve chapters a day apart, the last yesterday) and a weekly one."""
    now = datetime.now(UTC)
    with any_runtime.sessions() as session:
        for slug, every in (("daily-tale", timedelta(days=1)), ("weekly-tale", timedelta(days=7))):
            novel = make_novel(session, slug)
            for number in range(1, 13):
                published = now - timedelta(hours=20) - every * (12 - number)
                make_chapter(session, novel, number, published_at=published)
        session.commit()
    with api_client(any_settings) as client:
        yield client


def scheduled(settings: Settings) -> dict[str, datetime]:
    """RQ's scheduled checks: job id -> the time the scheduler will queue it."""
    redis = Redis.from_url(settings.redis_url)
    registry = ScheduledJobRegistry(queue=Queue(settings.queue_name, connection=redis))
    jobs = {job_id: registry.get_scheduled_time(job_id) for job_id in registry.get_job_ids()}
    redis.close()
    return jobs


def at(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


def test_follow_plans_a_check_from_the_rhythm_and_schedules_it(
    client: TestClient, any_settings: Settings
) -> None:
    before = datetime.now(UTC)
    response = client.post("/novels/daily-tale/follow")
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["followed"] is True and body["followed_at"]
    assert body["check_interval"] == HOUR  # a daily novel: about hourly
    due = at(body["next_check_at"])
    assert before + timedelta(seconds=HOUR - 1) <= due <= before + timedelta(seconds=1.2 * HOUR)

    novel = client.get("/novels/daily-tale").json()
    assert novel["followed"] is True and at(novel["next_check_at"]) == due
    weekly = client.post("/novels/weekly-tale/follow").json()
    assert weekly["check_interval"] == 7 * HOUR

    jobs = scheduled(any_settings)
    assert len(jobs) == 2
    novel_id = next(job_id for job_id in jobs if at(body["next_check_at"]) == jobs[job_id])
    assert novel_id.startswith("check-")


def test_following_twice_keeps_one_planned_check(
    client: TestClient, any_settings: Settings
) -> None:
    first = client.post("/novels/daily-tale/follow").json()
    second = client.post("/novels/daily-tale/follow").json()
    assert second["next_check_at"] == first["next_check_at"]
    assert len(scheduled(any_settings)) == 1


def test_unfollow_drops_the_planned_check(client: TestClient, any_settings: Settings) -> None:
    client.post("/novels/daily-tale/follow")
    client.post("/novels/weekly-tale/follow")

    response = client.delete("/novels/daily-tale/follow")

    assert response.status_code == 200, response.text
    assert response.json()["followed"] is False and response.json()["next_check_at"] is None
    assert client.get("/novels/daily-tale").json()["followed"] is False
    assert [n["slug"] for n in client.get("/following").json()] == ["weekly-tale"]
    assert len(scheduled(any_settings)) == 1


def test_following_lists_the_next_check_first(client: TestClient) -> None:
    client.post("/novels/weekly-tale/follow")
    client.post("/novels/daily-tale/follow")
    listing = client.get("/following").json()
    assert [n["slug"] for n in listing] == ["daily-tale", "weekly-tale"]
    assert listing[0]["last_checked_at"] is None


@pytest.mark.parametrize("method", ["post", "delete"])
def test_unknown_novel_is_a_404_with_a_detail(client: TestClient, method: str) -> None:
    response = client.request(method.upper(), "/novels/no-such-tale/follow")
    assert response.status_code == 404
    assert response.json() == {"detail": "no novel has slug 'no-such-tale'"}


def test_due_checks_lost_with_redis_are_enqueued_again_exactly_once(
    client: TestClient, any_settings: Settings, any_runtime: Runtime
) -> None:
    client.post("/novels/daily-tale/follow")
    client.post("/novels/weekly-tale/follow")
    past = datetime.now(UTC).replace(microsecond=0) - timedelta(minutes=5)
    with any_runtime.sessions() as session:
        session.execute(update(Novel).where(Novel.slug == "daily-tale").values(next_check_at=past))
        session.commit()
        daily_id = session.query(Novel.id).filter(Novel.slug == "daily-tale").scalar()
    Redis.from_url(any_settings.redis_url).flushdb()  # what a Redis restart without AOF does

    assert enqueue_due_checks(any_runtime) == [daily_id]
    assert enqueue_due_checks(any_runtime) == []  # the second pass finds it waiting

    jobs = scheduled(any_settings)
    assert list(jobs) == [f"check-{daily_id}-{int(past.timestamp())}"]  # not-due one: later


def test_follow_without_redis_is_kept_and_checked_once_redis_is_back(
    any_settings: Settings, any_runtime: Runtime
) -> None:
    with any_runtime.sessions() as session:
        make_novel(session, "quiet-tale")
        session.commit()
    down = any_settings.model_copy(update={"redis_url": "redis://127.0.0.1:1/0"})
    with api_client(down) as client:
        response = client.post("/novels/quiet-tale/follow")
    assert response.status_code == 200, response.text
    assert response.json()["check_interval"] == 6 * HOUR  # too few chapters: the default
    assert scheduled(any_settings) == {}

    # Once due, the reconciler's pass (Redis answering again) queues the check.
    past = datetime.now(UTC) - timedelta(seconds=1)
    with any_runtime.sessions() as session:
        session.execute(update(Novel).values(next_check_at=past))
        session.commit()
    assert len(enqueue_due_checks(any_runtime)) == 1
    assert len(scheduled(any_settings)) == 1
