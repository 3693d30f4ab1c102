"""Use cases shared by the API and the CLI: the only code that touches both database and queue."""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass
from functools import cached_property
from typing import TYPE_CHECKING

from redis.exceptions import RedisError
from sqlalchemy import Engine, select, text, update
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session, sessionmaker

from chapterhouse.config import Settings, redact
from chapterhouse.crawl.registry import SiteRegistry
from chapterhouse.db import jobs as job_queries
from chapterhouse.db.engine import make_engine, make_session_factory
from chapterhouse.db.locks import lock_submissions
from chapterhouse.db.models import IngestionJob, JobStatus, Novel, utcnow
from chapterhouse.errors import (
    ConflictError,
    DatabaseUnavailableError,
    DrainTimeoutError,
    QueueUnavailableError,
)

if TYPE_CHECKING:
    from collections.abc import AsyncIterator, Iterator

    from redis import Redis
    from rq import Queue

    from chapterhouse.job_events import JobEvent
    from chapterhouse.queue.reconcile import ReconcileReport
    from chapterhouse.queue.status import QueueStatus

log = logging.getLogger(__name__)


class Runtime:
    """The connections one process works with, made from Settings and passed around."""

    def __init__(self, settings: Settings, engine: Engine | None = None) -> None:
        self.settings = settings
        self.engine = engine or make_engine(settings)
        self.sessions: sessionmaker[Session] = make_session_factory(self.engine)
        self.registry = SiteRegistry(settings.extra_site_hosts, settings.max_url_length)

    @cached_property
    def redis(self) -> Redis:
        """A Redis client for the configured URL; connecting happens on first use."""
        from chapterhouse.queue.connection import make_redis

        return make_redis(self.settings)

    @cached_property
    def queue(self) -> Queue:
        """The RQ queue ingestion jobs go to."""
        from chapterhouse.queue.enqueue import make_queue

        return make_queue(self.settings, self.redis)

    def close(self) -> None:
        """Release pooled connections."""
        if "redis" in self.__dict__:
            self.redis.close()
        self.engine.dispose()


def make_runtime(settings: Settings) -> Runtime:
    """Connections for this process."""
    return Runtime(settings)


@dataclass(frozen=True, slots=True)
class SubmitResult:
    """The job a submission led to; `created` is False when an active job already existed."""

    job: IngestionJob
    created: bool


def submit_ingest(
    rt: Runtime, url: str, *, enqueue: bool = True, client: str | None = None
) -> SubmitResult:
    """Record an ingestion job for the novel behind `url` and queue it (or return the active one).

    With `enqueue=False` the job is only recorded, for `chapterhouse ingest --now` to run inline.
    A `client` (API submissions) is recorded on the job and held to its cap on active jobs.
    """
    site, ref = rt.registry.resolve(url)
    with rt.sessions() as session:
        # To the first commit: one job per novel, and the client's cap (when there is one).
        capped = client if rt.settings.max_active_jobs_per_client > 0 else None
        lock_submissions(session, ref.key, capped)
        active = job_queries.find_active_job(session, ref.key)
        if active is not None:
            return SubmitResult(active, created=False)
        if client is not None:
            from chapterhouse.limits import active_jobs_exceeded

            cap = rt.settings.max_active_jobs_per_client
            refusal = active_jobs_exceeded(job_queries.count_active_jobs(session, client), cap)
            if refusal is not None:
                raise refusal
        novel_id = (
            session.scalar(
                select(Novel.id).where(
                    Novel.site == ref.site, Novel.site_novel_id == ref.site_novel_id
                )
            )
            if ref.kind == "novel"  # a series is no novel: its id may be a novel's too
            else None
        )
        job = IngestionJob(
            url=ref.url,
            site=site.name,
            novel_key=ref.key,
            novel_id=novel_id,
            status=JobStatus.QUEUED,
            client=client,
        )
        session.add(job)
        session.commit()
        job.rq_job_id = f"ingest-{job.id}"
        session.commit()
    if enqueue:
        enqueue_job(rt, job)
    return SubmitResult(job, created=True)


def check_ingest_rate(rt: Runtime, client: str) -> None:
    """Count a submission of `client` in Redis; LimitExceededError when over the rate.

    With Redis down nothing can be queued anyway: the submission goes on, and fails there.
    """
    from chapterhouse.limits import check_ingest_rate as check

    limit, window = rt.settings.ingest_rate_limit, rt.settings.ingest_rate_window
    try:
        check(rt.redis, client, limit=limit, window=window)
    except RedisError as exc:
        log.warning("ingest rate of %s not counted: Redis does not answer: %s", client, exc)


def enqueue_job(rt: Runtime, job: IngestionJob) -> None:
    """Put a recorded job on the RQ queue; a job that cannot be queued is marked failed."""
    from chapterhouse.queue.enqueue import enqueue_ingest

    try:
        enqueue_ingest(rt.queue, job.id, rt.settings)
    except QueueUnavailableError as exc:
        with rt.sessions() as session:
            job_queries.set_job(
                session, job.id, status=JobStatus.FAILED, error=exc.message, finished_at=utcnow()
            )
        raise


def retry_job(rt: Runtime, job_id: int) -> SubmitResult:
    """Queue an ended job again; the crawl then fetches only what is missing or changed."""
    with rt.sessions() as session:
        job = job_queries.get_job(session, job_id)
        if job.status in JobStatus.ACTIVE:
            raise ConflictError(f"job {job_id} is {job.status}; only ended jobs can be retried")
        lock_submissions(session, job.novel_key, None)
        active = job_queries.find_active_job(session, job.novel_key)
        if active is not None:
            return SubmitResult(active, created=False)
        job_queries.set_job(
            session,
            job_id,
            status=JobStatus.QUEUED,
            error=None,
            note=None,
            failed_chapters=[],
            chapters_done=0,
            chapters_total=None,
            finished_at=None,
        )
        job = job_queries.get_job(session, job_id)
    from chapterhouse.queue.enqueue import forget_rq_job

    forget_rq_job(rt.queue, job_id)
    enqueue_job(rt, job)
    return SubmitResult(job, created=True)


def cancel_job(rt: Runtime, job_id: int) -> IngestionJob:
    """Cancel a job: a queued one at once, a running one at its next chapter (keeping them)."""
    with rt.sessions() as session:
        job = job_queries.get_job(session, job_id)
        if job.status in JobStatus.ENDED:
            raise ConflictError(f"job {job_id} is already {job.status}")
        was_queued = job.status == JobStatus.QUEUED
        if was_queued:
            job_queries.set_job(
                session, job_id, status=JobStatus.CANCELED, finished_at=utcnow(), note=None
            )
        else:
            job_queries.set_job(session, job_id, cancel_requested=True, note="cancel requested")
    if was_queued:
        from chapterhouse.queue.enqueue import forget_rq_job

        forget_rq_job(rt.queue, job_id)
    return get_job(rt, job_id)


def delete_job(rt: Runtime, job_id: int) -> None:
    """Delete an ended job's record (the novel and its chapters stay)."""
    with rt.sessions() as session:
        job = job_queries.get_job(session, job_id)
        if job.status in JobStatus.ACTIVE:
            raise ConflictError(f"job {job_id} is {job.status}; cancel it before deleting it")
        session.delete(job)
        session.commit()
    from chapterhouse.queue.enqueue import forget_rq_job

    forget_rq_job(rt.queue, job_id)


def retry_failed(
    rt: Runtime, *, site: str | None = None, error_contains: str | None = None
) -> list[int]:
    """Retry every failed or partial job, optionally of one site or with some error text."""
    with rt.sessions() as session:
        ids = job_queries.failed_job_ids(session, site=site, error_contains=error_contains)
    retried = []
    for job_id in ids:
        result = retry_job(rt, job_id)
        if result.created:
            retried.append(job_id)
    return retried


def reconcile(rt: Runtime, *, grace: float = 10.0) -> ReconcileReport:
    """Requeue active jobs that Redis lost or whose worker died."""
    from chapterhouse.queue.reconcile import reconcile as run

    return run(rt, grace=grace)


def reclean(rt: Runtime, *, novel_slug: str | None = None, everything: bool = False) -> int:
    """Re-clean stored chapters from their raw HTML after the cleaning rules change; no fetching."""
    from chapterhouse.db.store import reclean_chapters

    with rt.sessions() as session:
        return reclean_chapters(session, novel_slug=novel_slug, everything=everything)


def follow_novel(rt: Runtime, slug: str) -> Novel:
    """Follow a stored novel: plan its first check from its release rhythm and schedule it.

    The planned time is kept in the database first; if Redis does not answer, the workers'
    reconciler queues the check once it is due.
    """
    from chapterhouse.db.follows import plan_next_check
    from chapterhouse.db.library import get_novel
    from chapterhouse.queue.checks import schedule_check

    with rt.sessions() as session:
        novel = get_novel(session, slug)
        if not novel.followed or novel.next_check_at is None:
            now = utcnow()
            novel.followed = True
            novel.followed_at = now
            plan_next_check(session, novel, rt.settings, now)
            session.commit()
        novel_id, due = novel.id, novel.next_check_at
    assert due is not None
    try:
        schedule_check(rt.queue, novel_id, due, rt.settings)
    except QueueUnavailableError as exc:
        log.warning("novel %s followed; its check waits for Redis: %s", slug, exc.message)
    return get_novel_by_slug(rt, slug)


def unfollow_novel(rt: Runtime, slug: str) -> Novel:
    """Stop following a novel: no more checks (a pending one is dropped, or skips itself)."""
    from chapterhouse.db.library import get_novel
    from chapterhouse.queue.checks import unschedule_check

    with rt.sessions() as session:
        novel = get_novel(session, slug)
        novel_id, due = novel.id, novel.next_check_at
        novel.followed = False
        novel.next_check_at = None
        novel.check_interval = None
        session.commit()
    if due is not None:
        try:
            unschedule_check(rt.queue, novel_id, due)
        except QueueUnavailableError as exc:
            log.warning("novel %s unfollowed; its stale check will skip itself: %s", slug, exc)
    return get_novel_by_slug(rt, slug)


def list_following(rt: Runtime) -> list[Novel]:
    """Followed novels, the next to be checked first."""
    from chapterhouse.db.follows import followed_novels

    with rt.sessions() as session:
        return followed_novels(session)


def enqueue_due_checks(rt: Runtime) -> list[int]:
    """Queue the check of every followed novel that is due and not waiting in Redis."""
    from chapterhouse.queue.checks import enqueue_due_checks as run

    return run(rt)


def queue_status(rt: Runtime) -> QueueStatus:
    """RQ registry counts, the workers, and whether the queue or some domains are paused."""
    from chapterhouse.queue.status import queue_status as read

    try:
        return read(rt.queue)
    except RedisError as exc:
        raise QueueUnavailableError(f"Redis does not answer: {exc}") from None


def pause_queue(rt: Runtime) -> QueueStatus:
    """Workers take no new job; queued jobs stay queued and running ones finish."""
    from chapterhouse.queue.pauses import pause_queue as pause

    pause(rt.redis, rt.queue.name)
    log.info("queue %s paused", rt.queue.name)
    return queue_status(rt)


def resume_queue(rt: Runtime) -> QueueStatus:
    """Workers take jobs again."""
    from chapterhouse.queue.pauses import resume_queue as resume

    resume(rt.redis, rt.queue.name)
    log.info("queue %s resumed", rt.queue.name)
    return queue_status(rt)


def drain(
    rt: Runtime, *, wait: bool = False, timeout: float | None = None, poll: float = 0.5
) -> QueueStatus:
    """Pause the queue; with `wait`, return once no job runs (DrainTimeoutError past `timeout`)."""
    status = pause_queue(rt)
    deadline = None if timeout is None else time.monotonic() + timeout
    while wait and status.counts["started"]:
        if deadline is not None and time.monotonic() >= deadline:
            raise DrainTimeoutError(
                f"{status.counts['started']} job(s) still running after {timeout:g} s; "
                "the queue stays paused"
            )
        time.sleep(poll)
        status = queue_status(rt)
    return status


@dataclass(frozen=True, slots=True)
class DomainPause:
    """The domains one pause or resume named, and every domain paused now."""

    domains: list[str]
    paused_domains: list[str]


def pause_domain(rt: Runtime, name: str) -> DomainPause:
    """No worker sends a request to the site (`royalroad`) or domain named, until resumed."""
    from chapterhouse.queue.pauses import pause_domains, paused_domains

    domains = rt.registry.domains_for(name)
    pause_domains(rt.redis, domains)
    log.info("paused %s", ", ".join(domains))
    try:
        return DomainPause(domains, paused_domains(rt.redis))
    except RedisError as exc:
        raise QueueUnavailableError(f"Redis does not answer: {exc}") from None


def resume_domain(rt: Runtime, name: str) -> DomainPause:
    """Requests to the site or domain named may go again; its held jobs are queued at once."""
    from chapterhouse.queue.pauses import paused_domains, release_held_jobs, resume_domains

    domains = rt.registry.domains_for(name)
    resume_domains(rt.redis, domains)
    with rt.sessions() as session:
        session.execute(
            update(IngestionJob)
            .where(
                IngestionJob.status == JobStatus.QUEUED,
                IngestionJob.note.in_([f"waiting: {d} is paused" for d in domains]),
            )
            .values(note=None)
        )
        session.commit()
    release_held_jobs(rt.queue)
    log.info("resumed %s", ", ".join(domains))
    try:
        return DomainPause(domains, paused_domains(rt.redis))
    except RedisError as exc:
        raise QueueUnavailableError(f"Redis does not answer: {exc}") from None


def get_novel_by_slug(rt: Runtime, slug: str) -> Novel:
    """One stored novel by slug."""
    from chapterhouse.db.library import get_novel

    with rt.sessions() as session:
        return get_novel(session, slug)


def get_job(rt: Runtime, job_id: int) -> IngestionJob:
    """One job by id."""
    with rt.sessions() as session:
        return job_queries.get_job(session, job_id)


def list_jobs(
    rt: Runtime, *, status: str | None = None, limit: int = 20, offset: int = 0
) -> job_queries.JobPage:
    """Jobs newest first."""
    with rt.sessions() as session:
        return job_queries.list_jobs(session, status=status, limit=limit, offset=offset)


def follow_job(rt: Runtime, job_id: int) -> Iterator[JobEvent]:
    """A job's events until it ends, blocking: one per change of state, the last one `end`."""
    from chapterhouse.job_events import follow

    return follow(rt, job_id, interval=rt.settings.events_poll_interval)


def stream_job(rt: Runtime, job_id: int) -> AsyncIterator[JobEvent | None]:
    """The same events for async consumers (the SSE route); None marks a keep-alive."""
    from chapterhouse.job_events import stream

    return stream(
        rt,
        job_id,
        interval=rt.settings.events_poll_interval,
        keepalive=rt.settings.events_keepalive,
    )


@dataclass(frozen=True, slots=True)
class HealthReport:
    """Each backing service's state; healthy only when all answer."""

    healthy: bool
    checks: dict[str, str | int]

    @property
    def status(self) -> str:
        """`healthy` or `unhealthy`."""
        return "healthy" if self.healthy else "unhealthy"


def check_health(rt: Runtime) -> HealthReport:
    """Ping the database and Redis and count the workers serving the ingestion queue."""
    checks: dict[str, str | int] = {}
    healthy = True
    try:
        with rt.engine.connect() as conn:
            conn.execute(text("SELECT 1"))
        checks["database"] = "ok"
    except SQLAlchemyError as exc:
        healthy = False
        checks["database"] = f"unavailable: {type(getattr(exc, 'orig', None) or exc).__name__}"
    try:
        from chapterhouse.queue.connection import count_workers, ping

        ping(rt.redis)
        checks["redis"] = "ok"
        checks["workers"] = count_workers(rt.redis, rt.queue)
    except QueueUnavailableError as exc:
        healthy = False
        checks["redis"] = f"unavailable: {redact(exc.message, rt.settings)}"
        checks["workers"] = 0
    return HealthReport(healthy=healthy, checks=checks)


def render_metrics(rt: Runtime) -> bytes:
    """The fleet's Prometheus metrics, read from Redis and the database now; never raises."""
    from chapterhouse.metrics import render

    return render(rt)


def database_unavailable(exc: SQLAlchemyError) -> DatabaseUnavailableError:
    """Turn a driver error into the user-facing error."""
    return DatabaseUnavailableError(f"the database is unavailable: {type(exc).__name__}")
