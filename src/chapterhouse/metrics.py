"""Fleet-wide Prometheus metrics: counters kept in Redis by every worker, read at scrape time.

Workers are separate processes on any number of machines, so their counters cannot live in
process memory: each `record_*` helper adds to a Redis hash in one pipelined round trip, and
`FleetCollector` turns those hashes, RQ's registries and the job table into metric families
when `/metrics` is scraped.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING, Any

from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client.core import (
    CounterMetricFamily,
    GaugeMetricFamily,
    HistogramMetricFamily,
    Metric,
)
from redis import Redis
from redis.exceptions import RedisError
from sqlalchemy.exc import SQLAlchemyError

if TYPE_CHECKING:
    from chapterhouse.services import Runtime

log = logging.getLogger(__name__)

PREFIX = "chapterhouse:metrics"
CHAPTERS_KEY = f"{PREFIX}:chapters"  # hash: site -> chapters fetched
REQUESTS_KEY = f"{PREFIX}:requests"  # hash: domain -> requests sent
THROTTLED_KEY = f"{PREFIX}:throttled"  # hash: "<status> <domain>" -> 429/503 answers
DURATION_KEY = f"{PREFIX}:job_duration"  # hash: "<status> <bucket bound>" / "<status> sum"

# Jobs last from seconds (an update with nothing new) to hours (a long novel, politely).
DURATION_BUCKETS: tuple[float, ...] = (1.0, 5.0, 15.0, 30.0, 60.0, 120.0, 300.0, 600.0)
DURATION_BUCKETS += (1800.0, 3600.0, 7200.0, 21600.0)  # 21600: the default job timeout
CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"


def _bucket_field(seconds: float) -> str:
    for bound in DURATION_BUCKETS:
        if seconds <= bound:
            return repr(bound)
    return "+Inf"


def record_job_duration(redis: Redis, status: str, seconds: float) -> None:
    """Observe one job's run time in the fleet-wide histogram, labelled by how it ended."""
    with redis.pipeline(transaction=False) as pipe:
        # Only the bucket the value falls in is counted; the collector makes them cumulative.
        pipe.hincrby(DURATION_KEY, f"{status} {_bucket_field(seconds)}", 1)
        pipe.hincrbyfloat(DURATION_KEY, f"{status} sum", seconds)
        pipe.execute()


def record_request(redis: Redis, domain: str, status: int | None = None) -> None:
    """Count one request sent to `domain` with its answer's status (None: no answer came).

    A 429 or 503 is counted as throttling too. (The crawler's limiter counts the requests it
    lets go itself, in the same round trip, and calls `record_throttled` for the answers.)
    """
    with redis.pipeline(transaction=False) as pipe:
        pipe.hincrby(REQUESTS_KEY, domain, 1)
        if status in (429, 503):
            pipe.hincrby(THROTTLED_KEY, f"{status} {domain}", 1)
        pipe.execute()


def record_throttled(redis: Redis, domain: str, status: int) -> None:
    """Count one 429 or 503 answer from `domain`."""
    redis.hincrby(THROTTLED_KEY, f"{status} {domain}", 1)


def record_chapters(redis: Redis, site: str, count: int) -> None:
    """Add `count` fetched chapters of `site` to the fleet's total."""
    if count:
        redis.hincrby(CHAPTERS_KEY, site, count)


class ChapterTally:
    """Chapters fetched by one crawl, added to Redis in batches so the crawl never waits on it."""

    def __init__(self, redis: Redis | None, site: str) -> None:
        self.redis = redis
        self.site = site
        self.pending = 0

    def add(self, count: int = 1) -> None:
        """Count fetched chapters; they reach Redis at the next `flush`."""
        self.pending += count

    def flush(self) -> None:
        """Add the pending count to Redis; a Redis hiccup only loses figures, never the job."""
        if self.redis is None or not self.pending:
            return
        try:
            record_chapters(self.redis, self.site, self.pending)
            self.pending = 0
        except RedisError as exc:
            log.warning("chapters-fetched metric not recorded: %s", exc)

    def close(self) -> None:
        """Flush what is pending and release the connection."""
        self.flush()
        if self.redis is not None:
            self.redis.close()


def safely(record: Callable[..., None], *args: Any) -> None:
    """Call a `record_*` helper; a Redis failure loses the figure, never the job."""
    try:
        record(*args)
    except RedisError as exc:
        log.warning("metric not recorded: %s", exc)


class FleetCollector:
    """Reads the fleet's figures from Redis and the database each time it is collected."""

    def __init__(self, rt: Runtime) -> None:
        self.rt = rt

    def collect(self) -> Iterator[Metric]:
        """Every family that can be read now; a service that is down yields its `up` gauge at 0."""
        yield from self._database()
        yield from self._redis()

    def _database(self) -> Iterator[Metric]:
        from chapterhouse.db.jobs import count_by_status
        from chapterhouse.db.models import JobStatus

        up = GaugeMetricFamily(
            "chapterhouse_database_up", "1 when the database answered this scrape, else 0"
        )
        try:
            with self.rt.sessions() as session:
                counts = count_by_status(session)
        except SQLAlchemyError as exc:
            log.warning("metrics: database unavailable: %s", type(exc).__name__)
            up.add_metric([], 0)
            yield up
            return
        up.add_metric([], 1)
        yield up
        jobs = GaugeMetricFamily(
            "chapterhouse_jobs", "Ingestion jobs in the database by status", labels=["status"]
        )
        for status in JobStatus.ALL:
            jobs.add_metric([status], counts.get(status, 0))
        yield jobs

    def _redis(self) -> Iterator[Metric]:
        up = GaugeMetricFamily("chapterhouse_redis_up", "1 when Redis answered this scrape, else 0")
        try:
            families = list(self._redis_families())
        except RedisError as exc:
            log.warning("metrics: Redis unavailable: %s", exc)
            up.add_metric([], 0)
            yield up
            return
        up.add_metric([], 1)
        yield up
        yield from families

    def _redis_families(self) -> Iterator[Metric]:
        from rq import Worker

        from chapterhouse.queue.status import registry_counts

        redis = self.rt.redis
        queue = GaugeMetricFamily(
            "chapterhouse_queue_jobs",
            "RQ jobs per registry of the ingestion queue",
            labels=["registry"],
        )
        for name, count in registry_counts(self.rt.queue).items():
            queue.add_metric([name], count)
        yield queue
        workers = GaugeMetricFamily(
            "chapterhouse_workers", "RQ workers registered for the ingestion queue"
        )
        workers.add_metric([], Worker.count(connection=redis, queue=self.rt.queue))
        yield workers

        with redis.pipeline(transaction=False) as pipe:
            pipe.hgetall(CHAPTERS_KEY)
            pipe.hgetall(REQUESTS_KEY)
            pipe.hgetall(THROTTLED_KEY)
            pipe.hgetall(DURATION_KEY)
            pipe.time()
            chapters, requests, throttled, durations, now = pipe.execute()

        fetched = CounterMetricFamily(
            "chapterhouse_chapters_fetched", "Chapters fetched by every worker", labels=["site"]
        )
        for site, count in sorted(chapters.items()):
            fetched.add_metric([site.decode()], int(count))
        yield fetched

        sent = CounterMetricFamily(
            "chapterhouse_requests", "Requests sent to a site, per domain", labels=["domain"]
        )
        for domain, count in sorted(requests.items()):
            sent.add_metric([domain.decode()], int(count))
        yield sent

        refused = CounterMetricFamily(
            "chapterhouse_throttled_responses",
            "429 and 503 answers per domain",
            labels=["domain", "status"],
        )
        for field, count in sorted(throttled.items()):
            status, _, domain = field.decode().partition(" ")
            refused.add_metric([domain, status], int(count))
        yield refused

        yield self._cool_down([d.decode() for d in sorted(requests)], now)
        yield _histogram(durations)

    def _cool_down(self, domains: list[str], now: tuple[int, int]) -> Metric:
        gauge = GaugeMetricFamily(
            "chapterhouse_cooldown_seconds",
            "Seconds until a domain that answered 429/503 may be asked again (0: not cooling)",
            labels=["domain"],
        )
        if not domains:
            return gauge
        from chapterhouse.crawl.politeness import PREFIX as POLITE  # it imports this module

        redis_now = now[0] + now[1] / 1e6  # the clock the politeness limiter writes with
        # crawl.politeness keeps each domain's cool-down end (Redis time) at <prefix>:<d>:cool
        until = self.rt.redis.mget([f"{POLITE}:{d}:cool" for d in domains])
        for domain, value in zip(domains, until, strict=True):
            gauge.add_metric([domain], max(float(value or 0) - redis_now, 0.0))
        return gauge


def _histogram(raw: dict[bytes, bytes]) -> Metric:
    family = HistogramMetricFamily(
        "chapterhouse_job_duration_seconds",
        "Run time of jobs in the workers, by how the run ended",
        labels=["status"],
    )
    by_status: dict[str, dict[str, float]] = {}
    for field, value in raw.items():
        status, _, name = field.decode().partition(" ")
        by_status.setdefault(status, {})[name] = float(value)
    for status, fields in sorted(by_status.items()):
        buckets, running = [], 0.0
        for bound in [repr(b) for b in DURATION_BUCKETS] + ["+Inf"]:
            running += fields.get(bound, 0.0)
            buckets.append((bound, running))
        family.add_metric([status], buckets, fields.get("sum", 0.0))
    return family


def render(rt: Runtime) -> bytes:
    """The Prometheus text exposition of the whole fleet, read now."""
    registry = CollectorRegistry(auto_describe=False)
    registry.register(FleetCollector(rt))
    return generate_latest(registry)
