"""`chapterhouse dashboard`: rq-dashboard served over HTTP for our Redis."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
from redis import Redis

from chapterhouse.config import Settings
from chapterhouse.queue.enqueue import enqueue_ingest, make_queue
from tests.conftest import run_cli, settings_env


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def test_dashboard_shows_our_queue_and_its_jobs(settings: Settings, tmp_path: Path) -> None:
    redis = Redis.from_url(settings.redis_url)
    enqueue_ingest(make_queue(settings, redis), 7, settings)
    redis.close()
    port = free_port()
    output = tmp_path / "dashboard.log"
    with output.open("w") as sink:
        dashboard = subprocess.Popen(
            [sys.executable, "-m", "chapterhouse", "dashboard", "--port", str(port)],
            env=settings_env(settings),
            start_new_session=True,
            stdout=sink,
            stderr=subprocess.STDOUT,
        )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 30
        while True:
            assert dashboard.poll() is None, output.read_text()
            try:
                page = httpx.get(f"{base}/", timeout=2)
                break
            except httpx.TransportError:
                assert time.monotonic() < deadline, output.read_text()
                time.sleep(0.1)
        queues = httpx.get(f"{base}/0/data/queues.json", timeout=5).json()["queues"]
        jobs = httpx.get(f"{base}/0/data/jobs/ingestion/queued/8/asc/1.json", timeout=5).json()
        delete = httpx.post(f"{base}/job/ingest-7/delete", timeout=5).json()
    finally:
        os.killpg(dashboard.pid, signal.SIGTERM)
        dashboard.wait(timeout=30)
    assert page.status_code == 200 and "RQ dashboard" in page.text
    assert [q["count"] for q in queues if q["name"] == "ingestion"] == [1]
    assert [job["id"] for job in jobs["jobs"]] == ["ingest-7"]
    assert delete == {"status": "DISABLED"}  # the database row is the truth about a job


def test_dashboard_without_redis_is_one_red_line(settings: Settings) -> None:
    down = settings.model_copy(update={"redis_url": "redis://127.0.0.1:1/0"})
    result = run_cli(down, "dashboard", "--port", str(free_port()), timeout=60)
    assert result.returncode == 1
    assert "Redis does not answer" in result.stderr
    assert "Traceback" not in result.stderr + result.stdout
