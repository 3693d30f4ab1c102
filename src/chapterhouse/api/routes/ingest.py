"""Submitting novels for ingestion."""

from __future__ import annotations

from fastapi import APIRouter, Request, Response, status
from starlette.concurrency import run_in_threadpool

from chapterhouse import services
from chapterhouse.api.deps import ClientDep
from chapterhouse.api.errors import AUTH, LIMITED, UNAVAILABLE
from chapterhouse.api.schemas import (
    Error,
    IngestRequest,
    LimitErrorBody,
    SubmittedJob,
    UnsupportedSiteErrorBody,
    ValidationErrorBody,
)
from chapterhouse.api.submitter import Submitter
from chapterhouse.services import Runtime

router = APIRouter(tags=["ingest"], responses=AUTH)


@router.post(
    "/ingest",
    status_code=status.HTTP_202_ACCEPTED,
    response_model=SubmittedJob,
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
async def submit(body: IngestRequest, request: Request, client: ClientDep) -> Response:
    """Queue the novel behind a novel or chapter URL; an already active job is returned as is."""
    # PostgreSQL: the asyncpg path (api/submitter.py); SQLite: the ORM, on a thread.
    submitter: Submitter | None = request.app.state.submitter
    if submitter is None:
        answer = await run_in_threadpool(_submit, request.app.state.runtime, body.url, client)
    else:
        submitted = await submitter.submit(body.url, client)
        answer = SubmittedJob.from_row(submitted.job, created=submitted.created)
    # Serialized here, once: FastAPI would validate the model again before encoding it.
    return Response(
        answer.model_dump_json(),
        status_code=status.HTTP_202_ACCEPTED if answer.created else status.HTTP_200_OK,
        media_type="application/json",
    )


def _submit(rt: Runtime, url: str, client: str) -> SubmittedJob:
    services.check_ingest_rate(rt, client)
    result = services.submit_ingest(rt, url, client=client)
    # Re-read so the answer shows the stored row, the novel's slug included when it is known.
    job = services.get_job(rt, result.job.id)
    return SubmittedJob.from_job(job, created=result.created)
