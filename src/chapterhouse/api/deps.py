"""Dependencies routes declare through `Annotated` aliases: the runtime, a session, a page,
and the access rules (API keys for writes, for reads when closed, for /metrics)."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends, Query, Request, Security
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from sqlalchemy.orm import Session

from chapterhouse import services
from chapterhouse.api.security import authorize, key_label, matching_key
from chapterhouse.errors import NotFoundError
from chapterhouse.services import Runtime

# Ids and offsets are 32-bit integers in the schema; larger values would only overflow drivers.
MAX_INT = 2**31 - 1
MAX_LIMIT = 100


def get_runtime(request: Request) -> Runtime:
    """The connections the app's lifespan built."""
    runtime: Runtime = request.app.state.runtime
    return runtime


RuntimeDep = Annotated[Runtime, Depends(get_runtime)]


def get_session(rt: RuntimeDep) -> Iterator[Session]:
    """A read session for one request, closed when the request ends."""
    with rt.sessions() as session:
        yield session


SessionDep = Annotated[Session, Depends(get_session)]


@dataclass(frozen=True, slots=True)
class Pagination:
    """`limit` and `offset` of a listing request."""

    limit: int
    offset: int

    def check(self, total: int, noun: str) -> None:
        """Refuse a page that starts past the end, so a client's paging bug is not silent."""
        if self.offset > 0 and self.offset >= total:
            there = f"there is 1 {noun}" if total == 1 else f"there are {total} {noun}s"
            raise NotFoundError(f"offset {self.offset} is past the end: {there}")


def get_pagination(
    limit: Annotated[int, Query(ge=1, le=MAX_LIMIT, description="Items per page.")] = 20,
    offset: Annotated[int, Query(ge=0, le=MAX_INT, description="Items to skip.")] = 0,
) -> Pagination:
    """Paging parameters shared by every listing."""
    return Pagination(limit=limit, offset=offset)


PaginationDep = Annotated[Pagination, Depends(get_pagination)]


# Declared so OpenAPI and /docs show the scheme (an "Authorize" button); the header itself is
# read below, to tell a missing key (401) from a wrong one (403).
bearer = HTTPBearer(
    auto_error=False,
    scheme_name="API key",
    description="One of `CHAPTERHOUSE_API_KEYS`, when that is set.",
)
BearerDep = Annotated[HTTPAuthorizationCredentials | None, Security(bearer)]

# Methods that only read: open to all unless CHAPTERHOUSE_PUBLIC_READS is false.
READ_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


def require_access(request: Request, rt: RuntimeDep, _bearer: BearerDep) -> None:
    """With API keys set: writes need one; reads too unless `CHAPTERHOUSE_PUBLIC_READS`.

    Applied to whole routers, so a new write route is guarded by its method alone.
    """
    keys = rt.settings.api_key_list
    if not keys or (request.method in READ_METHODS and rt.settings.public_reads):
        return
    authorize(request.headers.get("authorization"), keys)


def require_metrics_access(request: Request, rt: RuntimeDep, _bearer: BearerDep) -> None:
    """/metrics takes `CHAPTERHOUSE_METRICS_TOKEN` or any API key, once either is set."""
    token = rt.settings.metrics_token
    accepted = [*rt.settings.api_key_list, *([token] if token else [])]
    if accepted:
        authorize(request.headers.get("authorization"), accepted)


def get_client(request: Request, rt: RuntimeDep) -> str:
    """Who is asking: a short hash of its API key when keys are set, else its IP address."""
    keys = rt.settings.api_key_list
    header = request.headers.get("authorization", "")
    _scheme, _, token = header.partition(" ")
    key = matching_key(token.strip(), keys) if keys and token.strip() else None
    if key is not None:
        return key_label(key)
    # Behind a reverse proxy, uvicorn's --forwarded-allow-ips puts the real address here.
    return f"ip:{request.client.host if request.client else 'unknown'}"


def get_ingest_client(client: Annotated[str, Depends(get_client)], rt: RuntimeDep) -> str:
    """The client of a submission, counted against `CHAPTERHOUSE_INGEST_RATE_LIMIT` (429)."""
    services.check_ingest_rate(rt, client)
    return client


IngestClientDep = Annotated[str, Depends(get_ingest_client)]
