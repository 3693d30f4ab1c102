"""Dependencies routes declare through `Annotated` aliases: the runtime, a session, a page,
and the client a submission counts against. The API keys are checked before routing
(`api/access.py`)."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends, Query, Request
from sqlalchemy.orm import Session

from chapterhouse.api.security import key_label, matching_key
from chapterhouse.errors import NotFoundError
from chapterhouse.services import Runtime

# Ids and offsets are 32-bit integers in the schema; larger values would only overflow drivers.
MAX_INT = 2**31 - 1
MAX_LIMIT = 100


# Dependencies that do no I/O are `async def`: FastAPI would run a plain `def` in a thread.


async def get_runtime(request: Request) -> Runtime:
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


LimitQuery = Annotated[int, Query(ge=1, le=MAX_LIMIT, description="Items per page.")]
OffsetQuery = Annotated[int, Query(ge=0, le=MAX_INT, description="Items to skip.")]


async def get_pagination(limit: LimitQuery = 20, offset: OffsetQuery = 0) -> Pagination:
    """Paging parameters shared by every listing."""
    return Pagination(limit=limit, offset=offset)


PaginationDep = Annotated[Pagination, Depends(get_pagination)]


async def get_client(request: Request, rt: RuntimeDep) -> str:
    """Who is asking: a short hash of its API key when keys are set, else its IP address."""
    keys = rt.settings.api_key_list
    header = request.headers.get("authorization", "")
    _scheme, _, token = header.partition(" ")
    key = matching_key(token.strip(), keys) if keys and token.strip() else None
    if key is not None:
        return key_label(key)
    # Behind a reverse proxy, uvicorn's --forwarded-allow-ips puts the real address here.
    return f"ip:{request.client.host if request.client else 'unknown'}"


ClientDep = Annotated[str, Depends(get_client)]
