"""Per-client abuse limits: a request rate kept in Redis, so every API process shares it."""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

from chapterhouse.errors import LimitExceededError

if TYPE_CHECKING:
    from redis import Redis

RATE_KEY = "chapterhouse:ratelimit:{action}:{client}"


def take(redis: Redis, action: str, client: str, *, limit: int, window: int) -> float | None:
    """Count one `action` of `client`; over `limit` in this window, the seconds until it ends.

    A fixed window: the first request starts it, and the counter expires with it.
    """
    key = RATE_KEY.format(action=action, client=client)
    with redis.pipeline(transaction=True) as pipe:
        pipe.set(key, 0, ex=window, nx=True)
        pipe.incr(key)
        pipe.pttl(key)
        _, count, ttl_ms = pipe.execute()
    if int(count) <= limit:
        return None
    return max(int(ttl_ms), 0) / 1000


def check_ingest_rate(redis: Redis, client: str, *, limit: int, window: int) -> None:
    """Raise LimitExceededError when `client` submitted more than `limit` in `window` seconds."""
    if limit <= 0:
        return
    wait = take(redis, "ingest", client, limit=limit, window=window)
    if wait is None:
        return
    raise LimitExceededError(
        f"too many submissions: CHAPTERHOUSE_INGEST_RATE_LIMIT is {limit} per "
        f"{window} s (CHAPTERHOUSE_INGEST_RATE_WINDOW); try again in {math.ceil(wait)} s",
        setting="CHAPTERHOUSE_INGEST_RATE_LIMIT",
        limit=limit,
        retry_after=max(1, math.ceil(wait)),
    )


def active_jobs_exceeded(active: int, limit: int) -> LimitExceededError | None:
    """The refusal for a client that already has `active` jobs, or None while under `limit`."""
    if limit <= 0 or active < limit:
        return None
    return LimitExceededError(
        f"too many active jobs: this client has {active} queued or running, and "
        f"CHAPTERHOUSE_MAX_ACTIVE_JOBS_PER_CLIENT is {limit}; wait for some to finish",
        setting="CHAPTERHOUSE_MAX_ACTIVE_JOBS_PER_CLIENT",
        limit=limit,
    )
