"""Where workers obey the pause flags: a queue class that skips paused queues, and a hook
that puts aside, unstarted, the jobs whose domain is paused.

Why not RQ's own `rq suspend` (`rq.suspension`)? It is checked only before a worker starts
waiting for work, so an idle worker already blocked on the queue takes the next job anyway
(its wait lasts minutes); it stops every queue on that Redis, webhook deliveries included; and
a suspended burst worker exits. Our flag is per queue, read on every dequeue, and a job that
slips through the wait is put back at the front, untouched. `rq suspend` still works, for all
of Redis at once.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Iterable
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from redis import Redis
from rq import Queue, Worker
from rq.exceptions import DequeueTimeout
from rq.job import Job
from rq.utils import as_text

from chapterhouse.db.jobs import set_job
from chapterhouse.db.models import IngestionJob
from chapterhouse.queue.enqueue import INGEST_TASK
from chapterhouse.queue.pauses import hold_job, paused_domains, paused_queues

if TYPE_CHECKING:
    from chapterhouse.services import Runtime

log = logging.getLogger(__name__)

# While a queue is paused, workers wait for the other queues this long at a time, so that a
# resume is noticed within about a second.
PAUSE_POLL = 1


class GatedQueue(Queue):
    """An RQ queue class whose `dequeue_any` never hands out a job of a paused queue."""

    @classmethod
    def dequeue_any(
        cls,
        queues: Iterable[Queue],
        timeout: int | None,
        connection: Redis,
        *args: Any,
        **kwargs: Any,
    ) -> tuple[Job, Queue] | None:
        """Dequeue from the queues that are not paused; a job that raced a pause goes back."""
        queues = list(queues)
        paused = paused_queues(connection)
        open_ = [q for q in queues if q.name not in paused]
        keys = [q.key for q in queues]
        if len(open_) == len(queues):
            result = super().dequeue_any(queues, timeout, connection, *args, **kwargs)
        elif not open_:
            if timeout is None:
                return None  # a burst worker finds nothing to do
            time.sleep(min(timeout, PAUSE_POLL))
            raise DequeueTimeout(timeout, keys)
        else:
            result = cls._pop(
                open_,
                None if timeout is None else min(timeout, PAUSE_POLL),
                connection,
                *args,
                **kwargs,
            )
        if result is None:
            return None
        job, queue = result
        if queue.name in paused_queues(connection):
            # Paused while this worker was already waiting: put the job back where it was.
            with connection.pipeline() as pipe:
                pipe.lrem(queue.intermediate_queue_key, 1, job.id)
                queue.push_job_id(job.id, pipeline=pipe, at_front=True)
                pipe.execute()
            log.info("queue %s is paused: %s put back", queue.name, job.id)
            if timeout is None:
                return None
            raise DequeueTimeout(timeout, keys)
        return result

    @classmethod
    def _pop(
        cls, queues: list[Queue], timeout: int | None, connection: Redis, *args: Any, **kwargs: Any
    ) -> tuple[Job, Queue] | None:
        # Always LPOP/BLPOP, never RQ's single-queue LMOVE: the worker listens on several
        # queues, so it would not clear LMOVE's intermediate list after the job starts.
        keys = [q.key for q in queues]
        while True:
            popped = cls.lpop(keys, timeout, connection=connection)
            if popped is None:
                return None
            queue_key, job_id = map(as_text, popped)
            fetched = cls._fetch_dequeued_job(connection, queue_key, job_id, *args, **kwargs)
            if fetched is not None:
                return fetched


def install_gate(worker: Worker, rt: Runtime) -> None:
    """Make `worker` obey the pause flags: skip paused queues, hold jobs of paused domains."""
    worker.queue_class = GatedQueue
    run = worker.execute_job

    def execute_job(job: Job, queue: Queue) -> None:
        # Wrapped on the instance rather than subclassed, so this composes with whichever
        # Worker subclass the worker is (the graceful-shutdown one, today).
        if not hold_if_domain_paused(rt, job, queue):
            run(job, queue)

    worker.execute_job = execute_job  # type: ignore[method-assign]


def hold_if_domain_paused(rt: Runtime, job: Job, queue: Queue) -> bool:
    """Hold an ingestion job whose domain is paused, unstarted; True when it was held."""
    domain = _paused_domain(rt, job)
    if domain is None:
        return False
    # Held in RQ's scheduled registry, not run: the worker stays free for other domains, and
    # the row stays queued. A resume queues it at once; else it is tried again later.
    with rt.sessions() as session:
        set_job(session, int(job.args[0]), note=f"waiting: {domain} is paused")
    hold_job(queue, job, rt.settings.pause_recheck)
    log.info("job %s: %s is paused; held for %g s", job.id, domain, rt.settings.pause_recheck)
    return True


def _paused_domain(rt: Runtime, job: Job) -> str | None:
    if job.func_name != INGEST_TASK or not job.args:
        return None
    paused = paused_domains(rt.redis)
    if not paused:
        return None  # the common case costs one Redis round trip, no database query
    with rt.sessions() as session:
        row = session.get(IngestionJob, int(job.args[0]))
        url = row.url if row is not None else ""
    domain = (urlsplit(url).netloc or "").lower()
    return domain if domain in paused else None
