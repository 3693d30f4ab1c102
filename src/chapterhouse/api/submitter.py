"""`POST /ingest` on PostgreSQL: a burst of submissions shares three round trips.

Submissions that arrive together are handled as one batch (`chapterhouse.batcher`): their
rates counted by one Redis script, their jobs recorded by one SQL statement, and the new jobs
queued by one RQ `enqueue_many` (a pipeline, on a thread, as RQ's client is synchronous). Each
answer is what the ORM path (`services.submit_ingest`, which SQLite keeps using) would give
them one after another, and a 202 goes out only once its job's row is committed and its RQ job
is on the queue.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any

import asyncpg
from redis.exceptions import RedisError
from starlette.concurrency import run_in_threadpool

from chapterhouse.batcher import Batcher
from chapterhouse.db.aio import connection
from chapterhouse.db.submit import Submission, mark_failed, record_submissions
from chapterhouse.errors import LimitExceededError, QueueUnavailableError
from chapterhouse.limits import active_jobs_exceeded, ingest_rate_exceeded, take_many
from chapterhouse.queue.connection import make_async_redis
from chapterhouse.queue.enqueue import enqueue_ingests
from chapterhouse.services import Runtime

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class Submitted:
    """The job a submission led to (its columns and `novel_slug`); `created` as in SubmitResult."""

    job: dict[str, Any]
    created: bool


Answer = Submitted | Exception


class Submitter:
    """Submissions on the app's asyncpg pool and an asyncio Redis client, batched."""

    def __init__(self, runtime: Runtime, pool: asyncpg.Pool) -> None:
        self._rt = runtime
        self._pool = pool
        self._redis = make_async_redis(runtime.settings)
        self._batches: Batcher[Submission, Submitted] = Batcher(self._handle, max_size=128)

    async def submit(self, url: str, client: str) -> Submitted:
        """Record and queue a job for the novel behind `url`, or return its active job.

        InvalidUrlError or UnsupportedSiteError (422) for a URL no site takes,
        LimitExceededError (429) over the client's rate or cap, QueueUnavailableError (503)
        when Redis does not answer (the job is then recorded as failed).
        """
        site, ref = self._rt.registry.resolve(url)
        return await self._batches(Submission(site.name, ref, client))

    async def close(self) -> None:
        """Release the Redis connections."""
        await self._redis.aclose()

    async def _handle(self, batch: list[Submission]) -> list[Answer]:
        answers: list[Answer | None] = list(await self._over_rate(batch))
        pending = [i for i, answer in enumerate(answers) if answer is None]
        cap = self._rt.settings.max_active_jobs_per_client
        async with connection(self._pool) as conn:
            recorded = await record_submissions(conn, [batch[i] for i in pending], cap=cap)
        created: list[int] = []
        for i, outcome in zip(pending, recorded, strict=True):
            if outcome.outcome == "capped":
                answers[i] = active_jobs_exceeded(outcome.job["active"], cap)
            else:
                answers[i] = Submitted(outcome.job, created=outcome.outcome == "created")
                if outcome.outcome == "created":
                    created.append(i)
        if created:
            await self._enqueue(answers, created)
        final: list[Answer] = []
        for answer in answers:
            assert answer is not None  # each one was refused, recorded or found active
            final.append(answer)
        return final

    async def _over_rate(self, batch: list[Submission]) -> list[LimitExceededError | None]:
        # Counted before anything is recorded: a refused submission leaves no job behind.
        settings = self._rt.settings
        limit, window = settings.ingest_rate_limit, settings.ingest_rate_window
        if limit <= 0:
            return [None] * len(batch)
        clients = [submission.client or "" for submission in batch]
        try:
            waits = await take_many(self._redis, "ingest", clients, limit=limit, window=window)
        except RedisError as exc:
            # Nothing can be queued anyway: the submissions go on, and fail there.
            log.warning("ingest rates not counted: Redis does not answer: %s", exc)
            return [None] * len(batch)
        return [
            None if wait is None else ingest_rate_exceeded(wait, limit, window) for wait in waits
        ]

    async def _enqueue(self, answers: list[Answer | None], created: list[int]) -> None:
        jobs = [answers[i] for i in created]
        ids = [job.job["id"] for job in jobs if isinstance(job, Submitted)]
        try:
            await run_in_threadpool(enqueue_ingests, self._rt.queue, ids, self._rt.settings)
        except QueueUnavailableError as exc:
            async with connection(self._pool) as conn:
                await mark_failed(conn, ids, exc.message)
            for i in created:
                answers[i] = exc
