"""Ingestion jobs: one by id, or a filtered page, newest first."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, Query, Response, status

from chapterhouse import services
from chapterhouse.api.deps import MAX_INT, PaginationDep, RuntimeDep
from chapterhouse.api.errors import AUTH, CONFLICT, INVALID, NOT_FOUND, UNAVAILABLE
from chapterhouse.api.schemas import JobOut, JobStatusName, PageOf, RetriedJobs, SubmittedJob

JobId = Annotated[int, Path(ge=1, le=MAX_INT, description="The job's id.")]

router = APIRouter(prefix="/jobs", tags=["jobs"], responses={**AUTH, **INVALID, **UNAVAILABLE})


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


@router.post("/retry-failed", status_code=status.HTTP_202_ACCEPTED)
def retry_failed(
    rt: RuntimeDep,
    site: Annotated[str | None, Query(max_length=32, description="Only this site's jobs.")] = None,
    error: Annotated[
        str | None, Query(max_length=200, description="Only jobs whose error contains this.")
    ] = None,
) -> RetriedJobs:
    """Queue again every failed or partial job, optionally of one site or with some error text."""
    return RetriedJobs(job_ids=services.retry_failed(rt, site=site, error_contains=error))


@router.get("/{job_id}", responses=NOT_FOUND)
def get_job(job_id: JobId, rt: RuntimeDep) -> JobOut:
    """Show one ingestion job: its state, progress, errors and timings."""
    return JobOut.from_job(services.get_job(rt, job_id))


@router.post(
    "/{job_id}/retry",
    status_code=status.HTTP_202_ACCEPTED,
    responses={
        200: {"model": SubmittedJob, "description": "The novel already has an active job"},
        **NOT_FOUND,
        **CONFLICT,
    },
)
def retry_job(job_id: JobId, rt: RuntimeDep, response: Response) -> SubmittedJob:
    """Queue an ended job again; the crawl fetches only what is missing or changed."""
    result = services.retry_job(rt, job_id)
    if not result.created:
        response.status_code = status.HTTP_200_OK
    job = services.get_job(rt, result.job.id)
    return SubmittedJob.from_job(job, created=result.created)


@router.post("/{job_id}/cancel", responses={**NOT_FOUND, **CONFLICT})
def cancel_job(job_id: JobId, rt: RuntimeDep) -> JobOut:
    """Cancel a job: a queued one at once, a running one at its next chapter (what it has stays)."""
    return JobOut.from_job(services.cancel_job(rt, job_id))


@router.delete(
    "/{job_id}", status_code=status.HTTP_204_NO_CONTENT, responses={**NOT_FOUND, **CONFLICT}
)
def delete_job(job_id: JobId, rt: RuntimeDep) -> None:
    """Delete an ended job's record; the novel and its chapters stay."""
    services.delete_job(rt, job_id)
