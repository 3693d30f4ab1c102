"""Small-jobs benchmark: follow checks per second per worker, next to RQ's bare job rate.

    .venv/bin/python -m benchmarks.jobs [--novels N] [--noops N] [--repeat N] [--quick]
                                        [--profile FILE]

Everything runs on loopback and is torn down at the end: a private PostgreSQL database, a
private Redis db number, the tests' fake Royal Road serving each novel's RSS feed. Each run is
one real `chapterhouse worker --burst` process, as an operator starts it, working through a
queue filled before it starts: no-op jobs, then due follow checks whose feed has nothing new.
"""

from __future__ import annotations

import argparse
import os
import platform
import shlex
import statistics
import subprocess
import sys
import tempfile
import time
from contextlib import ExitStack
from dataclasses import dataclass
from pathlib import Path

from redis import Redis
from rq import Queue
from rq.job import Job
from rq.job import JobStatus as RQStatus
from sqlalchemy import select, text
from tests.fakesite import royalroad
from tests.fakesite.server import FakeRequest, FakeSite

from benchmarks.common import (
    PrerenderedSite,
    child_env,
    flush_redis,
    private_postgres,
    private_redis,
    progress,
    running_site,
    table,
)
from benchmarks.seed import insert_novel, make_due
from chapterhouse.config import Settings
from chapterhouse.db.models import Novel
from chapterhouse.queue.checks import check_job_id, enqueue_due_checks
from chapterhouse.queue.enqueue import PROBE_TASK
from chapterhouse.services import Runtime

FIRST_FICTION = 5001
CHAPTERS = 30  # per followed novel; its feed lists the latest 20, all stored
NO_NEWS = "no new chapters"
# A check does a no-op's RQ work plus one crawler start, two requests (robots.txt, the feed)
# under the shared politeness and four SQL statements: five no-op jobs' time at most.
RATIO_GOAL = 0.20


@dataclass(frozen=True, slots=True)
class Run:
    """One burst worker's pass over a queue of like jobs."""

    label: str
    jobs: int
    span: float  # first job started → last job ended, from RQ's own timestamps
    wall: float  # the worker process, start to exit (imports and start-up included)
    per_job_ms: list[float]  # each job's own run time in its work horse
    pages: int = 0  # page requests the fake site saw, robots.txt apart
    robots: int = 0

    @property
    def rate(self) -> float:
        """Jobs per second while the worker was working."""
        return self.jobs / self.span if self.span else 0.0

    @property
    def median_ms(self) -> float:
        """Median run time of one job in its work horse (started → ended)."""
        return statistics.median(self.per_job_ms)


class Bench:
    """Fills the queue, runs a burst worker over it, and checks what the jobs did."""

    def __init__(self, settings: Settings, site: PrerenderedSite, workdir: Path) -> None:
        self.settings = settings
        self.site = site
        self.workdir = workdir
        self.rt = Runtime(settings)
        self.novel_ids: list[int] = []

    def follow(self, count: int) -> None:
        """Store `count` followed novels whose feeds are served, as if ingested and followed."""
        for i in range(count):
            fiction = self.site.add(royalroad.make_fiction(FIRST_FICTION + i, CHAPTERS))
            path = royalroad.feed_path(fiction)
            self.site.cache[path] = FakeSite.render(self.site, FakeRequest("GET", path))
            origin = f"http://{self.site.host}"
            self.novel_ids.append(insert_novel(self.rt.engine, fiction, origin, followed=True))
        self.site.cache["/robots.txt"] = (200, self.site.robots)

    def noops(self, count: int, profile: Path | None = None) -> Run:
        """`count` jobs of the no-op task (`tasks.probe`) on the ingestion queue."""
        flush_redis(self.settings.redis_url)
        ids = [f"noop-{i}" for i in range(count)]
        queue: Queue = self.rt.queue
        queue.enqueue_many(
            [
                Queue.prepare_data(PROBE_TASK, args=(job_id,), job_id=job_id, result_ttl=3600)
                for job_id in ids
            ]
        )
        wall = self._worker(profile)
        return self._collect("no-op job (RQ's bare rate)", ids, wall)

    def checks(self, profile: Path | None = None) -> Run:
        """One due check per followed novel, queued as the reconciler does; nothing is new."""
        flush_redis(self.settings.redis_url)
        due = make_due(self.rt.engine, self.novel_ids)
        scheduled = enqueue_due_checks(self.rt)
        if len(scheduled) != len(self.novel_ids):
            raise RuntimeError(f"{len(scheduled)} of {len(self.novel_ids)} checks scheduled")
        ids = [check_job_id(novel_id, due) for novel_id in self.novel_ids]
        self.site.clear_hits()
        wall = self._worker(profile)
        pages, robots = self.site.counted_hits()
        run = self._collect("follow check, feed with nothing new", ids, wall, pages, robots)
        with self.rt.sessions() as session:
            rows = session.execute(
                select(Novel.id, Novel.last_check_note, Novel.next_check_at).where(
                    Novel.id.in_(self.novel_ids)
                )
            ).all()
        wrong = [
            (i, note) for i, note, when in rows if note != NO_NEWS or when is None or when <= due
        ]
        if wrong or len(rows) != len(self.novel_ids):
            raise RuntimeError(
                f"checks that did not find '{NO_NEWS}' and plan the next: {wrong[:5]}"
            )
        with self.rt.engine.begin() as conn:
            conn.execute(text("UPDATE novels SET last_check_note = NULL"))
        return run

    def _worker(self, profile: Path | None) -> float:
        """Run `chapterhouse worker --burst` to its end; its wall time."""
        command = [sys.executable, "-m", "chapterhouse", "worker", "--burst"]
        if profile is not None:
            py_spy = Path(sys.executable).with_name("py-spy")
            # An .svg gets a flame graph; any other name py-spy's collapsed stacks (speedscope).
            kind = "flamegraph" if profile.suffix == ".svg" else "raw"
            command = [str(py_spy), "record", "--subprocesses", "--idle", "-f", kind]
            command += ["-o", str(profile), "--"]
            command += [sys.executable, "-m", "chapterhouse", "worker", "--burst"]
        started = time.perf_counter()
        done = subprocess.run(
            command,
            env=child_env(self.settings),
            cwd=self.workdir,
            capture_output=True,
            text=True,
            check=False,
        )
        wall = time.perf_counter() - started
        if done.returncode != 0:
            raise RuntimeError(f"worker exited {done.returncode}:\n{done.stderr[-3000:]}")
        return wall

    def _collect(
        self, label: str, ids: list[str], wall: float, pages: int = 0, robots: int = 0
    ) -> Run:
        redis: Redis = self.rt.redis
        jobs = [job for job in Job.fetch_many(ids, connection=redis) if job is not None]
        ended = [job for job in jobs if job.get_status() == RQStatus.FINISHED]
        if len(ended) != len(ids):
            raise RuntimeError(f"{label}: {len(ended)} of {len(ids)} jobs finished")
        first = min(job.started_at for job in ended if job.started_at)
        last = max(job.ended_at for job in ended if job.ended_at)
        per_job = [
            1000 * (job.ended_at - job.started_at).total_seconds()
            for job in ended
            if job.started_at and job.ended_at
        ]
        return Run(label, len(ids), (last - first).total_seconds(), wall, per_job, pages, robots)

    def close(self) -> None:
        """Release the parent's connections."""
        self.rt.close()


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    """Command-line options."""
    parser = argparse.ArgumentParser(
        prog="python -m benchmarks.jobs", description=__doc__.split("\n")[0]
    )
    parser.add_argument("--novels", type=int, help="followed novels, one check each (200)")
    parser.add_argument("--noops", type=int, help="no-op jobs (1000)")
    parser.add_argument("--repeat", type=int, help="rounds of both, best of each shown (3)")
    parser.add_argument("--quick", action="store_true", help="smoke run: 30 checks, 200 no-ops")
    parser.add_argument(
        "--profile",
        type=Path,
        help="also run an untimed round of checks under py-spy: FILE.svg a flame graph, "
        "else collapsed stacks",
    )
    args = parser.parse_args(argv)
    args.novels = args.novels or (30 if args.quick else 200)
    args.noops = args.noops or (200 if args.quick else 1000)
    args.repeat = max(1, args.repeat or (1 if args.quick else 3))
    return args


def verdict(ok: bool) -> str:
    """Goal met or not, in words."""
    return "met" if ok else "MISSED"


def report(bench: Bench, noop: Run, check: Run, args: argparse.Namespace) -> str:
    """Both rates side by side, the goal, the command line."""
    rows = [
        [
            run.label,
            str(run.jobs),
            f"{run.span:.2f}",
            f"{run.rate:.1f}",
            f"{1000 / run.rate:.1f}" if run.rate else "-",
            f"{run.median_ms:.1f}",
            f"{run.wall:.2f}",
            f"{run.pages / run.jobs:.2f} (+{run.robots / run.jobs:.2f})" if run is check else "-",
        ]
        for run in (noop, check)
    ]
    runs = table(
        [
            "job",
            "jobs",
            "seconds",
            "jobs/s",
            "ms/job",
            "median ms in horse",
            "worker wall s",
            "requests/job (+robots)",
        ],
        rows,
    )
    ratio = check.rate / noop.rate if noop.rate else 0.0
    goals = table(
        ["figure", "measured", "goal", "verdict"],
        [
            [
                "follow checks/s / no-op jobs/s, one worker",
                f"{ratio:.1%} ({check.rate:.1f} / {noop.rate:.1f} jobs/s)",
                f">= {RATIO_GOAL:.0%}",
                verdict(ratio >= RATIO_GOAL),
            ],
            [
                "page requests per check with nothing new",
                f"{check.pages / check.jobs:.2f}",
                "1 (the feed)",
                verdict(check.pages == check.jobs),
            ],
        ],
    )
    with bench.rt.engine.connect() as conn:
        version = conn.execute(text("show server_version")).scalar()
    header = (
        f"chapterhouse small-jobs benchmark: PostgreSQL {version}, Python "
        f"{platform.python_version()}, {os.cpu_count()} CPUs\n"
        "one `chapterhouse worker --burst` per row (GracefulWorker: RQ's forking Worker, one work "
        "horse per job), log level WARNING;\n"
        "fake Royal Road on 127.0.0.1, CHAPTERHOUSE_DOWNLOAD_DELAY=0; "
        f"best of {args.repeat} alternating rounds; seconds = first job started -> last ended"
    )
    return f"{header}\n\n{runs}\n\n{goals}\n\ncommand: {shlex.join(sys.orig_argv)}"


def main(argv: list[str] | None = None) -> int:
    """Run the rounds, then print the report."""
    args = parse_args(argv)
    with ExitStack() as stack:
        workdir = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="ch-bench-")))
        redis_url = stack.enter_context(private_redis())
        database_url = stack.enter_context(private_postgres())
        site = stack.enter_context(running_site())
        settings = Settings(
            database_url=database_url,
            redis_url=redis_url,
            data_dir=workdir / "data",
            download_delay=0,
            site_hosts=f"{site.host}=royalroad",
        )
        bench = Bench(settings, site, workdir)
        stack.callback(bench.close)
        progress(f"storing {args.novels} followed novels of {CHAPTERS} chapters")
        bench.follow(args.novels)
        noops, checks = [], []
        for i in range(1, args.repeat + 1):
            # Alternating the two spreads any drift of the machine over both.
            progress(f"round {i}/{args.repeat}: {args.noops} no-op jobs, then {args.novels} checks")
            noops.append(bench.noops(args.noops))
            checks.append(bench.checks())
        noop = max(noops, key=lambda run: run.rate)
        check = max(checks, key=lambda run: run.rate)
        if args.profile:
            path = args.profile.resolve()
            progress(f"one more round of checks under py-spy -> {path}")
            bench.checks(profile=path)
        print(report(bench, noop, check, args))
        if args.profile:
            print(f"flame graph of an extra, untimed round of checks: {args.profile}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
