"""Job control with real workers: pause and resume the queue or a domain, drain."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from fastapi.testclient import TestClient

from chapterhouse.api.app import create_app
from chapterhouse.config import Settings
from tests.conftest import run_cli, settings_env
from tests.fakesite import royalroad
from tests.fakesite.server import FakeSite, serve

pytestmark = pytest.mark.e2e


@pytest.fixture
def other_site() -> Iterator[FakeSite]:
    """A second Royal-Road-shaped site on another port: another domain for the same spider."""
    site = FakeSite()
    server = serve(site)
    yield site
    server.shutdown()
    server.server_close()


@pytest.fixture
def two_site_settings(
    site_settings: Settings, fake_site: FakeSite, other_site: FakeSite
) -> Settings:
    """Both fake sites mapped onto the Royal Road spider; quick heartbeats."""
    hosts = f"{fake_site.host}=royalroad,{other_site.host}=royalroad"
    return site_settings.model_copy(update={"site_hosts": hosts, "heartbeat_interval": 0.5})


@pytest.fixture
def client(two_site_settings: Settings) -> Iterator[TestClient]:
    with TestClient(create_app(two_site_settings)) as client:
        yield client


@pytest.fixture
def worker(two_site_settings: Settings) -> Iterator[subprocess.Popen[bytes]]:
    """One real, long-running `chapterhouse worker` (not burst), stopped after the test."""
    process = subprocess.Popen(
        [sys.executable, "-m", "chapterhouse", "worker"],
        env=settings_env(two_site_settings),
        start_new_session=True,
    )
    yield process
    if process.poll() is None:
        os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()


def wait_for(check: Callable[[], bool], timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.1)


def submit(client: TestClient, url: str) -> int:
    response = client.post("/ingest", json={"url": url})
    assert response.status_code == 202, response.text
    return int(response.json()["job_id"])


def job(client: TestClient, job_id: int) -> dict[str, Any]:
    body: dict[str, Any] = client.get(f"/jobs/{job_id}").json()
    return body


def workers_up(client: TestClient) -> bool:
    return bool(client.get("/queue").json()["workers"])


def test_paused_queue_keeps_jobs_queued_until_resumed(
    client: TestClient, worker: subprocess.Popen[bytes], fake_site: FakeSite
) -> None:
    assert client.post("/queue/pause").json()["paused"] is True
    fiction = fake_site.add(royalroad.make_fiction(4001, 3))
    job_id = submit(client, fake_site.url(fiction))
    wait_for(lambda: workers_up(client))
    time.sleep(4)  # the worker is up and would have taken the job by now

    assert job(client, job_id)["status"] == "queued"
    assert fake_site.paths() == []
    queue = client.get("/queue").json()
    assert queue["paused"] is True and queue["counts"]["queued"] == 1

    assert client.post("/queue/resume").json()["paused"] is False
    wait_for(lambda: job(client, job_id)["status"] == "done")
    assert job(client, job_id)["progress"] == {"done": 3, "total": 3}
    assert worker.poll() is None  # the worker served throughout


def test_paused_domain_holds_its_job_while_other_domains_proceed(
    client: TestClient,
    worker: subprocess.Popen[bytes],
    fake_site: FakeSite,
    other_site: FakeSite,
) -> None:
    paused = client.post(f"/domains/{fake_site.host}/pause").json()
    assert paused["paused_domains"] == [fake_site.host]
    held_job = submit(client, fake_site.url(fake_site.add(royalroad.make_fiction(4101, 2))))
    free_job = submit(client, other_site.url(other_site.add(royalroad.make_fiction(4102, 2))))

    wait_for(lambda: job(client, free_job)["status"] == "done")
    wait_for(lambda: job(client, held_job)["note"] == f"waiting: {fake_site.host} is paused")
    assert job(client, held_job)["status"] == "queued"
    assert fake_site.paths("/") == []  # not even robots.txt
    assert client.get("/queue").json()["paused_domains"] == [fake_site.host]

    resumed = client.post(f"/domains/{fake_site.host}/resume").json()
    assert resumed["paused_domains"] == []
    # Queued again at once by the resume, not a minute later by RQ's scheduler.
    wait_for(lambda: job(client, held_job)["status"] == "done", timeout=30)
    assert job(client, held_job)["note"] is None
    assert job(client, held_job)["progress"] == {"done": 2, "total": 2}


def test_pausing_a_domain_mid_crawl_stops_requests_until_resumed(
    client: TestClient, worker: subprocess.Popen[bytes], fake_site: FakeSite
) -> None:
    fiction = fake_site.add(royalroad.make_fiction(4201, 12))
    fake_site.slow["/fiction/4201/"] = 0.3
    job_id = submit(client, fake_site.url(fiction))
    wait_for(lambda: job(client, job_id)["progress"]["done"] >= 2)

    client.post(f"/domains/{fake_site.host}/pause")
    wait_for(lambda: job(client, job_id)["note"] == f"paused: {fake_site.host}", timeout=15)
    time.sleep(0.5)  # a request that left before the pause has arrived by now
    hits = len(fake_site.paths("/"))
    time.sleep(3)
    assert len(fake_site.paths("/")) == hits  # not one request while paused
    during = job(client, job_id)
    assert during["status"] == "crawling" and during["progress"]["done"] < 12

    client.post(f"/domains/{fake_site.host}/resume")
    wait_for(lambda: job(client, job_id)["status"] == "done")
    done = job(client, job_id)
    assert done["progress"] == {"done": 12, "total": 12} and done["note"] is None
    chapters = client.get(f"/novels/{done['novel_slug']}/chapters", params={"limit": 100})
    assert chapters.json()["total"] == 12
    fetched = [p for p in fake_site.paths() if "/chapter/" in p]
    assert len(fetched) == len(set(fetched)) == 12  # nothing fetched twice, nothing lost


def test_drain_wait_returns_when_the_running_job_finished_and_leaves_the_rest_queued(
    client: TestClient,
    worker: subprocess.Popen[bytes],
    fake_site: FakeSite,
    two_site_settings: Settings,
) -> None:
    first = fake_site.add(royalroad.make_fiction(4301, 8))
    second = fake_site.add(royalroad.make_fiction(4302, 2))
    fake_site.slow["/fiction/4301/"] = 0.3
    running = submit(client, fake_site.url(first))
    wait_for(lambda: job(client, running)["status"] == "crawling")
    waiting = submit(client, fake_site.url(second))

    impatient = run_cli(two_site_settings, "drain", "--wait", "--timeout", "0.2")
    assert impatient.returncode == 1 and "1 job(s) still running after 0.2 s" in impatient.stderr
    assert "Traceback" not in impatient.stderr
    result = run_cli(two_site_settings, "drain", "--wait", "--timeout", "60")

    assert result.returncode == 0, result.stderr
    assert "drained" in result.stdout and "1 job(s) stay queued" in result.stdout
    assert job(client, running)["status"] == "done"
    assert job(client, waiting)["status"] == "queued"
    queue = client.get("/queue").json()
    assert queue["paused"] is True and queue["counts"]["queued"] == 1
    assert queue["counts"]["started"] == 0
