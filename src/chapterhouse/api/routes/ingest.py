"""Submitting novels for ingestion."""

from __future__ import annotations

from fastapi import APIRouter, Response, status

from chapterhouse import services
from chapterhouse.api.deps import RuntimeDep
from chapterhouse.api.errors import MAX_BODY_BYTES, UNAVAILABLE
from chapterhouse.api.schemas import (
    Error,
    IngestRequest,
    SubmittedJob,
    UnsupportedSiteErrorBody,
    ValidationErrorBody,
)

router = APIRouter(tags=["ingest"])


@router.post(
    "/ingest",
    status_code=status.HTTP_202_ACCEPTED,
    max_body_size=MAX_BODY_BYTES,
    responses={
        200: {"model": SubmittedJob, "description": "The novel already has an active job"},
        422: {
            "model": UnsupportedSiteErrorBody | ValidationErrorBody,
            "description": "Not an http(s) URL, or not on a supported site",
        },
        413: {"model": Error, "description": "The request body is too large"},
        **UNAVAILABLE,
    },
)
def submit(body: IngestRequest, rt: RuntimeDep, response: Response) -> SubmittedJob:
    """Queue the novel behind a novel or chapter URL; an already active job is returned as is."""
    result = services.submit_ingest(rt, body.url)
    if not result.created:
        response.status_code = status.HTTP_200_OK
    # Re-read so the answer shows the stored row, the novel's slug included when it is known.
    job = services.get_job(rt, result.job.id)
    return SubmittedJob.from_job(job, created=result.created)
