"""Live job events: `GET /jobs/{id}/events` read over HTTP from a real `chapterhouse serve`,
while a real worker crawls the fake site."""

from __future__ import annotations

import itertools
import json
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
import uvicorn
from sqlalchemy import event

from chapterhouse.api.app import create_app
from chapterhouse.config import Settings
from tests.conftest import settings_env
from tests.fakesite import royalroad
from tests.fakesite.server import FakeSite

pytestmark = pytest.mark.e2e

Event = tuple[str, dict[str, Any] | None]  # (event name or "keep-alive", JSON data)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def start_api(settings: Settings) -> tuple[subprocess.Popen[bytes], str]:
    """`chapterhouse serve` on a free loopback port, once it answers."""
    port = free_port()
    server = subprocess.Popen(
        [sys.executable, "-m", "chapterhouse", "serve", "--host", "127.0.0.1", "--port", str(port)],
        env=settings_env(settings),
    )
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 30
    while True:
        try:
            httpx.get(f"{base}/health", timeout=5)
            return server, base
        except httpx.TransportError:
            if server.poll() is not None or time.monotonic() > deadline:
                server.kill()
                pytest.fail("the API did not start")
            time.sleep(0.1)


@pytest.fixture
def api(site_settings: Settings) -> Iterator[str]:
    server, base = start_api(site_settings)
    yield base
    server.terminate()
    server.wait(timeout=30)


def events(response: httpx.Response) -> Iterator[Event]:
    """Parse a text/event-stream: named events with JSON data, and comments (keep-alives)."""
    name, data = "message", ""
    for line in response.iter_lines():
        if line.startswith(":"):
            yield "keep-alive", None
        elif line.startswith("event:"):
            name = line.partition(":")[2].strip()
        elif line.startswith("data:"):
            data += line.partition(":")[2].strip()
        elif not line and data:
            yield name, json.loads(data)
            name, data = "message", ""


def submit(base: str, url: str) -> int:
    answer = httpx.post(f"{base}/ingest", json={"url": url}, timeout=10)
    assert answer.status_code == 202, answer.text
    return int(answer.json()["job_id"])


def test_events_follow_a_crawl_to_its_end_and_the_stream_closes(
    api: str, site_settings: Settings, fake_site: FakeSite
) -> None:
    fiction = fake_site.add(royalroad.make_fiction(3101, 6))
    fake_site.slow["/fiction/3101/"] = 0.25  # each page takes a while
    job_id = submit(api, fake_site.url(fiction))
    seen: list[Event] = []
    worker: subprocess.Popen[bytes] | None = None
    try:
        with httpx.stream("GET", f"{api}/jobs/{job_id}/events", timeout=60) as response:
            assert response.status_code == 200
            assert response.headers["content-type"].startswith("text/event-stream")
            for event in events(response):
                seen.append(event)
                if worker is None:  # the stream is open and has said "queued": start crawling
                    worker = subprocess.Popen(
                        [sys.executable, "-m", "chapterhouse", "worker", "--burst"],
                        env=settings_env(site_settings),
                    )
        # The loop ended because the server closed the stream after `end`.
    finally:
        if worker is not None:
            assert worker.wait(timeout=60) == 0
    named = [(name, data) for name, data in seen if data is not None]
    assert named[0][0] == "job" and named[0][1]["status"] == "queued"  # type: ignore[index]
    assert [name for name, _ in named].count("end") == 1 and named[-1][0] == "end"
    jobs = [data for _, data in named if data is not None]
    final = jobs[-1]
    assert final["status"] == "done" and final["progress"] == {"done": 6, "total": 6}
    assert final == httpx.get(f"{api}/jobs/{job_id}").json()  # the same JSON as GET /jobs/{id}

    statuses = [job["status"] for job in jobs]
    order = ["queued", "crawling", "saving", "done"]
    assert all(s in order for s in statuses), statuses
    assert [order.index(s) for s in statuses] == sorted(order.index(s) for s in statuses)
    assert "crawling" in statuses
    done = [job["progress"]["done"] for job in jobs]
    assert done == sorted(done), done  # progress only rises
    assert any(0 < d < 6 for d in done), done  # and was seen mid-crawl, not only at the end
    # An event is news: no two in a row show the same state.
    keys = [(j["status"], j["progress"], j["note"], j["error"]) for j in jobs]
    assert all(a != b for a, b in itertools.pairwise(keys)), keys


def test_events_of_an_ended_job_are_a_single_end_at_once(api: str, fake_site: FakeSite) -> None:
    fiction = fake_site.add(royalroad.make_fiction(3201, 2))
    job_id = submit(api, fake_site.url(fiction))
    assert httpx.post(f"{api}/jobs/{job_id}/cancel").json()["status"] == "canceled"

    with httpx.stream("GET", f"{api}/jobs/{job_id}/events", timeout=10) as response:
        seen = list(events(response))
    assert len(seen) == 1
    name, data = seen[0]
    assert name == "end" and data is not None and data["status"] == "canceled"
    assert data["job_id"] == job_id


def test_events_of_an_unknown_job_answer_404_json(api: str) -> None:
    answer = httpx.get(f"{api}/jobs/4242/events", timeout=10)
    assert answer.status_code == 404
    assert answer.headers["content-type"] == "application/json"
    assert answer.json() == {"detail": "no ingestion job has id 4242"}


def test_a_quiet_stream_gets_keep_alive_comments(
    site_settings: Settings, fake_site: FakeSite
) -> None:
    quick = site_settings.model_copy(update={"events_keepalive": 0.5})
    server, base = start_api(quick)
    try:
        fiction = fake_site.add(royalroad.make_fiction(3301, 1))
        job_id = submit(base, fake_site.url(fiction))  # no worker: it stays queued
        seen: list[Event] = []
        with httpx.stream("GET", f"{base}/jobs/{job_id}/events", timeout=10) as response:
            for event in events(response):
                seen.append(event)
                if event[0] == "keep-alive" or len(seen) > 10:
                    break
        assert seen[0][0] == "job" and seen[0][1] is not None
        assert seen[0][1]["status"] == "queued"
        assert seen[-1] == ("keep-alive", None)
        # The client went away; the server carries on answering.
        assert httpx.get(f"{base}/jobs/{job_id}", timeout=10).json()["status"] == "queued"
    finally:
        server.terminate()
        server.wait(timeout=30)


def test_a_client_that_leaves_stops_the_polling_and_holds_no_connection(
    site_settings: Settings, fake_site: FakeSite
) -> None:
    app = create_app(site_settings)
    server = uvicorn.Server(
        uvicorn.Config(app, host="127.0.0.1", port=free_port(), log_level="warning")
    )
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    try:
        deadline = time.monotonic() + 30
        while not server.started:
            assert time.monotonic() < deadline and thread.is_alive(), "the API did not start"
            time.sleep(0.05)
        base = f"http://127.0.0.1:{server.config.port}"
        engine = app.state.runtime.engine
        statements: list[str] = []
        event.listen(engine, "before_cursor_execute", lambda *args: statements.append(args[2]))
        job_id = submit(base, fake_site.url(fake_site.add(royalroad.make_fiction(3401, 1))))

        with httpx.stream("GET", f"{base}/jobs/{job_id}/events", timeout=10) as response:
            first = next(events(response))
            assert first[0] == "job"
            time.sleep(1.0)
            polled_while_open = len(statements)
            # Between reads nothing is checked out of the pool.
            assert engine.pool.checkedout() == 0
        time.sleep(1.0)  # the server notices the client is gone
        after_leaving = len(statements)
        time.sleep(1.5)  # three poll intervals
        assert polled_while_open >= 2  # it was polling
        assert len(statements) == after_leaving  # and stopped when the client left
        assert engine.pool.checkedout() == 0
    finally:
        server.should_exit = True
        thread.join(timeout=30)
