"""Submissions that arrive together (PostgreSQL's batched path) answer as if they came one by one:
one job per novel, the per-client cap and rate held exactly, every 202 recorded and queued."""

from __future__ import annotations

import asyncio
from collections import Counter
from typing import Any

import httpx
from redis import Redis
from sqlalchemy import select

from chapterhouse.api.app import create_app
from chapterhouse.config import Settings
from chapterhouse.db.models import IngestionJob, JobStatus
from chapterhouse.services import Runtime
from tests.api import QUEUE_KEY

BURST = 24


def fiction(n: int) -> dict[str, str]:
    return {"url": f"https://www.royalroad.com/fiction/{1000 + n}/burst"}


async def _burst(settings: Settings, bodies: list[dict[str, str]]) -> list[httpx.Response]:
    app = create_app(settings)
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
            return list(await asyncio.gather(*(client.post("/ingest", json=b) for b in bodies)))


def burst(settings: Settings, bodies: list[dict[str, str]]) -> list[httpx.Response]:
    """POST every body at once, on one app (one API process)."""
    return asyncio.run(_burst(settings, bodies))


def jobs(runtime: Runtime) -> list[IngestionJob]:
    with runtime.sessions() as session:
        return list(session.scalars(select(IngestionJob).order_by(IngestionJob.id)))


def test_a_burst_of_new_novels_is_recorded_and_queued_one_job_each(
    settings: Settings, runtime: Runtime
) -> None:
    answers = burst(settings, [fiction(n) for n in range(BURST)])

    assert [a.status_code for a in answers] == [202] * BURST
    bodies: list[dict[str, Any]] = [a.json() for a in answers]
    assert len({b["job_id"] for b in bodies}) == BURST
    assert {b["url"] for b in bodies} == {fiction(n)["url"] for n in range(BURST)}
    assert all(b["status"] == "queued" and b["created"] for b in bodies)
    stored = jobs(runtime)
    assert [j.id for j in stored] == sorted(b["job_id"] for b in bodies)
    assert all(j.rq_job_id == f"ingest-{j.id}" for j in stored)
    queued = Redis.from_url(settings.redis_url).lrange(QUEUE_KEY, 0, -1)
    assert sorted(q.decode() for q in queued) == sorted(f"ingest-{j.id}" for j in stored)


def test_the_same_novel_submitted_at_once_gets_one_job(
    settings: Settings, runtime: Runtime
) -> None:
    # The first request starts a batch alone; the rest arrive meanwhile and share the next.
    answers = burst(settings, [fiction(0)] + [fiction(1)] * (BURST - 1))

    first, *same = answers
    assert first.status_code == 202
    codes = Counter(a.status_code for a in same)
    assert codes == {202: 1, 200: BURST - 2}
    assert len({a.json()["job_id"] for a in same}) == 1
    assert sum(a.json()["created"] for a in same) == 1
    assert len(jobs(runtime)) == 2
    assert Redis.from_url(settings.redis_url).llen(QUEUE_KEY) == 2


def test_the_cap_on_active_jobs_holds_within_a_burst(settings: Settings, runtime: Runtime) -> None:
    capped = settings.model_copy(update={"max_active_jobs_per_client": 5})
    answers = burst(capped, [fiction(n) for n in range(BURST)])

    codes = Counter(a.status_code for a in answers)
    assert codes == {202: 5, 429: BURST - 5}
    refusal = next(a.json() for a in answers if a.status_code == 429)
    assert "too many active jobs" in refusal["detail"]
    assert refusal["setting"] == "CHAPTERHOUSE_MAX_ACTIVE_JOBS_PER_CLIENT"
    assert len(jobs(runtime)) == 5


def test_the_rate_holds_within_a_burst_and_refusals_leave_nothing(
    settings: Settings, runtime: Runtime
) -> None:
    limited = settings.model_copy(update={"ingest_rate_limit": 7})
    answers = burst(limited, [fiction(n) for n in range(BURST)])

    codes = Counter(a.status_code for a in answers)
    assert codes == {202: 7, 429: BURST - 7}
    assert all("Retry-After" in a.headers for a in answers if a.status_code == 429)
    assert len(jobs(runtime)) == 7


def test_redis_down_fails_the_whole_burst_with_503_and_records_why(
    settings: Settings, runtime: Runtime
) -> None:
    down = settings.model_copy(update={"redis_url": "redis://127.0.0.1:1/0"})
    answers = burst(down, [fiction(n) for n in range(6)])

    assert {a.status_code for a in answers} == {503}
    assert all("Redis" in a.json()["detail"] for a in answers)
    stored = jobs(runtime)
    assert len(stored) == 6
    assert {j.status for j in stored} == {JobStatus.FAILED}
    assert all(j.error and "Redis" in j.error for j in stored)
