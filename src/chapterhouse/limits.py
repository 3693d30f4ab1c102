"""Per-client abuse limits: a request rate kept in Redis, so every API process shares it."""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, Any

from chapterhouse.errors import LimitExceededError

if TYPE_CHECKING:
    from redis import Redis
    from redis.asyncio import Redis as AsyncRedis

RATE_KEY = "chapterhouse:ratelimit:{action}:{client}"


# A fixed window: the first request starts it, and the counter expires with it. One script
# counts any number of requests (a key per request, repeated for a client's several), so a
# burst costs one round trip and one reply to parse, on the sync and the asyncio client alike.
TAKE_LUA = """
local answers = {}
for i, key in ipairs(KEYS) do
  local count = redis.call('INCR', key)
  local ttl = redis.call('PTTL', key)
  if ttl < 0 then
    redis.call('PEXPIRE', key, ARGV[1])
    ttl = tonumber(ARGV[1])
  end
  answers[i] = {count, ttl}
end
return answers
"""


def take(redis: Redis, action: str, client: str, *, limit: int, window: int) -> float | None:
    """Count one `action` of `client`; over `limit` in this window, the seconds until it ends."""
    key = RATE_KEY.format(action=action, client=client)
    [(count, ttl_ms)] = redis.register_script(TAKE_LUA)(keys=[key], args=[window * 1000])
    return _wait(count, ttl_ms, limit)


async def take_many(
    redis: AsyncRedis, action: str, clients: list[str], *, limit: int, window: int
) -> list[float | None]:
    """`take` for several requests at once, on an asyncio client: an answer per request."""
    keys = [RATE_KEY.format(action=action, client=client) for client in clients]
    answers = await redis.register_script(TAKE_LUA)(keys=keys, args=[window * 1000])
    return [_wait(count, ttl_ms, limit) for count, ttl_ms in answers]


def _wait(count: Any, ttl_ms: Any, limit: int) -> float | None:
    if int(count) <= limit:
        return None
    return max(int(ttl_ms), 0) / 1000


def check_ingest_rate(redis: Redis, client: str, *, limit: int, window: int) -> None:
    """Raise LimitExceededError when `client` submitted more than `limit` in `window` seconds."""
    if limit <= 0:
        return
    wait = take(redis, "ingest", client, limit=limit, window=window)
    if wait is not None:
        raise ingest_rate_exceeded(wait, limit, window)


def ingest_rate_exceeded(wait: float, limit: int, window: int) -> LimitExceededError:
    """The refusal of a submission over the rate, `wait` seconds before the window ends."""
    return LimitExceededError(
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
