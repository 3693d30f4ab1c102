"""Live job events as server-sent events (SSE): the job's state on each change, then `end`."""

from __future__ import annotations

import json
import logging
from collections.abc import AsyncIterator
from typing import Any

from fastapi import APIRouter
from fastapi.responses import StreamingResponse
from sqlalchemy.exc import SQLAlchemyError

from chapterhouse import services
from chapterhouse.api.deps import RuntimeDep
from chapterhouse.api.errors import AUTH, INVALID, NOT_FOUND, UNAVAILABLE
from chapterhouse.api.routes.jobs import JobId
from chapterhouse.api.schemas import JobOut
from chapterhouse.errors import ChapterhouseError
from chapterhouse.services import Runtime, database_unavailable

log = logging.getLogger(__name__)

KEEPALIVE = b": keep-alive\n\n"

router = APIRouter(prefix="/jobs", tags=["jobs"], responses={**AUTH, **INVALID, **UNAVAILABLE})

STREAM_DOC: dict[int | str, dict[str, Any]] = {
    200: {
        "description": (
            "`text/event-stream`: a `job` event (the JSON of `GET /jobs/{id}`) whenever the"
            " status, progress, note or error changes; one `end` event, with the same JSON,"
            " when the job has ended, and the stream closes. An `error` event with a `detail`"
            " closes it early (the job was deleted, the database stopped answering)."
        ),
        "content": {"text/event-stream": {}},
    }
}


@router.get(
    "/{job_id}/events", response_class=StreamingResponse, responses={**STREAM_DOC, **NOT_FOUND}
)
def job_events(job_id: JobId, rt: RuntimeDep) -> StreamingResponse:
    """Follow a job live: server-sent events on each change of its state, then `end`."""
    services.get_job(rt, job_id)  # an unknown job answers 404 JSON before any streaming
    return StreamingResponse(
        _events(rt, job_id),
        media_type="text/event-stream",
        # Proxies must pass each event on as it comes, not buffer or cache the stream.
        headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"},
    )


def sse(event: str, data: str) -> bytes:
    """One server-sent event; `data` is a single line of JSON."""
    return f"event: {event}\ndata: {data}\n\n".encode()


async def _events(rt: Runtime, job_id: int) -> AsyncIterator[bytes]:
    try:
        async for event in services.stream_job(rt, job_id):
            if event is None:
                yield KEEPALIVE
            else:
                yield sse(event.kind, JobOut.from_job(event.job).model_dump_json())
    except ChapterhouseError as exc:
        yield sse("error", json.dumps({"detail": exc.message}))
    except SQLAlchemyError as exc:
        log.warning("job %s events: database error: %s", job_id, exc)
        yield sse("error", json.dumps({"detail": database_unavailable(exc).message}))
