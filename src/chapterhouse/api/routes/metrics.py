"""Prometheus metrics of the whole fleet, read from Redis and the database at scrape time."""

from __future__ import annotations

from fastapi import APIRouter, Response

from chapterhouse import services
from chapterhouse.api.deps import RuntimeDep
from chapterhouse.api.errors import AUTH
from chapterhouse.metrics import CONTENT_TYPE

router = APIRouter(tags=["health"], responses=AUTH)


@router.get(
    "/metrics",
    response_class=Response,
    responses={200: {"content": {CONTENT_TYPE: {}}, "description": "Prometheus text format"}},
)
def metrics(rt: RuntimeDep) -> Response:
    """Queue depth, jobs by status, job durations, crawl counters and workers, for Prometheus.

    Answers even when Redis or the database is down: `chapterhouse_redis_up` and
    `chapterhouse_database_up` then read 0 and the families from that service are left out.
    """
    return Response(content=services.render_metrics(rt), media_type=CONTENT_TYPE)
