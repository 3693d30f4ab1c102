"""The API's asyncpg pool: its hottest reads on PostgreSQL without a thread or an ORM.

SQLite has no such pool (`make_pool` returns None) and keeps the SQLAlchemy engine. Errors that
mean the database is away become DatabaseUnavailableError (503), like the engine's do.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import asyncpg
from asyncpg.exceptions import (
    InsufficientResourcesError,
    InterfaceError,
    InternalClientError,
    OperatorInterventionError,
    PostgresConnectionError,
)

from chapterhouse.config import Settings
from chapterhouse.errors import DatabaseUnavailableError

# What a query can meet when the server went away, restarts or is full.
_GONE = (
    OSError,
    asyncio.TimeoutError,
    PostgresConnectionError,
    InterfaceError,
    OperatorInterventionError,
    InsufficientResourcesError,
    # A pooled connection the server dropped while idle, its farewell not yet read: the
    # protocol is left mid-error, and the next query meets that.
    InternalClientError,
)


def asyncpg_dsn(settings: Settings) -> str | None:
    """The libpq-style URL asyncpg takes, or None when the database is not PostgreSQL."""
    url = settings.effective_database_url
    scheme, sep, rest = url.partition("://")
    if not sep or not scheme.startswith("postgresql"):
        return None
    return f"postgresql://{rest}"


async def make_pool(settings: Settings, *, max_size: int = 10) -> asyncpg.Pool | None:
    """A pool that connects on first use (so the API starts while PostgreSQL is down)."""
    dsn = asyncpg_dsn(settings)
    if dsn is None:
        return None
    pool: asyncpg.Pool = await asyncpg.create_pool(
        dsn,
        min_size=0,
        max_size=max_size,
        timeout=5,  # seconds to connect, as the engine's connect_timeout
        max_inactive_connection_lifetime=300,
        reset=_keep_session,
    )
    return pool


async def _keep_session(_conn: asyncpg.Connection) -> None:
    # asyncpg's default reset is a round trip per release (RESET ALL, UNLISTEN *, ...), as
    # long as the query itself; our statements change no session state, and asyncpg still
    # rolls back a transaction left open.
    return None


@asynccontextmanager
async def connection(pool: asyncpg.Pool) -> AsyncIterator[asyncpg.Connection]:
    """A pooled connection; DatabaseUnavailableError when the database cannot be reached."""
    try:
        conn = await pool.acquire()
    except (*_GONE, asyncpg.PostgresError) as exc:
        # Any refusal to connect (no such database, connections not allowed, a full server).
        raise unavailable(exc) from None
    try:
        yield conn
    except _GONE as exc:
        # Never handed out again: the pool opens a fresh one. When the server closed it first,
        # asyncpg may have taken it back from us already, and terminating it again is refused.
        with contextlib.suppress(InterfaceError):
            conn.terminate()
        raise unavailable(exc) from None
    finally:
        await pool.release(conn)


def unavailable(exc: BaseException) -> DatabaseUnavailableError:
    """The user-facing error for a driver error that means the database is away."""
    return DatabaseUnavailableError(f"the database is unavailable: {type(exc).__name__}")
