"""Operational state of the ingestion queue, read from RQ's registries."""

from __future__ import annotations

from dataclasses import dataclass, field

from rq import Queue, Worker

from chapterhouse.queue.pauses import paused_domains, paused_queues


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
    paused: bool = False  # `chapterhouse pause`: workers take no job of this queue
    paused_domains: list[str] = field(default_factory=list)


def registry_counts(queue: Queue) -> dict[str, int]:
    """Jobs in each of the queue's RQ registries."""
    return {
        "queued": queue.count,
        "started": queue.started_job_registry.count,
        "finished": queue.finished_job_registry.count,
        "failed": queue.failed_job_registry.count,
        "scheduled": queue.scheduled_job_registry.count,
        "deferred": queue.deferred_job_registry.count,
    }


def queue_status(queue: Queue) -> QueueStatus:
    """Read the queue's registries and workers."""
    counts = registry_counts(queue)
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
    return QueueStatus(
        counts=counts,
        workers=workers,
        paused=queue.name in paused_queues(queue.connection),
        paused_domains=paused_domains(queue.connection),
    )
