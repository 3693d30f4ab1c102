"""Monitoring from the outside: /metrics after a real worker crawls, and its JSON logs."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from chapterhouse.api.app import create_app
from chapterhouse.config import Settings
from tests.conftest import settings_env
from tests.fakesite import royalroad
from tests.fakesite.server import FakeSite
from tests.prometheus import parse, value

pytestmark = pytest.mark.e2e


@pytest.fixture
def quick_settings(site_settings: Settings) -> Settings:
    """A 429 cools the fake site down for about a second, not five."""
    return site_settings.model_copy(update={"backoff_base": 0.2})


@pytest.fixture
def client(quick_settings: Settings) -> Iterator[TestClient]:
    with TestClient(create_app(quick_settings)) as client:
        yield client


def wait_for(
    check: Callable[[], bool], timeout: float = 60, why: Callable[[], str] = lambda: ""
) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        assert time.monotonic() < deadline, f"timed out: {why()}"
        time.sleep(0.1)


def submit(client: TestClient, url: str) -> int:
    response = client.post("/ingest", json={"url": url})
    assert response.status_code == 202, response.text
    return int(response.json()["job_id"])


def stop(process: subprocess.Popen[bytes]) -> None:
    if process.poll() is None:
        os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()


def test_metrics_show_what_a_running_worker_did(
    client: TestClient, quick_settings: Settings, fake_site: FakeSite, tmp_path: Path
) -> None:
    fiction = fake_site.add(royalroad.make_fiction(1701, 5))
    throttled = royalroad.chapter_path(fiction, fiction.chapters[2])
    fake_site.once[throttled] = (429, {"Retry-After": "1"})
    job_id = submit(client, fake_site.url(fiction))
    log = tmp_path / "worker.log"
    with log.open("w") as sink:
        worker = subprocess.Popen(
            [sys.executable, "-m", "chapterhouse", "worker"],
            env=settings_env(quick_settings),
            start_new_session=True,
            stdout=sink,
            stderr=subprocess.STDOUT,
        )

    def duration_observed() -> bool:
        samples = parse(client.get("/metrics").text)
        return value(samples, "chapterhouse_job_duration_seconds_count", status="done") == 1

    try:
        wait_for(
            lambda: client.get(f"/jobs/{job_id}").json()["status"] == "done",
            why=lambda: f"{client.get(f'/jobs/{job_id}').json()}\n{log.read_text()}",
        )
        # The horse records the duration as it returns; the job row says done just before.
        wait_for(duration_observed, why=log.read_text)
        samples = parse(client.get("/metrics").text)
    finally:
        stop(worker)

    domain = fake_site.host
    assert value(samples, "chapterhouse_chapters_fetched_total", site="royalroad") == 5
    assert value(samples, "chapterhouse_jobs", status="done") == 1
    assert value(samples, "chapterhouse_job_duration_seconds_count", status="done") == 1
    assert (value(samples, "chapterhouse_job_duration_seconds_sum", status="done") or 0) > 0
    requests = value(samples, "chapterhouse_requests_total", domain=domain) or 0
    # robots.txt, the fiction page, five chapters and the one answered 429 first
    assert requests == len(fake_site.hits) == 8
    assert (
        value(samples, "chapterhouse_throttled_responses_total", domain=domain, status="429") == 1
    )
    assert value(samples, "chapterhouse_cooldown_seconds", domain=domain) is not None
    assert (value(samples, "chapterhouse_workers") or 0) >= 1
    assert value(samples, "chapterhouse_queue_jobs", registry="finished") == 1


def test_json_logs_carry_the_job_id_on_every_line_of_the_job(
    client: TestClient, quick_settings: Settings, fake_site: FakeSite
) -> None:
    fiction = fake_site.add(royalroad.make_fiction(1801, 3))
    # A chapter that keeps failing makes Scrapy itself log (it gives up retrying).
    fake_site.failures[royalroad.chapter_path(fiction, fiction.chapters[1])] = 500
    job_id = submit(client, fake_site.url(fiction))
    env = settings_env(quick_settings)
    env.update(CHAPTERHOUSE_LOG_FORMAT="json", CHAPTERHOUSE_LOG_LEVEL="INFO")
    result = subprocess.run(
        [sys.executable, "-m", "chapterhouse", "worker", "--burst"],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, result.stderr[-2000:]
    assert client.get(f"/jobs/{job_id}").json()["status"] == "partial"

    lines = [json.loads(line) for line in result.stderr.splitlines()]  # every line is JSON
    assert lines and all({"time", "level", "logger", "message"} <= line.keys() for line in lines)
    tagged = [i for i, line in enumerate(lines) if "job_id" in line]
    assert tagged, result.stderr
    during = lines[tagged[0] : tagged[-1] + 1]
    assert all(line.get("job_id") == job_id for line in during), during
    loggers = {line["logger"] for line in during}
    assert any(name.startswith("scrapy") for name in loggers), loggers  # Scrapy's own lines
    assert "chapterhouse.crawl.recorder" in loggers  # ours: the failed chapter
    assert any("Job OK" in line["message"] for line in during)  # RQ's, in the work horse
    # Outside the job, the worker's own lines carry no job id.
    assert any("job_id" not in line for line in lines[: tagged[0]])
