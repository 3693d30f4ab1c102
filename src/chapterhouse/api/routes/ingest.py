"""Submitting novels for ingestion."""

from __future__ import annotations

from fastapi import APIRouter, Response, status

from chapterhouse import services
from chapterhouse.api.deps import IngestClientDep, RuntimeDep
from chapterhouse.api.errors import LIMITED, UNAVAILABLE
from chapterhouse.api.schemas import (
    Error,
    IngestRequest,
    LimitErrorBody,
    SubmittedJob,
    UnsupportedSiteErrorBody,
    ValidationErrorBody,
)

router = APIRouter(tags=["ingest"])


@router.post(
    "/ingest",
    status_code=status.HTTP_202_ACCEPTED,
    responses={
        200: {"model": SubmittedJob, "description": "The novel already has an active job"},
        422: {
            # Error: a URL the site registry refuses (InvalidUrlError) has only `detail`.
            "model": UnsupportedSiteErrorBody | ValidationErrorBody | Error,
            "description": "Not an http(s) URL, or not on a supported site",
        },
        400: {"model": Error, "description": "The body cannot be decoded (not UTF-8 JSON)"},
        413: {
            "model": LimitErrorBody,
            "description": "The body is over CHAPTERHOUSE_MAX_BODY_BYTES",
        },
        **LIMITED,
        **UNAVAILABLE,
    },
)
def submit(
    body: IngestRequest, rt: RuntimeDep, response: Response, client: IngestClientDep
) -> SubmittedJob:
    """Queue the novel behind a novel or chapter URL; an already active job is returned as is."""
    result = services.submit_ingest(rt, body.url, client=client)
    if not result.created:
        response.status_code = status.HTTP_200_OK
    # Re-read so the answer shows the stored row, the novel's slug included when it is known.
    job = services.get_job(rt, result.job.id)
    return SubmittedJob.from_job(job, created=result.created)
