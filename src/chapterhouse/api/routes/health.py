"""Liveness of the service and the things it depends on."""

from __future__ import annotations

from fastapi import APIRouter, Response, status

from chapterhouse import services
from chapterhouse.api.deps import RuntimeDep
from chapterhouse.api.schemas import Health

router = APIRouter(tags=["health"])


@router.get(
    "/health",
    responses={503: {"model": Health, "description": "PostgreSQL or Redis does not answer"}},
    response_model_exclude_none=True,
)
def health(rt: RuntimeDep, response: Response) -> Health:
    """Check the database and Redis and count the workers; 503 when either service is down."""
    report = services.check_health(rt)
    detail = None
    if not report.healthy:
        response.status_code = status.HTTP_503_SERVICE_UNAVAILABLE
        # A `detail` like every other error body, e.g. "the database is unavailable: …".
        detail = "; ".join(
            f"the {name} is {state}" if name == "database" else f"{name} is {state}"
            for name, state in report.checks.items()
            if str(state).startswith("unavailable")
        )
    return Health.model_validate(
        {"status": report.status, "checks": report.checks, "detail": detail}
    )
