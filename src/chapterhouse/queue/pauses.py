"""Pause flags kept in Redis, so every worker on every machine sees them at once.

A paused queue keeps its jobs but no worker takes one (see `queue.gate`); a paused domain gets
no request from any worker (see `crawl.politeness`), and its jobs wait in RQ's scheduled
registry, listed in HELD_KEY so a resume can bring them back at once.
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime, timedelta

from redis import Redis
from redis.exceptions import RedisError
from rq import Queue
from rq.exceptions import NoSuchJobError
from rq.job import Job
from rq.job import JobStatus as RQStatus
from rq.registry import ScheduledJobRegistry

from chapterhouse.errors import QueueUnavailableError

log = logging.getLogger(__name__)

QUEUES_KEY = "chapterhouse:paused:queues"  # set of paused RQ queue names
DOMAINS_KEY = "chapterhouse:paused:domains"  # set of paused host[:port]s, as requests name them
HELD_KEY = "chapterhouse:paused:held"  # set of RQ job ids put aside because their domain is paused


def _text(values: set[bytes] | set[str]) -> list[str]:
    return sorted(v.decode() if isinstance(v, bytes) else v for v in values)


def pause_queue(redis: Redis, name: str) -> None:
    """No worker takes a job of queue `name` until it is resumed; queued jobs stay queued."""
    try:
        redis.sadd(QUEUES_KEY, name)
    except RedisError as exc:
        raise QueueUnavailableError(f"Redis does not answer, queue not paused: {exc}") from None


def resume_queue(redis: Redis, name: str) -> None:
    """Workers take jobs of queue `name` again."""
    try:
        redis.srem(QUEUES_KEY, name)
    except RedisError as exc:
        raise QueueUnavailableError(f"Redis does not answer, queue not resumed: {exc}") from None


def paused_queues(redis: Redis) -> set[str]:
    """Names of the paused queues."""
    return set(_text(redis.smembers(QUEUES_KEY)))  # type: ignore[arg-type]


def pause_domains(redis: Redis, domains: list[str]) -> None:
    """No request goes to these domains from any worker until they are resumed."""
    try:
        redis.sadd(DOMAINS_KEY, *domains)
    except RedisError as exc:
        raise QueueUnavailableError(f"Redis does not answer, nothing paused: {exc}") from None


def resume_domains(redis: Redis, domains: list[str]) -> None:
    """Requests to these domains may go again."""
    try:
        redis.srem(DOMAINS_KEY, *domains)
    except RedisError as exc:
        raise QueueUnavailableError(f"Redis does not answer, nothing resumed: {exc}") from None


def paused_domains(redis: Redis) -> list[str]:
    """The paused domains, sorted."""
    return _text(redis.smembers(DOMAINS_KEY))  # type: ignore[arg-type]


def hold_job(queue: Queue, job: Job, seconds: float) -> None:
    """Put a dequeued job aside for `seconds` (RQ's scheduler queues it again), remembering it."""
    at = datetime.now(UTC) + timedelta(seconds=seconds)
    with queue.connection.pipeline() as pipe:
        queue.schedule_job(job, at, pipeline=pipe)
        pipe.sadd(HELD_KEY, job.id)
        pipe.execute()


def release_held_jobs(queue: Queue) -> list[str]:
    """Queue every held job again now; a job whose domain is still paused is simply held again."""
    try:
        held = _text(queue.connection.smembers(HELD_KEY))  # type: ignore[arg-type]
        registry = ScheduledJobRegistry(queue=queue)  # type: ignore[no-untyped-call]
        released = []
        for job_id in held:
            queue.connection.srem(HELD_KEY, job_id)
            try:
                job = Job.fetch(job_id, connection=queue.connection)
            except NoSuchJobError:
                continue
            if job.get_status() != RQStatus.SCHEDULED:
                continue  # the scheduler already queued it, or it was canceled meanwhile
            registry.remove(job)
            queue.enqueue_job(job)
            released.append(job_id)
    except RedisError as exc:
        raise QueueUnavailableError(f"Redis does not answer: {exc}") from None
    if released:
        log.info("released %d held job(s): %s", len(released), ", ".join(released))
    return released
