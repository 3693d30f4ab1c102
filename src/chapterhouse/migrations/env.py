"""Alembic environment: the URL comes from Settings (or from the caller's config)."""

from __future__ import annotations

from alembic import context
from sqlalchemy import Connection

from chapterhouse.config import get_settings
from chapterhouse.db.engine import make_engine
from chapterhouse.db.models import Base

target_metadata = Base.metadata


def _run(connection: Connection) -> None:
    context.configure(
        connection=connection,
        target_metadata=target_metadata,
        render_as_batch=connection.dialect.name == "sqlite",
    )
    with context.begin_transaction():
        context.run_migrations()


def run_migrations_online() -> None:
    """Run against the connection handed over by `chapterhouse migrate`, or a new engine."""
    connection = context.config.attributes.get("connection")
    if connection is not None:
        _run(connection)
        return
    engine = make_engine(get_settings())
    with engine.begin() as conn:
        _run(conn)
    engine.dispose()


run_migrations_online()
