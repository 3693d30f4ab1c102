"""`chapterhouse up` as a user runs it: SQLite by default, a local Redis when none answers."""

from __future__ import annotations

import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx

from chapterhouse import services
from chapterhouse.config import Settings
from chapterhouse.services import Runtime
from tests.conftest import settings_env
from tests.fakesite import royalroad
from tests.fakesite.server import FakeSite


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def port_open(port: int) -> bool:
    with socket.socket() as sock:
        sock.settimeout(0.2)
        return sock.connect_ex(("127.0.0.1", port)) == 0


def test_up_starts_local_redis_api_and_a_worker_then_stops_cleanly(tmp_path: Path) -> None:
    redis_port, api_port = free_port(), free_port()
    settings = Settings(
        database_url=None,
        redis_url=f"redis://127.0.0.1:{redis_port}/0",
        data_dir=tmp_path / "data",
        api_port=api_port,
    )
    up = subprocess.Popen(
        [sys.executable, "-m", "chapterhouse", "up"],
        env=settings_env(settings),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        health: dict[str, object] = {}
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            try:
                health = httpx.get(f"http://127.0.0.1:{api_port}/health", timeout=2).json()
                if health.get("checks", {}).get("workers") == 1:  # type: ignore[union-attr]
                    break
            except httpx.HTTPError:
                pass
            time.sleep(0.3)
        assert health == {
            "status": "healthy",
            "checks": {"database": "ok", "redis": "ok", "workers": 1},
        }, health
        assert (tmp_path / "data" / "chapterhouse.db").exists()  # SQLite, the zero-setup default
        redis_dir = tmp_path / "data" / "redis"
        assert any(p.name.startswith("appendonly") for p in redis_dir.iterdir())  # AOF on
    finally:
        up.send_signal(signal.SIGTERM)
        _, errors = up.communicate(timeout=60)
    assert up.returncode == 0, errors[-3000:]
    assert not port_open(api_port) and not port_open(redis_port)


def test_up_without_redis_or_redis_server_says_how_to_get_it(tmp_path: Path) -> None:
    settings = Settings(
        database_url=None,
        redis_url=f"redis://127.0.0.1:{free_port()}/0",
        data_dir=tmp_path / "data",
    )
    env = settings_env(settings)
    env["PATH"] = str(tmp_path)  # no redis-server to be found
    result = subprocess.run(
        [sys.executable, "-m", "chapterhouse", "up"],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 1
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(lines) == 1, result.stderr
    assert "Redis does not answer" in lines[0] and "install it" in lines[0]


def test_up_stopped_mid_job_requeues_the_job_and_exits_0(
    site_settings: Settings, fake_site: FakeSite
) -> None:
    fiction = fake_site.add(royalroad.make_fiction(5801, 8))
    fake_site.slow["/fiction/5801/"] = 0.4
    api_port = free_port()
    settings = site_settings.model_copy(update={"api_port": api_port, "shutdown_grace": 1.0})
    api = f"http://127.0.0.1:{api_port}"
    up = subprocess.Popen(
        [sys.executable, "-m", "chapterhouse", "up"],
        env=settings_env(settings),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and not port_open(api_port):
            time.sleep(0.2)
        job_id = httpx.post(f"{api}/ingest", json={"url": fake_site.url(fiction)}).json()["job_id"]
        while time.monotonic() < deadline:
            if httpx.get(f"{api}/jobs/{job_id}").json()["progress"]["done"] >= 1:
                break
            time.sleep(0.2)
    finally:
        up.send_signal(signal.SIGTERM)
        _, errors = up.communicate(timeout=90)
    assert up.returncode == 0, errors[-3000:]
    assert not port_open(api_port)
    rt = Runtime(settings)
    job = services.get_job(rt, job_id)
    rt.close()
    assert job.status == "queued" and job.note and "shut down" in job.note
