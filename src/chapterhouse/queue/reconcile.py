"""The reconciler: the database says which jobs should be alive; Redis and the workers must agree.

A job row that is queued or running but has no RQ job (Redis lost its data), or whose holder
(the work horse) is gone, is queued again, its attempts counted. Run periodically by every
worker (one at a time, under a Redis lock) and by `chapterhouse reconcile`.
"""

from __future__ import annotations

import logging
import os
import socket
import threading
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import TYPE_CHECKING

from redis.exceptions import RedisError
from rq.job import Job
from rq.job import JobStatus as RQStatus
from sqlalchemy import select
from sqlalchemy.exc import SQLAlchemyError

from chapterhouse.db.jobs import set_job
from chapterhouse.db.models import IngestionJob, JobStatus, utcnow
from chapterhouse.queue.checks import enqueue_due_checks
from chapterhouse.queue.enqueue import enqueue_ingest, forget_rq_job, rq_job_id
from chapterhouse.webhooks import notify_job_ended

if TYPE_CHECKING:  # services imports this module's callers; avoid the cycle at run time
    from chapterhouse.services import Runtime

log = logging.getLogger(__name__)

WAITING = {RQStatus.QUEUED, RQStatus.SCHEDULED, RQStatus.DEFERRED}
LOCK_KEY = "chapterhouse:reconcile-lock"


@dataclass
class ReconcileReport:
    """What one pass found and did."""

    checked: int = 0
    requeued: list[int] = field(default_factory=list)
    failed: list[int] = field(default_factory=list)


def holder_alive(holder: str | None) -> bool | None:
    """True/False for a holder on this machine; None when it runs elsewhere (ask the heartbeat)."""
    if not holder or ":" not in holder:
        return None
    host, _, pid = holder.rpartition(":")
    if host != socket.gethostname() or not pid.isdigit():
        return None
    try:
        os.kill(int(pid), 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def reconcile(rt: Runtime, *, grace: float = 10.0) -> ReconcileReport:
    """Requeue every active job that nothing is running or waiting to run."""
    settings = rt.settings
    report = ReconcileReport()
    now = utcnow()
    with rt.sessions() as session:
        jobs = session.scalars(
            select(IngestionJob)
            .where(IngestionJob.status.in_(JobStatus.ACTIVE))
            .order_by(IngestionJob.id)
        ).all()
    for job in jobs:
        report.checked += 1
        reason = _why_lost(rt, job, now, grace)
        if reason is None:
            continue
        with rt.sessions() as session:
            if job.attempts >= settings.max_attempts:
                set_job(
                    session,
                    job.id,
                    status=JobStatus.FAILED,
                    error=f"gave up after {job.attempts} attempts: {reason}",
                    note=None,
                    finished_at=utcnow(),
                )
                report.failed.append(job.id)
                notify_job_ended(settings, job.id)  # job.failed; never raises
                continue
            set_job(session, job.id, status=JobStatus.QUEUED, note=f"requeued: {reason}")
        forget_rq_job(rt.queue, job.id)
        enqueue_ingest(rt.queue, job.id, settings)
        report.requeued.append(job.id)
        log.warning("job %s requeued: %s", job.id, reason)
    return report


def _why_lost(rt: Runtime, job: IngestionJob, now: datetime, grace: float) -> str | None:
    try:
        rq_job = Job.fetch(rq_job_id(job.id), connection=rt.redis)
        rq_status = rq_job.get_status()
    except RedisError:
        raise
    except Exception:  # NoSuchJobError, or a record Redis half-lost
        rq_status = None
    if rq_status in WAITING:
        return None
    if job.status == JobStatus.QUEUED:
        if rq_status == RQStatus.STARTED:
            return None  # picked up a moment ago; the horse marks it crawling next
        # A job just recorded may not be queued yet (the API inserts, then enqueues).
        return None if _age(now, job.updated_at) < grace else "no longer in Redis"
    # crawling or saving: somebody should hold it
    alive = holder_alive(job.worker)
    if alive:
        return None
    if alive is None:
        beat = job.heartbeat_at or job.started_at
        if beat is not None and _age(now, beat) < rt.settings.worker_lost_after:
            return None
    return f"its worker ({job.worker or 'unknown'}) is gone"


def _age(now: datetime, then: datetime) -> float:
    # SQLite hands timestamps back naive; they were written in UTC.
    if then.tzinfo is None:
        then = then.replace(tzinfo=UTC)
    return (now - then).total_seconds()


def start_reconciler(rt: Runtime, stop: threading.Event) -> threading.Thread:
    """Reconcile every `reconcile_interval` s in a daemon thread; one worker at a time does it."""
    interval = rt.settings.reconcile_interval

    def loop() -> None:
        while True:
            try:
                # The lock lives a little less than the interval: one pass per interval overall.
                lock_seconds = max(int(interval * 0.9), 1)
                if rt.redis.set(LOCK_KEY, socket.gethostname(), nx=True, ex=lock_seconds):
                    report = reconcile(rt, grace=rt.settings.reconcile_grace)
                    if report.requeued or report.failed:
                        log.info(
                            "reconciler: requeued %s, failed %s", report.requeued, report.failed
                        )
                    # Followed novels whose check is due get it queued, if Redis lost it.
                    enqueue_due_checks(rt)
            except SQLAlchemyError as exc:
                # An outage: one line per pass, not a traceback a second; try again next time.
                log.warning(
                    "reconciler: the database is unavailable (%s); next pass in %.0f s",
                    type(exc).__name__,
                    interval,
                )
            except Exception:
                log.exception("reconciler pass failed; next one in %.0f s", interval)
            if stop.wait(interval):
                return

    thread = threading.Thread(target=loop, name="reconciler", daemon=True)
    thread.start()
    return thread
