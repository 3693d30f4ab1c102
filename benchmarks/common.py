"""What the benchmarks share: private services on loopback, a pre-rendered fake site, children.

Everything is started here and torn down again: a PostgreSQL database of our own (or a SQLite
file), a Redis db number of our own (flushed), and the fake Royal Road site from the tests.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import psycopg
from redis import Redis
from tests.conftest import settings_env
from tests.fakesite import royalroad
from tests.fakesite.server import FakeRequest, FakeSite, serve

from chapterhouse.config import Settings
from chapterhouse.db.engine import make_engine
from chapterhouse.db.migrate import upgrade_to_head

REPO_ROOT = Path(__file__).resolve().parent.parent
PG_SERVER = "postgresql://postgres@127.0.0.1:5432"
REDIS_SERVER = "redis://127.0.0.1:6379"
# Marks a Redis db number as taken by a benchmark, so tests running meanwhile skip it.
CLAIM_KEY = "chapterhouse:bench-run"


# --- databases and Redis ---------------------------------------------------------------------


@contextmanager
def private_postgres() -> Iterator[str]:
    """A fresh database on the local PostgreSQL, migrated to head, dropped on exit."""
    name = f"chapterhouse_bench_{os.getpid()}_{uuid.uuid4().hex[:6]}"
    with psycopg.connect(f"{PG_SERVER}/postgres", autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    url = f"postgresql+psycopg://postgres@127.0.0.1:5432/{name}"
    try:
        migrate(Settings(database_url=url))
        yield url
    finally:
        with psycopg.connect(f"{PG_SERVER}/postgres", autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def migrate(settings: Settings) -> None:
    """Bring the settings' database to the newest schema."""
    engine = make_engine(settings)
    try:
        upgrade_to_head(engine)
    finally:
        engine.dispose()


@contextmanager
def private_redis() -> Iterator[str]:
    """An empty Redis db number claimed for this run (1 up to 15), flushed on exit."""
    for number in range(1, 16):
        client = Redis.from_url(f"{REDIS_SERVER}/{number}")
        try:
            if client.dbsize() == 0 and client.set(CLAIM_KEY, os.getpid(), nx=True, ex=7200):
                url = f"{REDIS_SERVER}/{number}"
                try:
                    yield url
                finally:
                    client.flushdb()
                return
        finally:
            client.close()
    raise RuntimeError("no empty Redis db number between 1 and 15 for the benchmark")


def flush_redis(url: str) -> None:
    """Empty the db (politeness keys of the last crawl) but keep it claimed."""
    client = Redis.from_url(url)
    try:
        with client.pipeline(transaction=True) as pipe:
            pipe.flushdb()
            pipe.set(CLAIM_KEY, os.getpid(), ex=7200)
            pipe.execute()
    finally:
        client.close()


# --- the fake site ---------------------------------------------------------------------------


@dataclass
class PrerenderedSite(FakeSite):
    """The tests' fake Royal Road with every page rendered before the clock starts.

    Rendering a chapter walks the fiction's chapter list, so serving a 5,000-chapter fiction
    live would time the fake site's Python rather than the crawl.
    """

    cache: dict[str, tuple[int, str]] = field(default_factory=dict)

    def publish(self, fiction: royalroad.FakeFiction) -> royalroad.FakeFiction:
        """Serve this fiction (replacing any of the same id), its pages rendered now."""
        self.add(fiction)
        paths = ["/robots.txt", royalroad.fiction_path(fiction)]
        paths.extend(royalroad.chapter_path(fiction, c) for c in fiction.chapters)
        self.cache.update((path, FakeSite.render(self, FakeRequest("GET", path))) for path in paths)
        return fiction

    def render(self, request: FakeRequest) -> tuple[int, str]:
        """The pre-rendered page, else the fake site's own answer."""
        cached = self.cache.get(request.path) if request.method == "GET" else None
        return cached if cached is not None else super().render(request)

    def clear_hits(self) -> None:
        """Forget the requests seen so far."""
        with self.lock:
            self.hits.clear()

    def counted_hits(self) -> tuple[int, int]:
        """(page requests, robots.txt requests) since the last `clear_hits`."""
        with self.lock:
            paths = [hit.path for hit in self.hits]
        robots = sum(1 for path in paths if path == "/robots.txt")
        return len(paths) - robots, robots


@contextmanager
def running_site(site: PrerenderedSite | None = None) -> Iterator[PrerenderedSite]:
    """A pre-rendering fake site served on a loopback port by a thread of this process."""
    site = site if site is not None else PrerenderedSite()
    server = serve(site)
    try:
        yield site
    finally:
        server.shutdown()
        server.server_close()


# --- child processes -------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class ChildRun:
    """What one child process reported, and what the kernel says it cost."""

    result: dict[str, Any]  # the JSON object the child printed last
    max_rss_mb: float  # peak resident set size of the child or of one of its descendants
    peak_pss_mb: float | None = None  # peak of the PSS summed over the child's process tree


def _tree(root: int) -> list[int]:
    """`root` and every process descended from it (Linux /proc)."""
    found, todo = [], [root]
    while todo:
        pid = todo.pop()
        found.append(pid)
        for task in Path(f"/proc/{pid}/task").glob("*/children"):
            try:
                todo.extend(int(child) for child in task.read_text().split())
            except OSError:
                continue
    return found


def _pss_kib(pid: int) -> int:
    try:
        for line in Path(f"/proc/{pid}/smaps_rollup").read_text().splitlines():
            if line.startswith("Pss:"):
                return int(line.split()[1])
    except OSError:
        pass
    return 0


class MemorySampler:
    """Samples the PSS of a process tree: shared pages (a forked child's) counted once.

    RSS counts a page once per process that maps it, so a forked helper would count twice;
    PSS divides each shared page among its sharers, so the sum is what the tree really costs.
    Reading it takes the process's memory-map lock, which stalls the process a little: hence
    sampling only a few times a second, and only in the memory rows.
    """

    def __init__(self, root: int, interval: float = 0.25) -> None:
        self.root = root
        self.interval = interval
        self.peak_kib = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def _run(self) -> None:
        while not self._stop.wait(self.interval):
            try:
                total = sum(_pss_kib(pid) for pid in _tree(self.root))
            except OSError:
                continue
            self.peak_kib = max(self.peak_kib, total)

    def stop(self) -> float:
        """Stop sampling; the peak in MB."""
        self._stop.set()
        self._thread.join()
        return self.peak_kib / 1024


def child_env(settings: Settings) -> dict[str, str]:
    """A worker's environment for these settings, with the repository importable."""
    env = settings_env(settings)
    env["PYTHONPATH"] = os.pathsep.join(
        p for p in (str(REPO_ROOT), os.environ.get("PYTHONPATH", "")) if p
    )
    return env


def run_child(
    settings: Settings, *args: str, workdir: Path, sample_memory: bool = False
) -> ChildRun:
    """Run `python -m benchmarks.child ARGS` to its end; raise with its stderr if it fails.

    The child runs in `workdir` so no `.env` of the repository leaks into its settings, and is
    reaped with wait4 so its own peak RSS is read (or a descendant's, when larger), not the
    maximum over all of this process's children. `sample_memory` also samples its tree's PSS.
    """
    with tempfile.TemporaryFile("w+") as out, tempfile.TemporaryFile("w+") as err:
        proc = subprocess.Popen(
            [sys.executable, "-m", "benchmarks.child", *args],
            env=child_env(settings),
            cwd=workdir,
            stdout=out,
            stderr=err,
        )
        sampler = MemorySampler(proc.pid) if sample_memory else None
        _, status, usage = os.wait4(proc.pid, 0)
        peak_pss = sampler.stop() if sampler is not None else None
        proc.returncode = os.waitstatus_to_exitcode(status)
        out.seek(0)
        err.seek(0)
        stdout, stderr = out.read(), err.read()
    lines = stdout.strip().splitlines()
    if proc.returncode != 0 or not lines:
        raise RuntimeError(
            f"benchmark child {' '.join(args)} exited {proc.returncode}:\n{stderr[-3000:]}"
        )
    # Linux reports ru_maxrss in KiB.
    return ChildRun(json.loads(lines[-1]), usage.ru_maxrss / 1024, peak_pss)


# --- output ----------------------------------------------------------------------------------


def table(headers: list[str], rows: list[list[str]]) -> str:
    """A plain-text table: first column left-aligned, the others right-aligned."""
    widths = [max(len(str(row[i])) for row in [headers, *rows]) for i in range(len(headers))]

    def line(cells: list[str]) -> str:
        first = str(cells[0]).ljust(widths[0])
        rest = (str(c).rjust(w) for c, w in zip(cells[1:], widths[1:], strict=True))
        return "  ".join([first, *rest]).rstrip()

    rule = "  ".join("-" * w for w in widths)
    return "\n".join([line(headers), rule, *(line(row) for row in rows)])


def progress(message: str) -> None:
    """One progress line on stderr, so stdout holds only the report."""
    print(f"[{time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)
