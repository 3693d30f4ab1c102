"""Growth benchmark: how submit, read and update costs grow with what is already stored.

    .venv/bin/python -m benchmarks.growth [--requests N] [--quick]

Everything runs on loopback and is torn down at the end: a private PostgreSQL database, a
private Redis db number, the API as `chapterhouse serve` (uvicorn) in a child process, asked by
httpx over keep-alive, and the tests' fake Royal Road for the updates. Stored state (jobs,
chapters) is bulk-inserted with SQL, then VACUUM ANALYZEd as autovacuum would.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import random
import shlex
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx
from sqlalchemy import Engine, text
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
from benchmarks.seed import analyze, insert_bulk_chapters, insert_jobs, insert_novel
from chapterhouse.config import Settings
from chapterhouse.services import Runtime, get_job, submit_ingest

JOB_LEVELS = (0, 10_000, 100_000)
CHAPTER_LEVELS = (1_000, 50_000)
UPDATE_LENGTHS = (100, 1_000, 5_000)
FLAT = 1.5  # the largest size may cost this many times the smallest, at most
# A listing page still counts the novel's chapters and skips `offset` of them (OFFSET
# pagination), both on the index alone now: 50x the chapters may cost 3x the time (was 10x).
PAGE_FLAT = 3.0
# The novel page lists every chapter, and parsing 5,000 rows takes ~0.3 s: the rest is flat.
UPDATE_FLAT = 2.0
PAGE = 100  # chapters per listing page


@dataclass(frozen=True, slots=True)
class Latency:
    """Milliseconds of one kind of request at one size."""

    label: str
    size: str
    samples: list[float]

    def percentile(self, q: float) -> float:
        """Nearest-rank percentile."""
        ordered = sorted(self.samples)
        return ordered[min(len(ordered) - 1, max(0, round(q * len(ordered)) - 1))]

    @property
    def p50(self) -> float:
        """Median."""
        return self.percentile(0.50)

    @property
    def p99(self) -> float:
        """99th percentile."""
        return self.percentile(0.99)


@dataclass(frozen=True, slots=True)
class Update:
    """One incremental update of a novel that gained a chapter."""

    length: int  # chapters stored before the update
    pages: int  # page requests the site saw, robots.txt apart
    seconds: float  # run_job in its child, start to end
    statements: int  # SQL statements sent, the store process's included
    rows_read: int  # rows SELECTs returned
    rows_written: int  # rows inserted, updated or deleted


def free_port() -> int:
    """A loopback port nobody listens on right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@contextmanager
def api_server(settings: Settings, workdir: Path) -> Iterator[httpx.Client]:
    """`chapterhouse serve` in a child process, and an httpx client on it once it answers."""
    port = free_port()
    env = child_env(settings.model_copy(update={"api_port": port}))
    proc = subprocess.Popen(
        [sys.executable, "-m", "chapterhouse", "serve"],
        env=env,
        cwd=workdir,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    client = httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=30)
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                if client.get("/health").status_code in (200, 503):
                    break
            except httpx.TransportError:
                pass
            if proc.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"the API did not start:\n{proc.stderr.read()[-3000:]}")  # type: ignore[union-attr]
            time.sleep(0.2)
        yield client
    finally:
        client.close()
        proc.terminate()
        proc.wait(timeout=30)


def timed(
    client: httpx.Client, count: int, request: Callable[[int], httpx.Response]
) -> list[float]:
    """Milliseconds of `count` requests made by `request(i)`; each must succeed."""
    samples = []
    for i in range(count):
        started = time.perf_counter()
        response = request(i)
        samples.append(1000 * (time.perf_counter() - started))
        if response.status_code >= 300:
            raise RuntimeError(
                f"{response.request.url} answered {response.status_code}: {response.text}"
            )
    return samples


class Bench:
    """Grows the stored state step by step and measures each step."""

    def __init__(self, settings: Settings, site: PrerenderedSite, workdir: Path) -> None:
        self.settings = settings
        self.site = site
        self.workdir = workdir
        self.rt = Runtime(settings)
        self.next_url = 10_000_000  # fiction ids of submitted URLs: never seeded, never reused

    @property
    def engine(self) -> Engine:
        """The benchmark's own engine."""
        return self.rt.engine

    def submits(self, client: httpx.Client, count: int) -> list[Latency]:
        """POST /ingest latency with 0, 10k and 100k jobs stored."""
        results, stored = [], 0
        for level in JOB_LEVELS:
            if level > stored:
                progress(f"storing {level - stored} more jobs ({level} in all)")
                insert_jobs(self.engine, level - stored, first=stored + 1)
                stored = level
                analyze(self.engine)

            def submit(i: int) -> httpx.Response:
                self.next_url += 1
                url = f"https://www.royalroad.com/fiction/{self.next_url}/growth"
                return client.post("/ingest", json={"url": url})

            timed(client, max(10, count // 10), submit)  # warm-up: connections, plans
            progress(f"{count} submissions with {level} jobs stored")
            results.append(Latency("POST /ingest", f"{level:,} jobs", timed(client, count, submit)))
            flush_redis(self.settings.redis_url)  # the queue holds only ids; keep it small
        return results

    def reads(self, client: httpx.Client, count: int) -> list[Latency]:
        """Chapter and listing-page latency on novels of 1k and 50k chapters."""
        results = []
        for length in CHAPTER_LEVELS:
            progress(f"storing a novel of {length} chapters")
            fiction = royalroad.make_fiction(900 + length, 0)
            novel_id = insert_novel(self.engine, fiction, f"http://{self.site.host}")
            insert_bulk_chapters(self.engine, novel_id, length)
            analyze(self.engine)
            results.extend(self._reads(client, count, f"{fiction.slug}-{fiction.id}", length))
        return results

    def _reads(self, client: httpx.Client, count: int, slug: str, length: int) -> list[Latency]:
        rng = random.Random(length)
        last = PAGE * ((length - 1) // PAGE)

        def chapter(_: int) -> httpx.Response:
            return client.get(f"/novels/{slug}/chapters/{rng.randint(1, length)}")

        def page_at(offset: int) -> httpx.Response:
            params = {"limit": PAGE, "offset": offset}
            return client.get(f"/novels/{slug}/chapters", params=params)

        results = []
        for label, request in (
            ("GET /novels/{slug}/chapters/{n}, n at random", chapter),
            (
                f"GET /novels/{{slug}}/chapters, a page of {PAGE} at random",
                lambda _: page_at(PAGE * rng.randrange(last // PAGE + 1)),
            ),
            ("GET /novels/{slug}/chapters, the last page", lambda _: page_at(last)),
        ):
            timed(client, max(10, count // 10), request)
            progress(f"{count} x {label} ({length} chapters)")
            results.append(Latency(label, f"{length:,} chapters", timed(client, count, request)))
        return results

    def updates(self, repeat: int) -> list[Update]:
        """An update after one new chapter, on novels of 100, 1,000 and 5,000 chapters."""
        results = []
        origin = f"http://{self.site.host}"
        for length in UPDATE_LENGTHS:
            runs = []
            for round_ in range(repeat):
                fiction = royalroad.make_fiction(7000 + 10 * round_ + length, length + 1)
                self.site.add(fiction)
                path = royalroad.fiction_path(fiction)
                self.site.cache[path] = FakeSite.render(self.site, FakeRequest("GET", path))
                self.site.cache["/robots.txt"] = (200, self.site.robots)
                insert_novel(self.engine, fiction, origin, chapters=length)
                analyze(self.engine)
                progress(f"update of a {length}-chapter novel with 1 new chapter ({round_ + 1})")
                runs.append(self._update(fiction, length))
            results.append(min(runs, key=lambda run: run.seconds))
        return results

    def _update(self, fiction: royalroad.FakeFiction, length: int) -> Update:
        job = submit_ingest(self.rt, self.site.url(fiction), enqueue=False).job
        flush_redis(self.settings.redis_url)
        self.site.clear_hits()
        done = subprocess.run(
            [sys.executable, "-m", "benchmarks.counted", str(job.id)],
            env=child_env(self.settings),
            cwd=self.workdir,
            capture_output=True,
            text=True,
            check=False,
        )
        if done.returncode != 0 or not done.stdout.strip():
            raise RuntimeError(f"update child exited {done.returncode}:\n{done.stderr[-3000:]}")
        result = json.loads(done.stdout.strip().splitlines()[-1])
        pages, _robots = self.site.counted_hits()
        stats = get_job(self.rt, job.id).stats or {}
        if result["status"] != "done" or stats.get("new") != 1 or stats.get("unchanged") != length:
            raise RuntimeError(f"update of {length} chapters ended {result}, stats {stats}")
        return Update(
            length,
            pages,
            result["seconds"],
            result["statements"],
            result["rows_read"],
            result["rows_written"],
        )

    def explain(self) -> list[str]:
        """The plans of the queries that must not grow with the tables, as PostgreSQL runs them."""
        queries = {
            "active job of a novel (submit)": (
                "SELECT id FROM ingestion_jobs WHERE novel_key = 'royalroad:77' "
                "AND status IN ('queued', 'crawling', 'saving') ORDER BY id DESC LIMIT 1"
            ),
            "active jobs of a client (submit)": (
                "SELECT count(*) FROM ingestion_jobs WHERE client = 'ip:127.0.0.1' "
                "AND status IN ('queued', 'crawling', 'saving')"
            ),
            "a chapter and its neighbours (read)": (
                "SELECT c.id, (SELECT max(number) FROM chapters WHERE novel_id = c.novel_id "
                "AND number < c.number), (SELECT min(number) FROM chapters WHERE novel_id = "
                "c.novel_id AND number > c.number) FROM chapters c WHERE c.novel_id = "
                "(SELECT max(novel_id) FROM chapters) AND c.number = 25000 ORDER BY c.id LIMIT 1"
            ),
            "a listing page deep in the novel (read)": (
                "SELECT number, title FROM chapters WHERE id IN (SELECT id FROM chapters WHERE "
                "novel_id = (SELECT max(novel_id) FROM chapters) ORDER BY number, id "
                "LIMIT 100 OFFSET 25000) ORDER BY number, id"
            ),
            "latest release dates (check, update)": (
                "SELECT published_at FROM chapters WHERE novel_id = (SELECT max(novel_id) FROM "
                "chapters) AND published_at IS NOT NULL ORDER BY published_at DESC LIMIT 11"
            ),
        }
        lines = []
        with self.engine.connect() as conn:
            for name, sql in queries.items():
                plan = conn.execute(text(f"EXPLAIN (ANALYZE, COSTS OFF, TIMING OFF) {sql}"))
                lines.append(f"-- {name}")
                lines.extend(f"   {row[0]}" for row in plan)
        return lines

    def close(self) -> None:
        """Release the parent's connections."""
        self.rt.close()


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    """Command-line options."""
    parser = argparse.ArgumentParser(
        prog="python -m benchmarks.growth", description=__doc__.split("\n")[0]
    )
    parser.add_argument("--requests", type=int, help="timed requests per figure (300)")
    parser.add_argument("--repeat", type=int, help="updates per novel length, best shown (3)")
    parser.add_argument("--quick", action="store_true", help="smoke run: 50 requests, 1 update")
    args = parser.parse_args(argv)
    args.requests = args.requests or (50 if args.quick else 300)
    args.repeat = max(1, args.repeat or (1 if args.quick else 3))
    return args


def verdict(ok: bool) -> str:
    """Goal met or not, in words."""
    return "met" if ok else "MISSED"


def flat(label: str, small: float, big: float, unit: str, goal: float = FLAT) -> list[str]:
    """A goal row: the big size costs at most `goal` times the small one."""
    return [
        label,
        f"{big / small:.2f}x ({big:.2f} / {small:.2f} {unit})",
        f"<= {goal}x",
        verdict(big <= goal * small),
    ]


def report(
    bench: Bench,
    submits: list[Latency],
    reads: list[Latency],
    updates: list[Update],
    plans: list[str],
    args: argparse.Namespace,
) -> str:
    """The figures of each size side by side, the goals, the plans, the command line."""
    latencies = table(
        ["request", "stored", "p50 ms", "p99 ms", "requests"],
        [
            [lat.label, lat.size, f"{lat.p50:.2f}", f"{lat.p99:.2f}", str(len(lat.samples))]
            for lat in [*submits, *reads]
        ],
    )
    growth = table(
        [
            "update after 1 new chapter",
            "page requests",
            "seconds",
            "SQL statements",
            "rows read",
            "rows written",
        ],
        [
            [
                f"{u.length:,} chapters stored",
                str(u.pages),
                f"{u.seconds:.2f}",
                str(u.statements),
                str(u.rows_read),
                str(u.rows_written),
            ]
            for u in updates
        ],
    )
    first, last = submits[0], submits[-1]
    kinds = len(reads) // len(CHAPTER_LEVELS)
    small, big = reads[:kinds], reads[kinds:]
    short, long_ = updates[0], updates[-1]
    sizes = f"{long_.length:,} / {short.length:,} chapters"
    goals = [
        flat(f"submit p50, {last.size} / {first.size}", first.p50, last.p50, "ms"),
        flat(f"chapter p50, {big[0].size} / {small[0].size}", small[0].p50, big[0].p50, "ms"),
        flat(
            f"random page p50, {big[1].size} / {small[1].size}",
            small[1].p50,
            big[1].p50,
            "ms",
            PAGE_FLAT,
        ),
        flat(
            f"last page p50, {big[2].size} / {small[2].size}",
            small[2].p50,
            big[2].p50,
            "ms",
            PAGE_FLAT,
        ),
        [
            f"update page requests, {long_.length:,} and {short.length:,} chapters",
            f"{long_.pages} and {short.pages}",
            "2 (novel page + new chapter)",
            verdict(long_.pages == short.pages == 2),
        ],
        flat(f"update SQL statements, {sizes}", short.statements, long_.statements, ""),
        flat(f"update rows written, {sizes}", short.rows_written, long_.rows_written, ""),
        [
            f"update seconds, {sizes}",
            f"{long_.seconds / short.seconds:.2f}x ({long_.seconds:.2f} / {short.seconds:.2f} s: "
            f"+{long_.seconds - short.seconds:.2f} s for {long_.length - short.length:,} more)",
            f"<= {UPDATE_FLAT}x",
            verdict(long_.seconds <= UPDATE_FLAT * short.seconds),
        ],
    ]
    with bench.engine.connect() as conn:
        version = conn.execute(text("show server_version")).scalar()
    header = (
        f"chapterhouse growth benchmark: PostgreSQL {version}, Python "
        f"{platform.python_version()}, {os.cpu_count()} CPUs\n"
        "API: `chapterhouse serve` (uvicorn, one process) on 127.0.0.1, httpx keep-alive, one "
        "request at a time, after a warm-up;\nupdates: run_job in a child process on the fake "
        "Royal Road (pre-rendered novel page), CHAPTERHOUSE_DOWNLOAD_DELAY=0, best of "
        f"{args.repeat}"
    )
    plan_text = "\n".join(plans)
    return (
        f"{header}\n\n{latencies}\n\n{growth}\n\n"
        f"{table(['figure', 'measured', 'goal', 'verdict'], goals)}\n\n"
        f"query plans with the most rows stored (EXPLAIN ANALYZE):\n{plan_text}\n\n"
        f"command: {shlex.join(sys.orig_argv)}"
    )


def main(argv: list[str] | None = None) -> int:
    """Grow the state step by step, measuring each step, then print the report."""
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
            # The per-client limits stay on (their queries run), set out of reach.
            ingest_rate_limit=10**9,
            max_active_jobs_per_client=10**9,
        )
        bench = Bench(settings, site, workdir)
        stack.callback(bench.close)
        updates = bench.updates(args.repeat)
        with api_server(settings, workdir) as client:
            submits = bench.submits(client, args.requests)
            reads = bench.reads(client, args.requests)
        plans = bench.explain()
        print(report(bench, submits, reads, updates, plans, args))
    return 0


if __name__ == "__main__":
    sys.exit(main())
