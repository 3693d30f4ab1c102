"""`chapterhouse up`: make sure Redis answers, then run the API and a worker as children."""

from __future__ import annotations

import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path
from types import FrameType
from urllib.parse import urlsplit

from chapterhouse.config import Settings, redact_url
from chapterhouse.errors import QueueUnavailableError
from chapterhouse.queue.connection import redis_answers

LOOPBACK = {"127.0.0.1", "localhost", "::1"}


def start_local_redis(settings: Settings) -> subprocess.Popen[bytes] | None:
    """Start redis-server on loopback with its append-only file in the data directory.

    Returns None when Redis already answers; raises QueueUnavailableError when it can't be had.
    """
    if redis_answers(settings):
        return None
    parts = urlsplit(settings.redis_url)
    where = redact_url(settings.redis_url)
    binary = shutil.which("redis-server")
    if parts.hostname not in LOOPBACK or binary is None:
        raise QueueUnavailableError(
            f"Redis does not answer at {where}: install it (apt install redis-server, "
            "brew install redis) or point REDIS_URL at a running Redis"
        )
    directory = Path(settings.data_dir).resolve() / "redis"
    directory.mkdir(parents=True, exist_ok=True)
    process = subprocess.Popen(
        [
            binary,
            "--bind", "127.0.0.1",
            "--port", str(parts.port or 6379),
            "--dir", str(directory),
            "--appendonly", "yes",
            "--save", "",
        ],
        stdout=subprocess.DEVNULL,
    )  # fmt: skip
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        if redis_answers(settings):
            return process
        if process.poll() is not None:
            break
        time.sleep(0.1)
    process.terminate()
    raise QueueUnavailableError(f"redis-server did not start at {where}")


def run_stack(settings: Settings, *, workers: int = 1) -> int:
    """Run the API and `workers` worker processes until one exits or a signal arrives."""
    redis_process = start_local_redis(settings)
    cli = [sys.executable, "-m", "chapterhouse"]
    children = [subprocess.Popen([*cli, "serve"])]
    children.append(subprocess.Popen([*cli, "worker", "--workers", str(workers)]))
    stopping = False

    def stop(_signum: int, _frame: FrameType | None) -> None:
        nonlocal stopping
        stopping = True

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    code = 0
    while not stopping:
        for child in children:
            if child.poll() is not None:
                code = child.returncode or 1
                stopping = True
        time.sleep(0.2)
    for child in children:
        if child.poll() is None:
            child.send_signal(signal.SIGTERM)
    for child in children:
        try:
            # Workers give a running job the shutdown grace, then requeue it and exit.
            child.wait(timeout=settings.shutdown_grace + 30)
        except subprocess.TimeoutExpired:
            child.kill()
    if redis_process is not None:
        redis_process.terminate()
        redis_process.wait(timeout=10)
    return code
