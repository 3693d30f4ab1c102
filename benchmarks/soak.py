"""Soak: many jobs through two real workers while things break, then count what was lost.

    .venv/bin/python -m benchmarks.soak [--jobs 200] [--chapters 6] [--error-rate 0.05]
                                        [--slow-rate 0.05] [--timeout 900]

Everything runs on loopback: a private PostgreSQL database, a Redis server of its own (started
here without persistence, so restarting it loses everything it held, as this machine's Redis
would), the fake Royal Road answering random 500s and slow pages, and two `chapterhouse worker`
processes. Faults injected while the jobs run:

- at a third of the jobs ended, one worker and its work horse are killed with SIGKILL and a new
  worker is started two seconds later (what systemd's Restart=always does);
- at two thirds, the Redis server is killed and started again empty.

The report: jobs completed, jobs lost (not ended when the run stops; goal 0), duplicate chapters
(goal 0), chapters missing, and the RSS of the worker that was never killed, after its first
job and at the end (goal: growth under 10%).
"""

from __future__ import annotations

import argparse
import os
import random
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

from sqlalchemy import func, select, text
from tests.fakesite import royalroad
from tests.fakesite.server import FakeRequest

from benchmarks.common import (
    PrerenderedSite,
    child_env,
    private_postgres,
    progress,
    running_site,
    table,
)
from chapterhouse.config import Settings
from chapterhouse.db.models import Chapter, IngestionJob, JobStatus
from chapterhouse.services import Runtime, submit_ingest

FIRST_FICTION = 6001
RSS_GROWTH_GOAL = 0.10


@dataclass
class FaultySite(PrerenderedSite):
    """The pre-rendered fake site, answering some requests with 500 and some slowly."""

    error_rate: float = 0.0
    slow_rate: float = 0.0
    slow_seconds: float = 0.5
    rng: random.Random = field(default_factory=lambda: random.Random(7))

    def respond(self, request: FakeRequest) -> tuple[int, dict[str, str], str]:
        """A 500 or a slow answer now and then; robots.txt always answers."""
        if request.path != "/robots.txt":
            with self.lock:
                roll = self.rng.random()
            if roll < self.error_rate:
                return 500, {}, "<html><body>error 500</body></html>"
            if roll < self.error_rate + self.slow_rate:
                time.sleep(self.slow_seconds)
        return super().respond(request)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class RedisServer:
    """A redis-server of our own on a loopback port, keeping nothing on disk."""

    def __init__(self, workdir: Path) -> None:
        self.port = free_port()
        self.workdir = workdir
        self.proc: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> None:
        self.proc = subprocess.Popen(
            [
                *("redis-server", "--port", str(self.port), "--bind", "127.0.0.1"),
                *("--save", "", "--appendonly", "no", "--dir", str(self.workdir)),
            ],
            stdout=subprocess.DEVNULL,
        )
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            try:
                socket.create_connection(("127.0.0.1", self.port), timeout=0.2).close()
                return
            except OSError:
                time.sleep(0.05)
        raise RuntimeError("redis-server did not start")

    def kill(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()


@contextmanager
def own_redis(workdir: Path) -> Iterator[RedisServer]:
    server = RedisServer(workdir)
    server.start()
    try:
        yield server
    finally:
        server.kill()


class Worker:
    """One `chapterhouse worker` process (in its own process group, with its work horses)."""

    def __init__(self, settings: Settings, workdir: Path, log: Path) -> None:
        self.log = log.open("ab")
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "chapterhouse", "worker"],
            env=child_env(settings),
            cwd=workdir,
            stdout=self.log,
            stderr=self.log,
            start_new_session=True,
        )

    def rss_mb(self) -> float:
        """Resident set size of the worker process itself (not its horses)."""
        for line in Path(f"/proc/{self.proc.pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
        return float("nan")

    def alive(self) -> bool:
        return self.proc.poll() is None

    def kill(self) -> None:
        if self.alive():
            os.killpg(self.proc.pid, signal.SIGKILL)
        self.proc.wait()

    def stop(self) -> None:
        if self.alive():
            os.killpg(self.proc.pid, signal.SIGTERM)
            try:
                self.proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.kill()
        self.log.close()


def running_on(rt: Runtime, worker: Worker) -> bool:
    """Whether one of the worker's work horses holds a job right now."""
    with rt.sessions() as session:
        holders = session.scalars(
            select(IngestionJob.worker).where(IngestionJob.status == JobStatus.CRAWLING)
        ).all()
    for holder in holders:
        pid = (holder or "").rpartition(":")[2]
        try:
            status = Path(f"/proc/{pid}/status").read_text()
        except (OSError, ValueError):
            continue
        if f"\nPPid:\t{worker.proc.pid}\n" in status:
            return True
    return False


def ended_count(rt: Runtime) -> int:
    with rt.sessions() as session:
        return (
            session.scalar(
                select(func.count(IngestionJob.id)).where(IngestionJob.status.in_(JobStatus.ENDED))
            )
            or 0
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--jobs", type=int, default=200)
    parser.add_argument("--chapters", type=int, default=6, help="chapters per novel")
    parser.add_argument("--error-rate", type=float, default=0.05, help="share of 500 answers")
    parser.add_argument("--slow-rate", type=float, default=0.05, help="share of slow answers")
    parser.add_argument("--timeout", type=float, default=900, help="give up after (s)")
    args = parser.parse_args()

    workdir = Path(tempfile.mkdtemp(prefix="chapterhouse-soak-"))
    with (
        private_postgres() as database_url,
        own_redis(workdir) as redis_server,
        running_site(FaultySite(error_rate=args.error_rate, slow_rate=args.slow_rate)) as site,
    ):
        progress(f"rendering {args.jobs} novels of {args.chapters} chapters")
        fictions = [
            site.publish(royalroad.make_fiction(FIRST_FICTION + i, args.chapters))
            for i in range(args.jobs)
        ]
        settings = Settings(
            database_url=database_url,
            redis_url=redis_server.url,
            data_dir=workdir,
            site_hosts=f"{site.host}=royalroad",
            download_delay=0,
            request_retries=3,
            request_timeout=5,
            backoff_base=0.2,
            heartbeat_interval=1,
            worker_lost_after=6,
            reconcile_interval=2,
            reconcile_grace=3,
            max_attempts=5,
        )
        rt = Runtime(settings)
        logs = workdir / "workers.log"
        workers = [Worker(settings, workdir, logs), Worker(settings, workdir, logs)]
        steady = workers[1]  # never killed: its RSS is the growth figure
        restarts = 0
        try:
            started = time.monotonic()
            progress(f"submitting {args.jobs} jobs; worker log: {logs}")
            for fiction in fictions:
                submit_ingest(rt, site.url(fiction))
            rss_start: float | None = None
            killed = redis_restarted = False
            while time.monotonic() - started < args.timeout:
                ended = ended_count(rt)
                if rss_start is None and ended >= 2:
                    rss_start = steady.rss_mb()
                if not killed and ended >= args.jobs // 3 and running_on(rt, workers[0]):
                    progress(f"{ended} jobs ended: SIGKILL worker 1 and its work horse mid-job")
                    workers[0].kill()
                    time.sleep(2)
                    workers[0] = Worker(settings, workdir, logs)
                    killed = True
                if killed and not redis_restarted and ended >= 2 * args.jobs // 3:
                    progress(f"{ended} jobs ended: killing Redis, starting it again empty")
                    redis_server.kill()
                    time.sleep(1)
                    redis_server.start()
                    redis_restarted = True
                for i, worker in enumerate(workers):
                    if not worker.alive():  # as a supervisor would
                        progress(f"worker {i + 1} exited ({worker.proc.returncode}); restarting")
                        workers[i] = Worker(settings, workdir, logs)
                        restarts += 1
                if ended >= args.jobs:
                    break
                time.sleep(0.5)
            elapsed = time.monotonic() - started
            steady_alive = steady.alive()
            rss_end = steady.rss_mb() if steady_alive else float("nan")
        finally:
            for worker in workers:
                worker.stop()
        report(rt, args, fictions, elapsed, rss_start, rss_end, restarts, steady_alive)
        rt.close()


def report(
    rt: Runtime,
    args: argparse.Namespace,
    fictions: list[royalroad.FakeFiction],
    elapsed: float,
    rss_start: float | None,
    rss_end: float,
    restarts: int,
    steady_alive: bool,
) -> None:
    with rt.sessions() as session:
        by_status = dict(
            session.execute(
                select(IngestionJob.status, func.count(IngestionJob.id)).group_by(
                    IngestionJob.status
                )
            ).all()
        )
        attempts = session.scalar(select(func.sum(IngestionJob.attempts))) or 0
        duplicates = session.scalar(
            text(
                "SELECT count(*) FROM (SELECT novel_id, site_chapter_id FROM chapters"
                " GROUP BY novel_id, site_chapter_id HAVING count(*) > 1) d"
            )
        )
        stored = session.scalar(select(func.count(Chapter.id))) or 0
        failures = session.execute(
            select(IngestionJob.id, IngestionJob.status, IngestionJob.error)
            .where(IngestionJob.status.not_in([JobStatus.DONE]))
            .order_by(IngestionJob.id)
            .limit(10)
        ).all()
    completed = by_status.get(JobStatus.DONE, 0) + by_status.get(JobStatus.PARTIAL, 0)
    lost = sum(n for status, n in by_status.items() if status not in JobStatus.ENDED)
    expected = sum(len(f.chapters) for f in fictions)
    growth = (rss_end - rss_start) / rss_start if rss_start else float("nan")
    print(f"chapterhouse soak: {args.jobs} jobs x {args.chapters} chapters, two workers,")
    print(
        f"fake site: {args.error_rate:.0%} answers 500, {args.slow_rate:.0%} slow (0.5 s); "
        "one worker SIGKILLed and restarted, one Redis restart without persistence"
    )
    print()
    rows = [
        ["jobs submitted", str(args.jobs), "-", "-"],
        [
            "jobs completed (done + partial)",
            f"{completed} ({by_status.get('partial', 0)} partial)",
            f"{args.jobs}",
            "met" if completed == args.jobs else "MISSED",
        ],
        ["jobs failed", str(by_status.get(JobStatus.FAILED, 0)), "-", "-"],
        ["jobs lost (not ended)", str(lost), "0", "met" if lost == 0 else "MISSED"],
        ["duplicate chapters", str(duplicates), "0", "met" if duplicates == 0 else "MISSED"],
        ["chapters stored / expected", f"{stored} / {expected}", "-", "-"],
        ["attempts over all jobs", str(attempts), "-", "-"],
        ["unplanned worker restarts", str(restarts), "-", "-"],
        ["wall time", f"{elapsed:.1f} s", "-", "-"],
        [
            "steady worker RSS start -> end",
            f"{rss_start or float('nan'):.1f} -> {rss_end:.1f} MB ({growth:+.1%})"
            + ("" if steady_alive else " (it exited)"),
            "<= +10%",
            "met" if growth <= RSS_GROWTH_GOAL else "MISSED",
        ],
    ]
    print(table(["figure", "measured", "goal", "verdict"], rows))
    if failures:
        print()
        print("jobs not done (first 10):")
        for job_id, status, error in failures:
            print(f"  job {job_id}: {status}: {(error or '')[:150]}")
    print()
    print("command: .venv/bin/python -m benchmarks.soak " + " ".join(sys.argv[1:]))


if __name__ == "__main__":
    main()
