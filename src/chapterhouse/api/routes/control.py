"""Job control: pause, resume and drain the queue; pause and resume a site's domains."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path

from chapterhouse import services
from chapterhouse.api.deps import RuntimeDep
from chapterhouse.api.errors import AUTH, INVALID, NOT_FOUND, UNAVAILABLE
from chapterhouse.api.schemas import DomainPauseOut, QueueOut

Domain = Annotated[
    str,
    Path(
        max_length=255,
        description="A site name (`royalroad`: all its domains) or one domain.",
    ),
]

router = APIRouter(tags=["control"], responses={**AUTH, **INVALID, **UNAVAILABLE})


@router.get("/queue")
def get_queue(rt: RuntimeDep) -> QueueOut:
    """Show jobs per RQ registry, the workers, and whether the queue or any domain is paused."""
    return QueueOut.model_validate(services.queue_status(rt))


@router.post("/queue/pause")
def pause_queue(rt: RuntimeDep) -> QueueOut:
    """Stop workers taking new jobs; queued jobs stay queued and running ones finish."""
    return QueueOut.model_validate(services.pause_queue(rt))


@router.post("/queue/resume")
def resume_queue(rt: RuntimeDep) -> QueueOut:
    """Let workers take jobs again."""
    return QueueOut.model_validate(services.resume_queue(rt))


@router.post("/queue/drain")
def drain_queue(rt: RuntimeDep) -> QueueOut:
    """Pause the queue and let running jobs finish; `counts.started` says how many still run."""
    return QueueOut.model_validate(services.drain(rt))


@router.post("/domains/{domain}/pause", responses=NOT_FOUND)
def pause_domain(domain: Domain, rt: RuntimeDep) -> DomainPauseOut:
    """Send no request to a site's domains until resumed; its crawls wait at their next request."""
    return DomainPauseOut.model_validate(services.pause_domain(rt, domain))


@router.post("/domains/{domain}/resume", responses=NOT_FOUND)
def resume_domain(domain: Domain, rt: RuntimeDep) -> DomainPauseOut:
    """Let requests go to a site's domains again; jobs held for the pause are queued at once."""
    return DomainPauseOut.model_validate(services.resume_domain(rt, domain))
