"""The FastAPI application. Run it with `uvicorn --factory chapterhouse.api.app:create_app`."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI

from chapterhouse import __version__
from chapterhouse.api.errors import BodySizeLimit, install_error_handlers
from chapterhouse.api.routes import (
    control,
    events,
    follows,
    genres,
    health,
    ingest,
    jobs,
    metrics,
    novels,
)
from chapterhouse.config import Settings, get_settings
from chapterhouse.services import Runtime

DESCRIPTION = """\
Submit a web-novel URL and chapterhouse crawls the novel in the background, politely,
and keeps it: metadata, genres and every chapter as clean HTML.

* `POST /ingest` queues a crawl and answers at once with a job; poll `GET /jobs/{id}`,
  or follow it live with `GET /jobs/{id}/events` (server-sent events).
* `GET /novels`, `/novels/{slug}/chapters/{number}` and `/genres` read the library.
* `GET /health` says whether the database, Redis and workers are there.

Every error answers with JSON carrying a readable `detail`.
"""

TAGS = [
    {"name": "ingest", "description": "Queue novels for crawling."},
    {"name": "jobs", "description": "Follow ingestion jobs."},
    {"name": "novels", "description": "Read stored novels and chapters."},
    {"name": "genres", "description": "Browse by genre."},
    {"name": "control", "description": "Pause, resume and drain the queue; pause a site."},
    {"name": "health", "description": "Service status."},
]


def create_app(settings: Settings | None = None) -> FastAPI:
    """Build the API; connections are made when it starts and released when it stops."""

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        # Settings are read here, at startup, never at import time.
        runtime = Runtime(settings or get_settings())
        app.state.runtime = runtime
        try:
            yield
        finally:
            runtime.close()

    app = FastAPI(
        title="chapterhouse",
        summary="A self-hostable web-novel ingestion service.",
        description=DESCRIPTION,
        version=__version__,
        openapi_tags=TAGS,
        lifespan=lifespan,
    )
    install_error_handlers(app)
    app.add_middleware(BodySizeLimit)
    routers = (ingest.router, jobs.router, events.router, novels.router, genres.router)
    for router in (*routers, follows.router, control.router, health.router, metrics.router):
        app.include_router(router)
    return app
