"""Per-domain politeness shared by every worker on every machine, kept in Redis.

Each domain has three keys: the earliest time the next request may start, the leases of the
requests in flight (a sorted set, so a killed worker's lease simply expires), and a cool-down
set when the site answers 429/503. One Lua script decides atomically, on Redis's clock, so
workers on machines with skewed clocks still agree.

With no interval between requests, only the number in flight is shared: a crawler then hands the
slot of a request that just ended to its next request itself, asking Redis again only every
`REUSE_FOR` seconds. The count in flight is the same either way; a cool-down or pause set by
another worker is seen within `REUSE_FOR` instead of at once.
"""

from __future__ import annotations

import asyncio
import logging
import random
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from email.utils import parsedate_to_datetime
from typing import TYPE_CHECKING, Any, cast
from urllib.parse import urlsplit

from redis import Redis
from redis.exceptions import RedisError

from chapterhouse.metrics import REQUESTS_KEY, record_throttled, safely
from chapterhouse.queue.pauses import DOMAINS_KEY

if TYPE_CHECKING:
    from scrapy.crawler import Crawler
    from scrapy.http import Request, Response

log = logging.getLogger(__name__)

PREFIX = "chapterhouse:polite"
# An ended request's slot is freed with the next request's acquire when one follows at once
# (the usual case in a crawl), else after this many seconds.
RELEASE_AFTER = 0.05
# With no interval, a slot taken from Redis is handed from one request to the next for this long.
REUSE_FOR = 0.1

# KEYS: next start, leases, cool-down, paused domains, requests-sent counters.
# ARGV: interval, concurrency, token, lease, domain, the token of this crawler's previous request
# to the domain when it ended since ('' for none): freeing it here saves a round trip a page;
# requests sent on a handed-over slot, not counted yet.
_ACQUIRE = """
local t = redis.call('TIME')
local now = tonumber(t[1]) + tonumber(t[2]) / 1e6
if tonumber(ARGV[7]) > 0 then redis.call('HINCRBY', KEYS[5], ARGV[5], ARGV[7]) end
if ARGV[6] ~= '' then
  redis.call('ZREM', KEYS[2], ARGV[6])
  local ended = tonumber(redis.call('GET', KEYS[1]) or '0')
  if now + tonumber(ARGV[1]) > ended then
    redis.call('SET', KEYS[1], string.format('%.6f', now + tonumber(ARGV[1])), 'EX', 3600)
  end
end
redis.call('ZREMRANGEBYSCORE', KEYS[2], '-inf', now)
if redis.call('SISMEMBER', KEYS[4], ARGV[5]) == 1 then return {'wait', '1', 'paused'} end
local cool = tonumber(redis.call('GET', KEYS[3]) or '0')
if cool > now then return {'wait', tostring(cool - now), 'cool'} end
local nxt = tonumber(redis.call('GET', KEYS[1]) or '0')
if nxt > now + 1e-6 then return {'wait', tostring(nxt - now), 'gap'} end
if redis.call('ZCARD', KEYS[2]) >= tonumber(ARGV[2]) then return {'wait', '0.05', 'busy'} end
redis.call('ZADD', KEYS[2], now + tonumber(ARGV[4]), ARGV[3])
redis.call('SET', KEYS[1], string.format('%.6f', now + tonumber(ARGV[1])), 'EX', 3600)
redis.call('HINCRBY', KEYS[5], ARGV[5], 1)
return {'go', '0', ''}
"""

# A request's end also pushes the next start out, so gaps hold even when responses are slow.
# KEYS: next start, leases, requests-sent counters. ARGV: interval, token, domain, uncounted.
_RELEASE = """
local t = redis.call('TIME')
local now = tonumber(t[1]) + tonumber(t[2]) / 1e6
if tonumber(ARGV[4]) > 0 then redis.call('HINCRBY', KEYS[3], ARGV[3], ARGV[4]) end
redis.call('ZREM', KEYS[2], ARGV[2])
local nxt = tonumber(redis.call('GET', KEYS[1]) or '0')
if now + tonumber(ARGV[1]) > nxt then
  redis.call('SET', KEYS[1], string.format('%.6f', now + tonumber(ARGV[1])), 'EX', 3600)
end
return 1
"""

_COOL_DOWN = """
local t = redis.call('TIME')
local now = tonumber(t[1]) + tonumber(t[2]) / 1e6
local until_ = now + tonumber(ARGV[1])
local cool = tonumber(redis.call('GET', KEYS[1]) or '0')
if until_ > cool then redis.call('SET', KEYS[1], string.format('%.6f', until_), 'EX', 86400) end
return string.format('%.6f', math.max(until_, cool))
"""


@dataclass(frozen=True, slots=True)
class Limit:
    """How politely to treat one domain."""

    interval: float  # seconds between the start of one request and the next
    concurrency: int  # requests in flight at once


class DomainLimiter:
    """Shared per-domain request slots in Redis."""

    def __init__(self, redis: Redis, lease: float = 35.0) -> None:
        self.redis = redis
        # A request in flight longer than this no longer blocks the domain: a killed worker's
        # slot frees itself. It is the download timeout plus a margin.
        self.lease = lease
        self._acquire = redis.register_script(_ACQUIRE)
        self._release = redis.register_script(_RELEASE)
        self._cool_down = redis.register_script(_COOL_DOWN)

    @staticmethod
    def _keys(domain: str) -> list[str]:
        return [f"{PREFIX}:{domain}:next", f"{PREFIX}:{domain}:leases", f"{PREFIX}:{domain}:cool"]

    def try_acquire(
        self, domain: str, limit: Limit, token: str, ended: str = "", uncounted: int = 0
    ) -> tuple[float, str]:
        """(0, "") when the request may start now, else (seconds to wait, why).

        `ended` is the token of a request that ended since and was not released yet: it is
        released first, in the same round trip. A request let go is counted for /metrics, and
        so are `uncounted` requests sent on a handed-over slot.
        """
        verdict, wait, why = self._acquire(
            keys=[*self._keys(domain), DOMAINS_KEY, REQUESTS_KEY],
            args=[limit.interval, limit.concurrency, token, self.lease, domain, ended, uncounted],
        )
        return (0.0, "") if verdict == b"go" else (float(wait), why.decode())

    def release(self, domain: str, limit: Limit, token: str, uncounted: int = 0) -> None:
        """The request ended; free its slot (and count `uncounted` requests for /metrics)."""
        keys = self._keys(domain)
        self._release(
            keys=[*keys[:2], REQUESTS_KEY], args=[limit.interval, token, domain, uncounted]
        )

    def cool_down(self, domain: str, seconds: float) -> float:
        """Pause the domain for every worker; returns the Redis time it is paused until."""
        until = self._cool_down(keys=[self._keys(domain)[2]], args=[seconds])
        return float(until)

    def strike(self, domain: str) -> int:
        """Count one more throttling answer in a row (forgotten after ten quiet minutes)."""
        key = f"{PREFIX}:{domain}:strikes"
        count = int(self.redis.incr(key))
        self.redis.expire(key, 600)
        return count

    def clear_strikes(self, domain: str) -> None:
        """The domain answered normally again."""
        self.redis.delete(f"{PREFIX}:{domain}:strikes")

    def now(self) -> float:
        """Redis's clock, the one every worker shares."""
        seconds, micros = self.redis.time()
        return float(seconds) + micros / 1e6


def retry_after_seconds(value: bytes | str | None) -> float | None:
    """Parse a Retry-After header: seconds or an HTTP date."""
    if not value:
        return None
    text = value.decode("latin-1") if isinstance(value, bytes) else value
    text = text.strip()
    try:
        return max(float(text), 0.0)
    except ValueError:
        pass
    try:
        from datetime import UTC, datetime

        return max((parsedate_to_datetime(text) - datetime.now(UTC)).total_seconds(), 0.0)
    except (TypeError, ValueError):
        return None


def backoff_seconds(strikes: int, retry_after: float | None, base: float, cap: float) -> float:
    """Exponential backoff with jitter, never shorter than what the site asked for."""
    exponential = min(cap, base * 2.0 ** max(strikes - 1, 0))
    jittered = exponential * (0.5 + random.random() / 2)
    return max(retry_after or 0.0, jittered)


class PolitenessMiddleware:
    """Scrapy downloader middleware: no request leaves before the shared limiter allows it."""

    def __init__(
        self,
        limiter: DomainLimiter,
        limit: Limit,
        *,
        backoff_base: float,
        backoff_cap: float,
        on_wait: Callable[[str, float], None] | None = None,
        on_pause: Callable[[str], None] | None = None,
    ) -> None:
        # on_wait(domain, until) shows a cool-down on the job; until=0 clears it.
        # on_pause(domain) shows that the domain is paused (`chapterhouse pause DOMAIN`).
        self._struck: set[str] = set()  # domains this crawl saw throttle, to clear once calm
        self.limiter = limiter
        self.limit = limit
        self.backoff_base = backoff_base
        self.backoff_cap = backoff_cap
        self.on_wait = on_wait
        self.on_pause = on_pause
        # Slots of ended requests, freed with this crawler's next acquire for the domain (one
        # round trip instead of two) or by a timer soon after, whichever comes first; with the
        # monotonic time each was taken from Redis (handing it over stops REUSE_FOR after).
        self._ended: dict[str, tuple[str, Any, float]] = {}
        # Requests sent on a handed-over slot per domain, counted with the next Redis call.
        self._uncounted: dict[str, int] = {}

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> PolitenessMiddleware:
        """Build from the crawler's settings (see `crawl.runner.scrapy_settings`)."""
        settings = crawler.settings
        # One connection, used only by the reactor's thread: no pool checkout per request.
        redis = Redis.from_url(
            settings["CHAPTERHOUSE_REDIS_URL"], socket_timeout=10, single_connection_client=True
        )
        limit = Limit(
            interval=settings.getfloat("CHAPTERHOUSE_INTERVAL"),
            concurrency=settings.getint("CHAPTERHOUSE_CONCURRENCY"),
        )

        def on_wait(domain: str, until: float) -> None:
            # The spider is made after the middleware; its job recorder shows the wait.
            recorder = getattr(crawler.spider, "recorder", None)
            if recorder is not None:
                recorder.waiting(domain, until)

        def on_pause(domain: str) -> None:
            recorder = getattr(crawler.spider, "recorder", None)
            if recorder is not None:
                recorder.paused(domain)

        middleware = cls(
            DomainLimiter(redis, lease=settings.getfloat("DOWNLOAD_TIMEOUT") + 5),
            limit,
            backoff_base=settings.getfloat("CHAPTERHOUSE_BACKOFF_BASE", 5.0),
            backoff_cap=settings.getfloat("CHAPTERHOUSE_BACKOFF_CAP", 600.0),
            on_wait=on_wait,
            on_pause=on_pause,
        )
        from scrapy import signals

        crawler.signals.connect(middleware.release_ended, signal=signals.spider_closed)
        return middleware

    async def process_request(self, request: Request) -> None:
        """Wait for a slot on the request's domain, then let it go."""
        domain = _domain(request.url)
        if self._hand_over(request, domain):
            return
        token = uuid.uuid4().hex
        announced = 0.0
        pause_shown = False
        ended, _ = self._take_ended(domain)
        while True:
            taken = time.monotonic()
            uncounted = self._uncounted.pop(domain, 0)
            wait, why = self.limiter.try_acquire(domain, self.limit, token, ended, uncounted)
            ended = ""
            if wait <= 0:
                break
            if why == "paused" and not pause_shown:
                # Waits like a cool-down, for as long as the pause lasts.
                if self.on_pause is not None:
                    self.on_pause(domain)
                pause_shown = True
                announced = announced or -1.0  # nonzero: the note is cleared once resumed
            if why == "cool" and self.on_wait is not None and wait > 0.5:
                until = self.limiter.now() + wait
                if until - announced > 1.0:
                    self.on_wait(domain, until)
                    announced = until
            await asyncio.sleep(min(wait, 1.0))
        if announced and self.on_wait is not None:
            self.on_wait(domain, 0.0)
        request.meta["polite_token"] = token
        request.meta["polite_taken"] = taken

    def _hand_over(self, request: Request, domain: str) -> bool:
        """Start the request on the slot of one that just ended, when no interval is due."""
        if self.limit.interval > 0:
            return False  # every start must be spaced in Redis, for every worker
        ended = self._ended.get(domain)
        if ended is None or time.monotonic() - ended[2] >= REUSE_FOR:
            return False
        token, taken = self._take_ended(domain)
        request.meta["polite_token"] = token
        request.meta["polite_taken"] = taken
        self._uncounted[domain] = self._uncounted.get(domain, 0) + 1
        return True

    def process_response(self, request: Request, response: Response) -> Response:
        """Free the slot; a 429/503 cools the domain down for every worker."""
        domain = _domain(request.url)
        throttled = response.status in (429, 503)
        self._ended_now(request, domain, reusable=not throttled)
        if throttled:
            safely(record_throttled, self.limiter.redis, domain, response.status)
            strikes = self.limiter.strike(domain)
            self._struck.add(domain)
            asked = retry_after_seconds(response.headers.get("Retry-After"))
            seconds = backoff_seconds(strikes, asked, self.backoff_base, self.backoff_cap)
            until = self.limiter.cool_down(domain, seconds)
            log.warning(
                "%s answered %s: every worker waits %.1f s", domain, response.status, seconds
            )
            if self.on_wait is not None:
                self.on_wait(domain, until)
        elif response.status < 400 and domain in self._struck:
            self.limiter.clear_strikes(domain)
            self._struck.discard(domain)
        return response

    def process_exception(self, request: Request, exception: Exception) -> Any:
        """Free the slot of a request that failed without a response."""
        self._ended_now(request, _domain(request.url))
        return None

    def release_ended(self) -> None:
        """Free every slot still held for an ended request (the crawl is over)."""
        for domain in list(self._ended):
            self._release_ended(domain)

    def _ended_now(self, request: Request, domain: str, *, reusable: bool = True) -> None:
        token = request.meta.pop("polite_token", None)
        taken = request.meta.pop("polite_taken", 0.0)
        if not reusable:  # a throttled answer: the next request asks Redis, where the cool-down is
            taken = float("-inf")
        if not token:
            return  # it never left (refused by robots.txt, say)
        if domain in self._ended:
            self._release_ended(domain)  # several in flight: free the older one now
        from twisted.internet import reactor

        timer = cast(Any, reactor).callLater(RELEASE_AFTER, self._release_ended, domain)
        self._ended[domain] = (token, timer, taken)

    def _take_ended(self, domain: str) -> tuple[str, float]:
        token, timer, taken = self._ended.pop(domain, ("", None, 0.0))
        if timer is not None and timer.active():
            timer.cancel()
        return token, taken

    def _release_ended(self, domain: str) -> None:
        token, _ = self._take_ended(domain)
        if token:
            uncounted = self._uncounted.pop(domain, 0)
            try:
                self.limiter.release(domain, self.limit, token, uncounted)
            except RedisError as exc:  # the lease runs out by itself
                log.warning("politeness slot for %s not released: %s", domain, exc)


def _domain(url: str) -> str:
    return (urlsplit(url).netloc or "").lower()
