"""Graceful shutdown and recycling of a worker: RQ's Worker with a grace period and a memory cap.

SIGTERM lets the running job finish for up to `CHAPTERHOUSE_SHUTDOWN_GRACE` seconds; past that
(or on a second SIGTERM) its work horse is stopped and the job is queued again, not failed, so
another worker continues from what was stored. `max_memory` makes the worker leave after a job
once its own memory is over the cap, for a supervisor (systemd `Restart=always`) to start afresh.
"""

from __future__ import annotations

import contextlib
import logging
import os
import resource
import signal
import sys
import threading
from datetime import timedelta
from types import FrameType
from typing import Any

from redis.exceptions import RedisError
from rq import Queue, Worker
from rq.job import Job
from rq.utils import now
from sqlalchemy import update
from sqlalchemy.exc import SQLAlchemyError

from chapterhouse.config import Settings
from chapterhouse.db.engine import make_engine
from chapterhouse.db.models import IngestionJob, JobStatus, utcnow
from chapterhouse.queue.enqueue import INGEST_TASK

log = logging.getLogger(__name__)

RUNNING = (JobStatus.CRAWLING, JobStatus.SAVING)


class GracefulWorker(Worker):
    """RQ's forking Worker whose warm shutdown has a deadline, after which the job is requeued."""

    settings: Settings
    grace: float = 60.0
    max_memory_mb: int | None = None
    _grace_timer: threading.Timer | None = None
    _requeue_current: bool = False

    def request_stop(self, signum: int, frame: FrameType | None) -> None:
        """Warm shutdown (RQ's), plus a timer that stops the job when the grace runs out."""
        # Raises StopRequested when idle: there is nothing to wait for.
        super().request_stop(signum, frame)  # type: ignore[no-untyped-call]
        if self.horse_pid and self._grace_timer is None:
            log.warning(
                "worker %s: shutting down; the running job has %.0f s to finish",
                self.name,
                self.grace,
            )
            self._grace_timer = threading.Timer(self.grace, self._grace_over)
            self._grace_timer.daemon = True
            self._grace_timer.start()

    def request_force_stop(self, signum: int, frame: FrameType | None) -> None:
        """A second signal ends the grace at once: the job is requeued, the worker exits."""
        if (now() - self._shutdown_requested_date) < timedelta(seconds=1):  # type: ignore[operator]
            return  # the same signal delivered twice (a pool and a terminal): RQ ignores it too
        if not self.horse_pid:
            super().request_force_stop(signum, frame)
            return
        self._grace_over()

    def _grace_over(self) -> None:
        pid = self.horse_pid  # read once: it drops to 0 when the horse ends, from another thread
        if not pid:
            return  # the job finished in time
        log.warning("worker %s: grace period over; stopping the job to requeue it", self.name)
        self._requeue_current = True
        # The horse leads a process group of its own (RQ's setpgrp). Not RQ's kill_horse: with
        # a horse that just ended it would look up the group of pid 0, i.e. our own.
        with contextlib.suppress(ProcessLookupError):
            os.killpg(pid, signal.SIGKILL)

    def setup_work_horse_signals(self) -> None:
        """In the horse: ignore SIGINT (RQ) and SIGTERM, the worker decides when the job stops."""
        super().setup_work_horse_signals()  # type: ignore[no-untyped-call]
        # systemd's default KillMode sends SIGTERM to every process of the service, the horse
        # included: it must go on until the job ends or the grace is over (then SIGKILL).
        signal.signal(signal.SIGTERM, signal.SIG_IGN)

    def handle_job_failure(
        self,
        job: Job,
        queue: Queue,
        started_job_registry: Any = None,
        exc_string: str = "",
        execution: Any = None,
    ) -> None:
        """A job this worker stopped on shutdown goes back to its queue; others fail as usual."""
        if not self._requeue_current:
            super().handle_job_failure(job, queue, started_job_registry, exc_string, execution)
            return
        self._requeue_current = False
        try:
            requeue_stopped(self.settings, job, queue, self.name, execution=execution, worker=self)
        except RedisError:
            # The reconciler of any worker requeues it from the database later.
            log.exception("job %s: could not requeue it in Redis", job.id)

    def execute_job(self, job: Job, queue: Queue) -> None:
        """Run the job; then leave (exit 0) if this worker's memory is over the cap."""
        super().execute_job(job, queue)
        if self.max_memory_mb is not None and not self._stop_requested:
            used = rss_mb()
            if used > self.max_memory_mb:
                log.warning(
                    "worker %s: using %.0f MB, over --max-memory %d MB; exiting to be restarted",
                    self.name,
                    used,
                    self.max_memory_mb,
                )
                self._stop_requested = True  # RQ's loop stops before taking another job

    def teardown(self) -> None:
        """Cancel a pending grace timer, then RQ's own teardown."""
        if self._grace_timer is not None:
            self._grace_timer.cancel()
        super().teardown()  # type: ignore[no-untyped-call]


def make_worker(
    queues: list[Queue],
    settings: Settings,
    *,
    name: str,
    max_memory_mb: int | None = None,
) -> GracefulWorker:
    """A GracefulWorker on these queues with the settings' grace period."""
    worker = GracefulWorker(queues, connection=queues[0].connection, name=name)
    worker.settings = settings
    worker.grace = settings.shutdown_grace
    worker.max_memory_mb = max_memory_mb
    return worker


def requeue_stopped(
    settings: Settings,
    job: Job,
    queue: Queue,
    worker_name: str,
    *,
    execution: Any = None,
    worker: Worker | None = None,
) -> None:
    """Put a job a shutdown stopped back on its queue: row `queued`, the attempt not counted."""
    note = f"requeued: worker {worker_name} shut down before the job finished"
    if job.func_name == INGEST_TASK and job.args:
        # The row first: once the RQ job is queued another worker may mark it crawling.
        _requeue_row(settings, int(job.args[0]), note)
    with queue.connection.pipeline() as pipe:
        if worker is not None:
            worker.cleanup_execution(job, pipeline=pipe, execution=execution)
        pipe.execute()
    # Retries left stay as they were: a shutdown is not a failure of the job.
    queue.enqueue_job(job, at_front=True)
    log.warning("job %s requeued after a shutdown", job.id)


def _requeue_row(settings: Settings, job_id: int, note: str) -> None:
    engine = make_engine(settings)
    try:
        with engine.begin() as conn:
            conn.execute(
                update(IngestionJob)
                .where(IngestionJob.id == job_id, IngestionJob.status.in_(RUNNING))
                .values(
                    status=JobStatus.QUEUED,
                    note=note,
                    # The attempt was cut short, not failed: it does not count towards the limit.
                    attempts=IngestionJob.attempts - 1,
                    updated_at=utcnow(),
                )
            )
    except SQLAlchemyError:
        # The database is down too; the reconciler requeues the job from its row later.
        log.exception("job %s: could not mark it queued", job_id)
    finally:
        engine.dispose()


def rss_mb() -> float:
    """This process's resident memory in MB (peak memory where /proc is missing)."""
    try:
        with open("/proc/self/status", encoding="ascii") as status:
            for line in status:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1]) / 1024
    except OSError:
        pass
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    # Linux reports kilobytes, macOS bytes.
    return peak / (1024 * 1024) if sys.platform == "darwin" else peak / 1024
