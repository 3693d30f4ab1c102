"""Putting jobs on the `ingestion` queue: ids, timeouts and retries decided in one place."""

from __future__ import annotations

from redis import Redis
from redis.exceptions import RedisError
from rq import Queue, Retry

from chapterhouse.config import Settings
from chapterhouse.errors import QueueUnavailableError

# A dotted path, so the API never imports the crawler (and so never imports Scrapy).
INGEST_TASK = "chapterhouse.queue.tasks.process_job"
PROBE_TASK = "chapterhouse.queue.tasks.probe"


def make_queue(settings: Settings, redis: Redis) -> Queue:
    """The ingestion queue on this connection."""
    return Queue(settings.queue_name, connection=redis)


def rq_job_id(job_id: int) -> str:
    """Deterministic RQ id of an ingestion job, so a job is never queued twice."""
    return f"ingest-{job_id}"


def enqueue_ingest(queue: Queue, job_id: int, settings: Settings) -> None:
    """Queue the crawl of a recorded job; only its id travels."""
    enqueue_ingests(queue, [job_id], settings)


def enqueue_ingests(queue: Queue, job_ids: list[int], settings: Settings) -> None:
    """Queue the crawls of recorded jobs in one Redis round trip (the API batches a burst)."""
    jobs = [
        Queue.prepare_data(
            INGEST_TASK,
            args=(job_id,),
            job_id=rq_job_id(job_id),
            timeout=settings.job_timeout,
            result_ttl=3600,
            failure_ttl=7 * 24 * 3600,
            # Failures outside the crawl (a lost database, a killed horse) are retried.
            retry=Retry(max=2, interval=[10, 60]),
            description=f"ingest job {job_id}",
        )
        for job_id in job_ids
    ]
    try:
        queue.enqueue_many(jobs)
    except RedisError as exc:
        raise QueueUnavailableError(f"Redis does not answer, job not queued: {exc}") from None


def forget_rq_job(queue: Queue, job_id: int) -> None:
    """Drop RQ's record of an earlier run, so the job id can be queued afresh."""
    from rq.exceptions import NoSuchJobError
    from rq.job import Job

    try:
        Job.fetch(rq_job_id(job_id), connection=queue.connection).delete()
    except NoSuchJobError:
        pass
    except RedisError as exc:
        raise QueueUnavailableError(f"Redis does not answer: {exc}") from None


def enqueue_probe(queue: Queue, token: str) -> str:
    """Queue a no-op job that a worker answers; `doctor` uses it to prove workers run."""
    try:
        job = queue.enqueue_call(
            PROBE_TASK, args=(token,), job_id=f"probe-{token}", result_ttl=60, ttl=60
        )
    except RedisError as exc:
        raise QueueUnavailableError(f"Redis does not answer: {exc}") from None
    return job.id
