"""GET /metrics: fleet figures read from Redis and the database at scrape time."""

from __future__ import annotations

from redis import Redis
from rq import Queue, Worker

from chapterhouse.config import Settings
from chapterhouse.crawl.politeness import DomainLimiter
from chapterhouse.db.models import JobStatus
from chapterhouse.metrics import record_chapters, record_job_duration, record_request
from chapterhouse.services import Runtime
from tests.api import MOTHER_OF_LEARNING, api_client
from tests.api.test_health import UNREACHABLE_DATABASE, UNREACHABLE_REDIS
from tests.factories import make_job
from tests.prometheus import Samples, names, parse, value


def scrape(settings: Settings) -> Samples:
    with api_client(settings) as client:
        response = client.get("/metrics")
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("text/plain")
    return parse(response.text)


def test_queue_depth_and_jobs_by_status(settings: Settings, runtime: Runtime) -> None:
    with runtime.sessions() as session:
        make_job(session, status=JobStatus.DONE, novel_key="royalroad:1")
        make_job(session, status=JobStatus.DONE, novel_key="royalroad:2")
        make_job(session, status=JobStatus.FAILED, novel_key="royalroad:3")
        session.commit()
    with api_client(settings) as client:
        assert client.post("/ingest", json={"url": MOTHER_OF_LEARNING}).status_code == 202
        samples = parse(client.get("/metrics").text)

    assert value(samples, "chapterhouse_queue_jobs", registry="queued") == 1
    for registry in ("started", "finished", "failed", "scheduled", "deferred"):
        assert value(samples, "chapterhouse_queue_jobs", registry=registry) == 0
    assert value(samples, "chapterhouse_jobs", status="done") == 2
    assert value(samples, "chapterhouse_jobs", status="failed") == 1
    assert value(samples, "chapterhouse_jobs", status="queued") == 1
    assert value(samples, "chapterhouse_jobs", status="crawling") == 0
    assert value(samples, "chapterhouse_workers") == 0
    assert value(samples, "chapterhouse_redis_up") == 1
    assert value(samples, "chapterhouse_database_up") == 1


def test_registered_workers_are_counted(settings: Settings) -> None:
    redis = Redis.from_url(settings.redis_url)
    worker = Worker([Queue(settings.queue_name, connection=redis)], connection=redis)
    worker.register_birth()
    try:
        assert value(scrape(settings), "chapterhouse_workers") == 1
    finally:
        worker.register_death()
        redis.close()


def test_counters_recorded_by_any_process_are_exported(settings: Settings) -> None:
    # What workers on other machines record: another client, the same Redis.
    worker_redis = Redis.from_url(settings.redis_url)
    try:
        record_chapters(worker_redis, "royalroad", 3)
        record_chapters(worker_redis, "royalroad", 2)
        for status in (200, 200, 429, 503, 429):
            record_request(worker_redis, "www.royalroad.com", status)
        record_job_duration(worker_redis, "done", 0.5)
        record_job_duration(worker_redis, "done", 42.0)
        record_job_duration(worker_redis, "failed", 3.0)
        DomainLimiter(worker_redis).cool_down("www.royalroad.com", 120)
    finally:
        worker_redis.close()

    samples = scrape(settings)
    domain = "www.royalroad.com"
    assert value(samples, "chapterhouse_chapters_fetched_total", site="royalroad") == 5
    assert value(samples, "chapterhouse_requests_total", domain=domain) == 5
    assert (
        value(samples, "chapterhouse_throttled_responses_total", domain=domain, status="429") == 2
    )
    assert (
        value(samples, "chapterhouse_throttled_responses_total", domain=domain, status="503") == 1
    )
    cooling = value(samples, "chapterhouse_cooldown_seconds", domain=domain)
    assert cooling is not None and 100 < cooling <= 120
    histogram = "chapterhouse_job_duration_seconds"
    assert value(samples, f"{histogram}_count", status="done") == 2
    assert value(samples, f"{histogram}_sum", status="done") == 42.5
    assert value(samples, f"{histogram}_bucket", status="done", le="1.0") == 1
    assert value(samples, f"{histogram}_bucket", status="done", le="30.0") == 1
    assert value(samples, f"{histogram}_bucket", status="done", le="60.0") == 2
    assert value(samples, f"{histogram}_bucket", status="done", le="+Inf") == 2
    assert value(samples, f"{histogram}_count", status="failed") == 1


def test_answers_without_redis(settings: Settings) -> None:
    samples = scrape(settings.model_copy(update={"redis_url": UNREACHABLE_REDIS}))
    assert value(samples, "chapterhouse_redis_up") == 0
    assert value(samples, "chapterhouse_database_up") == 1
    assert value(samples, "chapterhouse_jobs", status="done") == 0
    assert "chapterhouse_queue_jobs" not in names(samples)
    assert "chapterhouse_workers" not in names(samples)


def test_answers_without_the_database(settings: Settings) -> None:
    samples = scrape(settings.model_copy(update={"database_url": UNREACHABLE_DATABASE}))
    assert value(samples, "chapterhouse_database_up") == 0
    assert value(samples, "chapterhouse_redis_up") == 1
    assert "chapterhouse_jobs" not in names(samples)
    assert value(samples, "chapterhouse_queue_jobs", registry="queued") == 0
