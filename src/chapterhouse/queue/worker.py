"""Worker entry point: RQ's own forking Worker on the ingestion queue, one or several."""

from __future__ import annotations

import contextlib
import itertools
import logging
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from types import FrameType

from redis import Redis
from redis.exceptions import ConnectionError as RedisConnectionError
from rq import Worker
from sqlalchemy.orm import configure_mappers

from chapterhouse.config import Settings
from chapterhouse.queue.connection import ping
from chapterhouse.webhooks import make_webhook_queue

log = logging.getLogger(__name__)


def run_worker(
    settings: Settings,
    *,
    burst: bool = False,
    max_jobs: int | None = None,
    max_memory: int | None = None,
) -> bool:
    """Serve the ingestion queue in this process; each job runs in a forked work horse."""
    from chapterhouse.crawl.preload import preload_crawl
    from chapterhouse.logs import configure_logging
    from chapterhouse.queue.gate import install_gate
    from chapterhouse.queue.reconcile import start_reconciler
    from chapterhouse.queue.shutdown import make_worker
    from chapterhouse.services import Runtime

    configure_logging(settings)  # before RQ's setup, so RQ's lines go the same way
    # Import the crawler and the Scrapy components it loads once here, before RQ forks a work
    # horse per job: each job then starts without paying for them. No reactor is installed.
    preload_crawl(settings)
    # Configure the ORM mappers now, before any thread starts: a work horse forked while the
    # reconciler thread held SQLAlchemy's configure mutex would wait on it forever.
    configure_mappers()
    rt = Runtime(settings)
    ping(rt.redis)
    stop = threading.Event()
    if not burst:
        start_reconciler(rt, stop)
    try:
        for incarnation in itertools.count():
            name = f"{socket.gethostname()}.{os.getpid()}" + (
                f".{incarnation}" if incarnation else ""
            )
            # Webhook deliveries first: they take a moment, and should not wait behind crawls.
            queues = [make_webhook_queue(rt.redis), rt.queue]
            # SIGTERM: the job has CHAPTERHOUSE_SHUTDOWN_GRACE to finish, then is requeued.
            worker = make_worker(queues, settings, name=name, max_memory_mb=max_memory)
            install_gate(worker, rt)  # pause/resume of the queue and of domains
            try:
                return worker.work(
                    burst=burst,
                    with_scheduler=True,  # RQ's scheduler runs delayed retries
                    logging_level=settings.log_level.upper(),
                    max_jobs=max_jobs,
                )
            except RedisConnectionError as exc:
                # RQ rides out Redis outages while it waits for work, but not while it watches
                # a work horse. Let that horse finish its crawl (it writes to the database, the
                # truth about the job), then serve again once Redis answers; the reconciler
                # requeues whatever Redis lost meanwhile.
                if burst:
                    raise
                log.warning("lost Redis while a job ran (%s); resuming when it answers", exc)
                _wait_for_horse(worker)
                _wait_for_redis(rt.redis)
        raise AssertionError("unreachable")
    finally:
        stop.set()
        rt.close()


def _wait_for_horse(worker: Worker) -> None:
    pid = worker.horse_pid
    if pid:
        with contextlib.suppress(ChildProcessError):
            os.waitpid(pid, 0)


def _wait_for_redis(redis: Redis, pause: float = 1.0) -> None:
    while True:
        try:
            redis.ping()
            return
        except RedisConnectionError:
            time.sleep(pause)


def run_worker_processes(count: int, *, burst: bool = False, extra: tuple[str, ...] = ()) -> int:
    """Start `count` worker processes and wait for them; signals are passed on to all."""
    command = [sys.executable, "-m", "chapterhouse", "worker"] + (["--burst"] if burst else [])
    command += extra  # --max-jobs / --max-memory apply to each process
    children = [subprocess.Popen(command) for _ in range(count)]

    def forward(signum: int, _frame: FrameType | None) -> None:
        for child in children:
            if child.poll() is None:
                child.send_signal(signum)

    signal.signal(signal.SIGTERM, forward)
    signal.signal(signal.SIGINT, forward)
    codes = [child.wait() for child in children]
    return max(codes, default=0)
