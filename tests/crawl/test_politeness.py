"""The shared per-domain limiter, on the real Redis, and three real workers honouring it."""

from __future__ import annotations

import itertools
import subprocess
import sys
import time
from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient
from redis import Redis

from chapterhouse.api.app import create_app
from chapterhouse.config import Settings, SiteLimit
from chapterhouse.crawl.politeness import (
    REUSE_FOR,
    DomainLimiter,
    Limit,
    backoff_seconds,
    retry_after_seconds,
)
from chapterhouse.metrics import REQUESTS_KEY
from tests.conftest import settings_env
from tests.fakesite import royalroad
from tests.fakesite.server import FakeSite


@pytest.fixture
def limiter(settings: Settings) -> Iterator[DomainLimiter]:
    redis = Redis.from_url(settings.redis_url)
    yield DomainLimiter(redis)
    redis.close()


def test_second_request_waits_out_the_interval(limiter: DomainLimiter) -> None:
    limit = Limit(interval=0.5, concurrency=1)
    assert limiter.try_acquire("a.example", limit, "t1") == (0.0, "")
    wait, why = limiter.try_acquire("a.example", limit, "t2")
    assert why == "gap" and 0.4 < wait <= 0.5
    assert limiter.try_acquire("b.example", limit, "t3") == (0.0, "")  # domains are apart


def test_the_gap_counts_from_the_end_of_a_slow_request(limiter: DomainLimiter) -> None:
    limit = Limit(interval=0.3, concurrency=1)
    limiter.try_acquire("s.example", limit, "slow")
    time.sleep(0.4)  # the response takes longer than the interval
    assert limiter.try_acquire("s.example", limit, "next")[1] == "busy"
    limiter.release("s.example", limit, "slow")
    wait, why = limiter.try_acquire("s.example", limit, "next")
    assert why == "gap" and 0.2 < wait <= 0.3


def test_concurrency_allows_that_many_in_flight(limiter: DomainLimiter) -> None:
    limit = Limit(interval=0, concurrency=2)
    assert limiter.try_acquire("c.example", limit, "a")[0] == 0
    assert limiter.try_acquire("c.example", limit, "b")[0] == 0
    assert limiter.try_acquire("c.example", limit, "c")[1] == "busy"


def test_cool_down_pauses_the_domain(limiter: DomainLimiter) -> None:
    limit = Limit(interval=0, concurrency=5)
    until = limiter.cool_down("d.example", 2.0)
    wait, why = limiter.try_acquire("d.example", limit, "x")
    assert why == "cool" and 1.8 < wait <= 2.0
    assert abs(until - limiter.now() - wait) < 0.2


def test_retry_after_and_backoff() -> None:
    assert retry_after_seconds(b"2") == 2.0
    assert retry_after_seconds("Wed, 21 Oct 2015 07:28:00 GMT") == 0.0  # in the past
    assert retry_after_seconds(b"soon") is None
    assert backoff_seconds(1, 2.0, base=0.1, cap=10) == 2.0  # never shorter than asked
    assert 2.5 <= backoff_seconds(2, None, base=5, cap=600) <= 10  # doubled, with jitter
    assert backoff_seconds(20, None, base=5, cap=60) <= 60


def test_three_workers_keep_the_gap_and_all_pause_on_429(
    site_settings: Settings, fake_site: FakeSite
) -> None:
    interval = 0.3
    polite = site_settings.model_copy(
        update={"download_delay": None, "site_limits": {"royalroad": SiteLimit(interval=interval)}}
    )
    fictions = [fake_site.add(royalroad.make_fiction(800 + i, 2)) for i in range(6)]
    # The third fiction's first chapter is throttled once with Retry-After: 2.
    throttled = royalroad.chapter_path(fictions[2], fictions[2].chapters[0])
    fake_site.once[throttled] = (429, {"Retry-After": "2"})
    with TestClient(create_app(polite)) as client:
        job_ids = [
            client.post("/ingest", json={"url": fake_site.url(f)}).json()["job_id"]
            for f in fictions
        ]
        env = settings_env(polite)
        command = [sys.executable, "-m", "chapterhouse", "worker", "--burst"]
        workers = [subprocess.Popen(command, env=env) for _ in range(3)]
        assert [w.wait(timeout=240) for w in workers] == [0, 0, 0]
        statuses = [client.get(f"/jobs/{j}").json()["status"] for j in job_ids]
    assert statuses == ["done"] * 6

    hits = [h for h in fake_site.hits if h.path.startswith("/fiction")]
    assert len(hits) == 6 * 3 + 1  # six fiction pages, twelve chapters, one throttled retry
    gaps = [b.at - a.at for a, b in itertools.pairwise(hits)]
    assert min(gaps) >= interval, sorted(gaps)[:3]
    throttled_at = next(h.at for h in hits if h.status == 429)
    after = [h for h in hits if h.at > throttled_at]
    assert after and after[0].at - throttled_at >= 2.0  # every worker paused, not only one


def _run_workers(settings: Settings, count: int, job_urls: list[str]) -> list[str]:
    """Submit each URL, run `count` burst workers to the end; the jobs' statuses."""
    with TestClient(create_app(settings)) as client:
        job_ids = [client.post("/ingest", json={"url": u}).json()["job_id"] for u in job_urls]
        command = [sys.executable, "-m", "chapterhouse", "worker", "--burst"]
        workers = [subprocess.Popen(command, env=settings_env(settings)) for _ in range(count)]
        assert [w.wait(timeout=240) for w in workers] == [0] * count
        return [client.get(f"/jobs/{j}").json()["status"] for j in job_ids]


def test_with_no_interval_handed_over_slots_keep_the_concurrency_across_workers(
    site_settings: Settings, fake_site: FakeSite
) -> None:
    # With no interval a worker hands a slot from one request to its next without asking
    # Redis: the site still never sees more requests at once than the limit, from all workers.
    unpaced = site_settings.model_copy(
        update={"site_limits": {"royalroad": SiteLimit(interval=0, concurrency=2)}}
    )
    fictions = [fake_site.add(royalroad.make_fiction(830 + i, 5)) for i in range(6)]
    fake_site.slow["/fiction/"] = 0.03
    assert _run_workers(unpaced, 3, [fake_site.url(f) for f in fictions]) == ["done"] * 6
    assert len(fake_site.paths()) == 6 * 6
    assert fake_site.most_in_flight == 2  # the limit was reached, and never passed
    # Every request is counted for /metrics, handed-over ones too (robots.txt included).
    redis = Redis.from_url(unpaced.redis_url)
    assert int(redis.hget(REQUESTS_KEY, fake_site.host) or 0) == len(fake_site.hits)
    redis.close()


def test_with_no_interval_a_cool_down_set_elsewhere_stops_a_crawl_within_the_reuse_window(
    site_settings: Settings, fake_site: FakeSite, limiter: DomainLimiter
) -> None:
    fiction = fake_site.add(royalroad.make_fiction(840, 80))
    fake_site.slow["/fiction/"] = 0.01
    with TestClient(create_app(site_settings)) as client:
        job_id = client.post("/ingest", json={"url": fake_site.url(fiction)}).json()["job_id"]
        command = [sys.executable, "-m", "chapterhouse", "worker", "--burst"]
        worker = subprocess.Popen(command, env=settings_env(site_settings))
        deadline = time.monotonic() + 60
        while len(fake_site.paths()) < 10 and time.monotonic() < deadline:
            time.sleep(0.005)
        cooled_at = time.monotonic()
        limiter.cool_down(fake_site.host, 1.5)  # another worker's 429, say
        assert worker.wait(timeout=120) == 0
        assert client.get(f"/jobs/{job_id}").json()["status"] == "done"

    after = [h.at - cooled_at for h in fake_site.hits if h.at > cooled_at]
    # A request already handed its slot may still start within the reuse window; then none
    # until the cool-down ends.
    grace = REUSE_FOR + 0.15
    assert not [t for t in after if grace < t < 1.4], sorted(after)[:5]
    resumed = [t for t in after if t >= 1.4]
    assert len(resumed) > 30, sorted(after)  # the crawl went on once it ended
