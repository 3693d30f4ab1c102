"""The FastAPI application. Run it with `uvicorn --factory chapterhouse.api.app:create_app`."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import Depends, FastAPI

from chapterhouse import __version__
from chapterhouse.api.deps import require_access, require_metrics_access
from chapterhouse.api.errors import AUTH, BodySizeLimit, install_error_handlers
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
    series,
)
from chapterhouse.api.routes.docs import DOCS_PATH, install_docs
from chapterhouse.api.security import SecurityHeaders
from chapterhouse.config import Settings, get_settings
from chapterhouse.services import Runtime

DESCRIPTION = """\
Submit a web-novel URL and chapterhouse crawls the novel in the background, politely,
and keeps it: metadata, genres and every chapter as clean HTML.

* `POST /ingest` queues a crawl and answers at once with a job; poll `GET /jobs/{id}`,
  or follow it live with `GET /jobs/{id}/events` (server-sent events).
* `GET /novels`, `/novels/{slug}/chapters/{number}` and `/genres` read the library.
* `GET /health` says whether the database, Redis and workers are there.

When the service has API keys (`CHAPTERHOUSE_API_KEYS`), every write needs
`Authorization: Bearer <key>` (the "Authorize" button here), and reads too when
`CHAPTERHOUSE_PUBLIC_READS` is false.

Every error answers with JSON carrying a readable `detail`.
"""

TAGS = [
    {"name": "ingest", "description": "Queue novels for crawling."},
    {"name": "jobs", "description": "Follow ingestion jobs."},
    {"name": "novels", "description": "Read stored novels and chapters."},
    {"name": "genres", "description": "Browse by genre."},
    {"name": "series", "description": "Series of novels (AO3), each novel stored on its own."},
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
        # Our own /docs serves Swagger UI locally (a strict CSP); ReDoc needs a CDN: none.
        docs_url=None,
        redoc_url=None,
    )
    install_error_handlers(app)
    # The last added runs first: security headers go on every answer, the 413 included.
    app.add_middleware(BodySizeLimit)
    app.add_middleware(SecurityHeaders, docs_path=DOCS_PATH)
    routers = (ingest.router, jobs.router, events.router, novels.router, genres.router)
    for router in (*routers, series.router, follows.router, control.router):
        # Writes need an API key when keys are set; reads too when they are not public.
        app.include_router(router, dependencies=[Depends(require_access)], responses=AUTH)
    app.include_router(
        metrics.router, dependencies=[Depends(require_metrics_access)], responses=AUTH
    )
    app.include_router(health.router)  # always open: load balancers and probes ask it
    install_docs(app)
    return app
