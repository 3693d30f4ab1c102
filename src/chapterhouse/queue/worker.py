"""Worker entry point: RQ's own forking Worker on the ingestion queue, one or several."""

from __future__ import annotations

import logging
import os
import signal
import socket
import subprocess
import sys
import threading
from types import FrameType

from rq import Worker

from chapterhouse.config import Settings
from chapterhouse.queue.connection import ping

log = logging.getLogger(__name__)


def run_worker(settings: Settings, *, burst: bool = False, max_jobs: int | None = None) -> bool:
    """Serve the ingestion queue in this process; each job runs in a forked work horse."""
    # Import the crawler once here, before RQ forks a work horse per job: each job then starts
    # without paying for Scrapy's imports. Importing installs no reactor.
    import chapterhouse.crawl.ingest
    import chapterhouse.crawl.runner  # noqa: F401
    from chapterhouse.queue.reconcile import start_reconciler
    from chapterhouse.services import Runtime

    rt = Runtime(settings)
    ping(rt.redis)
    worker = Worker([rt.queue], connection=rt.redis, name=f"{socket.gethostname()}.{os.getpid()}")
    stop = threading.Event()
    if not burst:
        start_reconciler(rt, stop)
    try:
        return worker.work(
            burst=burst,
            with_scheduler=True,  # RQ's scheduler runs delayed retries
            logging_level=settings.log_level.upper(),
            max_jobs=max_jobs,
        )
    finally:
        stop.set()
        rt.close()


def run_worker_processes(count: int, *, burst: bool = False) -> int:
    """Start `count` worker processes and wait for them; signals are passed on to all."""
    command = [sys.executable, "-m", "chapterhouse", "worker"] + (["--burst"] if burst else [])
    children = [subprocess.Popen(command) for _ in range(count)]

    def forward(signum: int, _frame: FrameType | None) -> None:
        for child in children:
            if child.poll() is None:
                child.send_signal(signum)

    signal.signal(signal.SIGTERM, forward)
    signal.signal(signal.SIGINT, forward)
    codes = [child.wait() for child in children]
    return max(codes, default=0)
