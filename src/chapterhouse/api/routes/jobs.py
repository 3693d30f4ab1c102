"""Ingestion jobs: one by id, or a filtered page, newest first."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, Query

from chapterhouse import services
from chapterhouse.api.deps import MAX_INT, PaginationDep, RuntimeDep
from chapterhouse.api.errors import INVALID, NOT_FOUND, UNAVAILABLE
from chapterhouse.api.schemas import JobOut, JobStatusName, PageOf

router = APIRouter(prefix="/jobs", tags=["jobs"], responses={**INVALID, **UNAVAILABLE})


@router.get("", responses=NOT_FOUND)
def list_jobs(
    rt: RuntimeDep,
    page: PaginationDep,
    status: Annotated[JobStatusName | None, Query(description="Only jobs in this state.")] = None,
) -> PageOf[JobOut]:
    """List ingestion jobs, newest first, optionally only those in one state."""
    result = services.list_jobs(rt, status=status, limit=page.limit, offset=page.offset)
    page.check(result.total, "job")
    return PageOf[JobOut](
        items=[JobOut.from_job(job) for job in result.items],
        total=result.total,
        limit=page.limit,
        offset=page.offset,
    )


@router.get("/{job_id}", responses=NOT_FOUND)
def get_job(job_id: Annotated[int, Path(ge=1, le=MAX_INT)], rt: RuntimeDep) -> JobOut:
    """Show one ingestion job: its state, progress, errors and timings."""
    return JobOut.from_job(services.get_job(rt, job_id))
