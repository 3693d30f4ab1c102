"""A PostgreSQL outage for one test run's private database, the server itself left running.

`ALTER DATABASE … ALLOW_CONNECTIONS false` plus terminating its sessions is what clients see when
their database goes away (open connections drop, new ones are refused), yet every other database
on the machine, other test runs' included, goes on answering.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import psycopg
from sqlalchemy.engine import make_url

PG_SERVER = "postgresql://postgres@127.0.0.1:5432"


def _admin(sql: str, name: str) -> None:
    with psycopg.connect(f"{PG_SERVER}/postgres", autocommit=True) as conn:
        conn.execute(sql.format(name=name))
        conn.execute(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity"
            " WHERE datname = %s AND pid <> pg_backend_pid()",
            (name,),
        )


def cut_database(url: str) -> None:
    """Refuse new connections to the database at `url` and drop the open ones."""
    name = make_url(url).database
    assert name and name.startswith("chapterhouse_test_"), "only a test database may go down"
    _admin('ALTER DATABASE "{name}" WITH ALLOW_CONNECTIONS false', name)


def restore_database(url: str) -> None:
    """Accept connections to the database at `url` again."""
    name = make_url(url).database
    assert name
    with psycopg.connect(f"{PG_SERVER}/postgres", autocommit=True) as conn:
        conn.execute(f'ALTER DATABASE "{name}" WITH ALLOW_CONNECTIONS true')


@contextmanager
def database_down(url: str) -> Iterator[None]:
    """The database at `url` is unreachable inside the block, and back after it."""
    cut_database(url)
    try:
        yield
    finally:
        restore_database(url)
