"""Pause flags in Redis and where they are obeyed: the limiter, the queue class, held jobs."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from redis import Redis
from rq import Queue

from chapterhouse.config import Settings
from chapterhouse.crawl.politeness import DomainLimiter, Limit
from chapterhouse.queue.enqueue import PROBE_TASK
from chapterhouse.queue.gate import GatedQueue
from chapterhouse.queue.pauses import (
    hold_job,
    pause_domains,
    pause_queue,
    release_held_jobs,
    resume_domains,
    resume_queue,
)


@pytest.fixture
def redis(settings: Settings) -> Iterator[Redis]:
    client = Redis.from_url(settings.redis_url)
    yield client
    client.close()


def test_a_paused_domain_gets_no_slot_until_resumed(redis: Redis) -> None:
    limiter, limit = DomainLimiter(redis), Limit(interval=0, concurrency=1)
    pause_domains(redis, ["a.example"])
    assert limiter.try_acquire("a.example", limit, "t1")[1] == "paused"
    assert limiter.try_acquire("b.example", limit, "t2") == (0.0, "")  # others go on
    resume_domains(redis, ["a.example"])
    assert limiter.try_acquire("a.example", limit, "t3") == (0.0, "")


def test_a_paused_queue_hands_out_nothing_and_keeps_its_jobs(redis: Redis) -> None:
    ingestion, other = Queue("ingestion", connection=redis), Queue("other", connection=redis)
    first = ingestion.enqueue_call(PROBE_TASK, args=("a",), job_id="probe-a")
    second = other.enqueue_call(PROBE_TASK, args=("b",), job_id="probe-b")
    pause_queue(redis, "ingestion")

    taken = GatedQueue.dequeue_any([ingestion, other], None, connection=redis)
    assert taken is not None and taken[0].id == second.id  # the other queue is served
    assert GatedQueue.dequeue_any([ingestion, other], None, connection=redis) is None
    assert ingestion.job_ids == [first.id]

    resume_queue(redis, "ingestion")
    taken = GatedQueue.dequeue_any([ingestion, other], None, connection=redis)
    assert taken is not None and taken[0].id == first.id


def test_held_jobs_are_queued_again_by_a_release(redis: Redis) -> None:
    queue = Queue("ingestion", connection=redis)
    job = queue.enqueue_call(PROBE_TASK, args=("c",), job_id="probe-c")
    assert GatedQueue.dequeue_any([queue], None, connection=redis) is not None
    hold_job(queue, job, 600)
    assert queue.job_ids == [] and queue.scheduled_job_registry.get_job_ids() == [job.id]

    assert release_held_jobs(queue) == [job.id]
    assert queue.job_ids == [job.id] and queue.scheduled_job_registry.get_job_ids() == []
    assert release_held_jobs(queue) == []  # forgotten once released
