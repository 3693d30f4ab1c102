"""Log output of `chapterhouse serve`: one JSON object per line with CHAPTERHOUSE_LOG_FORMAT=json.

The workers' JSON lines, job ids included, are checked end to end in tests/e2e/test_monitoring.py.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx

from chapterhouse.config import Settings
from tests.conftest import settings_env
from tests.test_dashboard import free_port


def test_api_logs_one_json_object_per_line(settings: Settings, tmp_path: Path) -> None:
    port = free_port()
    env = settings_env(settings)
    env.update(CHAPTERHOUSE_LOG_FORMAT="json", CHAPTERHOUSE_LOG_LEVEL="INFO")
    stderr = tmp_path / "serve.log"
    with stderr.open("w") as sink:
        api = subprocess.Popen(
            [sys.executable, "-m", "chapterhouse", "serve", "--port", str(port)],
            env=env,
            stderr=sink,
            stdout=subprocess.DEVNULL,
            start_new_session=True,
        )
    try:
        deadline = time.monotonic() + 30
        while True:
            assert api.poll() is None, stderr.read_text()
            try:
                assert httpx.get(f"http://127.0.0.1:{port}/health", timeout=2).status_code == 200
                break
            except httpx.TransportError:
                assert time.monotonic() < deadline, stderr.read_text()
                time.sleep(0.1)
    finally:
        os.killpg(api.pid, signal.SIGTERM)
        api.wait(timeout=30)

    lines = [json.loads(line) for line in stderr.read_text().splitlines()]
    assert all({"time", "level", "logger", "message"} <= line.keys() for line in lines), lines
    assert any(
        line["logger"] == "uvicorn.access" and "GET /health" in line["message"] for line in lines
    ), lines
    assert not any("job_id" in line for line in lines)
