"""Live events of one job, read from its database row: one per change, then one `end`.

The row is the truth about a job, and workers may run on other machines, so watchers poll it:
one cheap SELECT per interval, the session (and its pooled connection) released at once. The
crawl commits progress in batches about every half second anyway (crawl/recorder.py), so a
Redis pub/sub wake-up would gain little and would make events depend on Redis as well.
"""

from __future__ import annotations

import time
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING, Literal

import anyio

from chapterhouse.db import jobs as job_queries
from chapterhouse.db.models import IngestionJob, JobStatus

if TYPE_CHECKING:
    from chapterhouse.services import Runtime

EventKind = Literal["job", "end"]


@dataclass(frozen=True, slots=True)
class JobEvent:
    """What a watcher saw: `job` when a running job changed, `end` once it has ended."""

    kind: EventKind
    job: IngestionJob


def _fingerprint(job: IngestionJob) -> tuple[object, ...]:
    # What a user watching the job notices; heartbeats alone are not news.
    return (job.status, job.chapters_done, job.chapters_total, job.note, job.error)


class JobWatch:
    """Change detection over successive reads of one job row."""

    def __init__(self, rt: Runtime, job_id: int) -> None:
        self.rt = rt
        self.job_id = job_id
        self.ended = False
        self._last: tuple[object, ...] | None = None

    def poll(self) -> JobEvent | None:
        """Read the row once; the event to send, or None when nothing changed."""
        with self.rt.sessions() as session:
            job = job_queries.get_job(session, self.job_id)
        if job.status in JobStatus.ENDED:
            self.ended = True
            return JobEvent("end", job)
        key = _fingerprint(job)
        if key == self._last:
            return None
        self._last = key
        return JobEvent("job", job)


def follow(rt: Runtime, job_id: int, *, interval: float) -> Iterator[JobEvent]:
    """Events of a job until it ends (blocking; for the CLI). The last one is `end`."""
    watch = JobWatch(rt, job_id)
    while True:
        event = watch.poll()
        if event is not None:
            yield event
        if watch.ended:
            return
        time.sleep(interval)


async def stream(
    rt: Runtime, job_id: int, *, interval: float, keepalive: float
) -> AsyncIterator[JobEvent | None]:
    """Events of a job until it ends, for the API; None means a keep-alive is due.

    Each read runs in a worker thread for a moment only, so many open streams never tie up
    the threads synchronous routes need. A client that disconnects cancels this at its next
    await: nothing is held between reads.
    """
    watch = JobWatch(rt, job_id)
    quiet_since = time.monotonic()
    while True:
        event = await anyio.to_thread.run_sync(watch.poll)
        if event is not None:
            yield event
            quiet_since = time.monotonic()
        elif time.monotonic() - quiet_since >= keepalive:
            yield None
            quiet_since = time.monotonic()
        if watch.ended:
            return
        await anyio.sleep(interval)
