"""Use cases shared by the API and the CLI: the only code that touches both database and queue."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from functools import cached_property
from typing import TYPE_CHECKING

from sqlalchemy import Engine, select, text
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session, sessionmaker

from chapterhouse.config import Settings
from chapterhouse.crawl.registry import SiteRegistry
from chapterhouse.db import jobs as job_queries
from chapterhouse.db.engine import make_engine, make_session_factory
from chapterhouse.db.models import IngestionJob, JobStatus, Novel, utcnow
from chapterhouse.errors import ConflictError, DatabaseUnavailableError, QueueUnavailableError

if TYPE_CHECKING:
    from redis import Redis
    from rq import Queue

    from chapterhouse.queue.reconcile import ReconcileReport

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


def submit_ingest(rt: Runtime, url: str, *, enqueue: bool = True) -> SubmitResult:
    """Record an ingestion job for the novel behind `url` and queue it (or return the active one).

    With `enqueue=False` the job is only recorded, for `chapterhouse ingest --now` to run inline.
    """
    site, ref = rt.registry.resolve(url)
    with rt.sessions() as session:
        active = job_queries.find_active_job(session, ref.key)
        if active is not None:
            return SubmitResult(active, created=False)
        novel_id = session.scalar(
            select(Novel.id).where(Novel.site == ref.site, Novel.site_novel_id == ref.site_novel_id)
        )
        job = IngestionJob(
            url=ref.url,
            site=site.name,
            novel_key=ref.key,
            novel_id=novel_id,
            status=JobStatus.QUEUED,
        )
        session.add(job)
        session.commit()
        job.rq_job_id = f"ingest-{job.id}"
        session.commit()
    if enqueue:
        enqueue_job(rt, job)
    return SubmitResult(job, created=True)


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
        checks["redis"] = f"unavailable: {exc.message}"
        checks["workers"] = 0
    return HealthReport(healthy=healthy, checks=checks)


def database_unavailable(exc: SQLAlchemyError) -> DatabaseUnavailableError:
    """Turn a driver error into the user-facing error."""
    return DatabaseUnavailableError(f"the database is unavailable: {type(exc).__name__}")
