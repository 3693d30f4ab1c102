"""The FastAPI application. Run it with `uvicorn --factory chapterhouse.api.app:create_app`."""

from __future__ import annotations

import gc
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import APIRouter, FastAPI

from chapterhouse import __version__
from chapterhouse.api.access import AccessControl, install_openapi_security
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
    series,
)
from chapterhouse.api.routes.docs import DOCS_PATH, install_docs
from chapterhouse.api.security import SecurityHeaders
from chapterhouse.api.submitter import Submitter
from chapterhouse.config import Settings, get_settings
from chapterhouse.db.aio import make_pool
from chapterhouse.db.reads import LibraryReads
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
        # PostgreSQL: submissions and the busiest reads go through asyncpg; SQLite: the engine.
        app.state.pg = await make_pool(runtime.settings)
        pool = app.state.pg
        app.state.library = LibraryReads(pool) if pool is not None else None
        app.state.submitter = Submitter(runtime, pool) if pool is not None else None
        try:
            yield
        finally:
            if pool is not None:
                await app.state.submitter.close()
                await pool.close()
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
        # We report through /metrics and the logs. FastAPI's own OpenTelemetry hooks asked the
        # OpenTelemetry API for its providers on every request (~5% of a listing's CPU) only to
        # find none set; OpenTelemetry's ASGI middleware can still wrap the app.
        telemetry={"tracing": False, "metrics": False, "logs": False},
    )
    install_error_handlers(app)
    # The last added runs first: security headers go on every answer, the 413 and 401 included;
    # a body over the cap is refused before its key is even looked at.
    app.add_middleware(AccessControl)
    app.add_middleware(BodySizeLimit)
    app.add_middleware(SecurityHeaders, docs_path=DOCS_PATH)
    # AccessControl guards every route but /health: writes need an API key when keys are set;
    # reads too when they are not public; /metrics its token or a key.
    routers = (novels.router, ingest.router, jobs.router, events.router, genres.router)
    for router in (*routers, series.router, follows.router, control.router, metrics.router):
        add_routes(app, router)
    add_routes(app, health.router)
    install_docs(app)
    install_openapi_security(app)
    return app


def add_routes(app: FastAPI, router: APIRouter) -> None:
    """Register the router's routes as the app's own.

    `include_router` would keep them behind a branch FastAPI matches anew on every request,
    which cost ~150-190 µs per request (a 404 walked every branch), more than most routes' work.
    """
    app.router.routes.extend(router.routes)


def create_served_app() -> FastAPI:
    """The app as `chapterhouse serve` runs it, in each of its uvicorn worker processes.

    Workers are spawned, not forked: each configures its own logging from the settings.
    """
    from chapterhouse.logs import configure_logging

    settings = get_settings()
    configure_logging(settings)
    app = create_app(settings)
    # Everything built so far lives as long as the process: out of the collector's sight, so
    # a full collection under load no longer walks it (a pause of ~100 ms at p99).
    gc.freeze()
    return app
