"""Operational state of the ingestion queue, read from RQ's registries."""

from __future__ import annotations

from dataclasses import dataclass

from rq import Queue, Worker


@dataclass(frozen=True, slots=True)
class WorkerInfo:
    """One registered worker."""

    name: str
    state: str
    current_job: str | None
    successful: int
    failed: int


@dataclass(frozen=True, slots=True)
class QueueStatus:
    """Counts per RQ registry, and the workers serving the queue."""

    counts: dict[str, int]
    workers: list[WorkerInfo]


def queue_status(queue: Queue) -> QueueStatus:
    """Read the queue's registries and workers."""
    counts = {
        "queued": queue.count,
        "started": queue.started_job_registry.count,
        "finished": queue.finished_job_registry.count,
        "failed": queue.failed_job_registry.count,
        "scheduled": queue.scheduled_job_registry.count,
        "deferred": queue.deferred_job_registry.count,
    }
    workers = [
        WorkerInfo(
            name=w.name,
            state=str(w.get_state()),
            current_job=w.get_current_job_id(),
            successful=w.successful_job_count,
            failed=w.failed_job_count,
        )
        for w in Worker.all(connection=queue.connection, queue=queue)
    ]
    return QueueStatus(counts=counts, workers=workers)
