"""Submissions of one novel, or of one client, decided one at a time across every API process.

Whether a novel has an active job and how many active jobs a client has are read, then a job is
inserted: two processes (two API workers, or the API and the CLI) doing that at once would both
read "none" and both insert. On PostgreSQL each submission first takes transaction-scoped
advisory locks on its novel and its client, so the second waits for the first's commit and then
sees its job. Locks are taken in ascending order, so two batches never wait on each other in a
circle. SQLite has no such locks, and its one writer at a time does not stop two processes from
both reading "none" first: it stays the single-machine default, where submissions are few.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable

from sqlalchemy import bindparam, text
from sqlalchemy.dialects.postgresql import ARRAY, BIGINT
from sqlalchemy.orm import Session

# Takes each lock in the order given (already ascending); held until the transaction ends.
LOCK_SQL = "SELECT count(pg_advisory_xact_lock(k)) FROM unnest($1::bigint[]) AS k"
_ORM_LOCK = text("SELECT count(pg_advisory_xact_lock(k)) FROM unnest(:keys) AS k").bindparams(
    bindparam("keys", type_=ARRAY(BIGINT))
)


def lock_key(kind: str, value: str) -> int:
    """A stable signed 64-bit key for an advisory lock (the same in every process)."""
    digest = hashlib.blake2b(f"chapterhouse:{kind}:{value}".encode(), digest_size=8).digest()
    return int.from_bytes(digest, "big", signed=True)


def submission_keys(novel_keys: Iterable[str], clients: Iterable[str | None]) -> list[int]:
    """The locks a set of submissions takes, ascending and without repeats."""
    keys = {lock_key("novel", key) for key in novel_keys}
    keys.update(lock_key("client", client) for client in clients if client is not None)
    return sorted(keys)


def lock_submissions(session: Session, novel_key: str, client: str | None) -> None:
    """Take one submission's locks in the session's transaction (PostgreSQL only)."""
    if session.get_bind().dialect.name != "postgresql":
        return
    session.execute(_ORM_LOCK, {"keys": submission_keys([novel_key], [client])})
