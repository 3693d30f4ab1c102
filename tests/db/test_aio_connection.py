"""The API's pooled connections when PostgreSQL goes away under them."""

from __future__ import annotations

import asyncio

import pytest
from asyncpg.exceptions import ConnectionDoesNotExistError

from chapterhouse.config import Settings
from chapterhouse.db.aio import connection, make_pool
from chapterhouse.errors import DatabaseUnavailableError


def test_a_connection_asyncpg_took_back_first_still_ends_as_database_unavailable(
    settings: Settings,
) -> None:
    # The server closed the connection and asyncpg released it from the pool before our error
    # handling ran: the user still gets the 503 error, not "released back to the pool".
    async def scenario() -> None:
        pool = await make_pool(settings)
        assert pool is not None
        try:
            with pytest.raises(DatabaseUnavailableError):
                async with connection(pool) as conn:
                    await pool.release(conn)
                    raise ConnectionDoesNotExistError("terminating connection")
            async with connection(pool) as conn:  # the pool still hands out working ones
                assert await conn.fetchval("SELECT 1") == 1
        finally:
            await pool.close()

    asyncio.run(scenario())
