"""Crawl benchmark: our ingest against a bare Scrapy crawl, an incremental update, worker memory.

    .venv/bin/python -m benchmarks.crawl [--chapters N] [--big N] [--repeat N] [--sqlite]
                                         [--quick] [--profile FILE]

Everything runs on loopback and is torn down at the end: a private PostgreSQL database (or a
SQLite file), a private Redis db number, the tests' fake Royal Road serving pre-rendered pages.
Each crawl runs in a child process of its own, as in a worker (see `benchmarks.child`).
"""

from __future__ import annotations

import argparse
import os
import platform
import shlex
import sys
import tempfile
from contextlib import ExitStack
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import func, select, text
from tests.fakesite import royalroad

from benchmarks.common import (
    ChildRun,
    PrerenderedSite,
    flush_redis,
    migrate,
    private_postgres,
    private_redis,
    progress,
    run_child,
    running_site,
    table,
)
from chapterhouse.config import Settings
from chapterhouse.db.models import Chapter, JobStatus
from chapterhouse.services import Runtime, get_job, submit_ingest

FICTION_ID = 4101  # copies for --repeat take 4111, 4121, ...: same size, same page shapes
BIG_ID = 4102
PROFILE_ID = 4103
NEW_CHAPTERS = 5
RATIO_GOAL = 0.80
UPDATE_REQUESTS_GOAL = 1 + NEW_CHAPTERS  # the fiction page and the new chapters
RSS_GOAL_MB = 150.0


@dataclass(frozen=True, slots=True)
class Crawl:
    """One timed crawl and what it cost."""

    label: str
    chapters: int  # chapters fetched (and, for an ingest, stored)
    pages: int  # page requests the site saw, robots.txt not included
    robots: int  # robots.txt requests
    seconds: float  # the crawl itself, in the child: from start to the job's end
    max_rss_mb: float  # the largest process's peak RSS (the crawl's, or its store process's)
    pss_mb: float | None = None  # peak PSS summed over the child and its store process
    cpu_self: float = 0.0  # CPU seconds of the crawl's process during the crawl
    cpu_children: float = 0.0  # CPU seconds of its store process

    @property
    def cpu_per_chapter(self) -> str:
        """CPU ms per chapter: the crawl's process, plus its store process when it has one."""
        if not self.chapters:
            return "-"
        own = 1000 * self.cpu_self / self.chapters
        if not self.cpu_children:
            return f"{own:.2f}"
        return f"{own:.2f} + {1000 * self.cpu_children / self.chapters:.2f}"

    @property
    def rate(self) -> float:
        """Chapters per second."""
        return self.chapters / self.seconds if self.seconds else 0.0


def _crawl(label: str, chapters: int, pages: int, robots: int, run: ChildRun) -> Crawl:
    result = run.result
    return Crawl(
        label,
        chapters,
        pages,
        robots,
        result["seconds"],
        run.max_rss_mb,
        run.peak_pss_mb,
        result.get("cpu_self", 0.0),
        result.get("cpu_children", 0.0),
    )


class Bench:
    """Runs crawls of fictions on the fake site, each in a child process, and checks them."""

    def __init__(self, settings: Settings, site: PrerenderedSite, workdir: Path) -> None:
        self.settings = settings
        self.site = site
        self.workdir = workdir
        self.rt = Runtime(settings)

    def bare(self, fiction: royalroad.FakeFiction, label: str, *, memory: bool = False) -> Crawl:
        """A bare Scrapy crawl of the fiction with our runner's settings, nothing stored."""
        run, pages, robots = self._child("bare", self.site.url(fiction), memory=memory)
        fetched = int(run.result["chapters"])
        if fetched != len(fiction.chapters):
            raise RuntimeError(f"{label}: fetched {fetched} of {len(fiction.chapters)} chapters")
        return _crawl(label, fetched, pages, robots, run)

    def ingest(
        self,
        fiction: royalroad.FakeFiction,
        label: str,
        *,
        expect_new: int,
        profile: Path | None = None,
        memory: bool = False,
    ) -> Crawl:
        """Record a job for the fiction and run it as a worker would; check what it stored."""
        job = submit_ingest(self.rt, self.site.url(fiction), enqueue=False).job
        extra = ["--profile", str(profile)] if profile else []
        run, pages, robots = self._child("ingest", str(job.id), *extra, memory=memory)
        job = get_job(self.rt, job.id)
        stats = job.stats or {}
        with self.rt.sessions() as session:
            stored = session.scalar(
                select(func.count(Chapter.id)).where(Chapter.novel_id == job.novel_id)
            )
        if (
            job.status != JobStatus.DONE
            or stats.get("new") != expect_new
            or stored != len(fiction.chapters)
        ):
            raise RuntimeError(
                f"{label}: job {job.id} ended {job.status} ({job.error}), stats {stats}, "
                f"{stored} chapters stored; expected {expect_new} new of {len(fiction.chapters)}"
            )
        fetched = stats["new"] + stats.get("updated", 0)
        return _crawl(label, fetched, pages, robots, run)

    def _child(self, *args: str, memory: bool = False) -> tuple[ChildRun, int, int]:
        flush_redis(self.settings.redis_url)
        self.site.clear_hits()
        run = run_child(self.settings, *args, workdir=self.workdir, sample_memory=memory)
        pages, robots = self.site.counted_hits()
        return run, pages, robots

    def database_name(self) -> str:
        """`PostgreSQL 15.20` or `SQLite 3.45.1`."""
        with self.rt.engine.connect() as conn:
            if self.rt.engine.dialect.name == "sqlite":
                return "SQLite " + str(conn.execute(text("select sqlite_version()")).scalar())
            return "PostgreSQL " + str(conn.execute(text("show server_version")).scalar())

    def close(self) -> None:
        """Release the parent's database connections."""
        self.rt.close()


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    """Command-line options."""
    parser = argparse.ArgumentParser(
        prog="python -m benchmarks.crawl", description=__doc__.split("\n")[0]
    )
    parser.add_argument("--chapters", type=int, help="chapters of the fixture novel (1000)")
    parser.add_argument("--big", type=int, help="chapters of the memory-test novel (5000)")
    parser.add_argument("--sqlite", action="store_true", help="store in SQLite, not PostgreSQL")
    parser.add_argument("--quick", action="store_true", help="smoke run: 100 and 500 chapters")
    parser.add_argument(
        "--repeat",
        type=int,
        help="rounds of bare crawl + full ingest, best of each reported (3; 1 with --quick)",
    )
    parser.add_argument(
        "--profile",
        type=Path,
        help="also run an extra, untimed ingest under cProfile and save its stats here",
    )
    args = parser.parse_args(argv)
    args.chapters = args.chapters or (100 if args.quick else 1000)
    args.big = args.big or (500 if args.quick else 5000)
    args.repeat = max(1, args.repeat or (1 if args.quick else 3))
    return args


def verdict(ok: bool) -> str:
    """Goal met or not, in words."""
    return "met" if ok else "MISSED"


def report(bench: Bench, crawls: dict[str, Crawl], args: argparse.Namespace) -> str:
    """The figures side by side, then the goals, then the command line."""
    from benchmarks.child import bare_scrapy_settings
    from chapterhouse.crawl.sites.royalroad import RoyalRoad

    scrapy = bare_scrapy_settings(bench.settings, RoyalRoad())
    bare, full, update, big_bare, big = (
        crawls[k] for k in ("bare", "full", "update", "big_bare", "big")
    )
    rows = [
        [
            c.label,
            str(c.chapters),
            str(c.pages),
            str(c.robots),
            f"{c.seconds:.2f}",
            f"{c.rate:.1f}" if c is not update else "-",
            c.cpu_per_chapter if c is not update else "-",
            f"{c.max_rss_mb:.1f}",
            f"{c.pss_mb:.1f}" if c.pss_mb is not None else "-",
        ]
        for c in (bare, full, update, big_bare, big)
    ]
    runs = table(
        [
            *("run", "chapters", "page requests", "robots.txt", "seconds", "chapters/s"),
            "CPU ms/chapter",
            *("peak RSS MB", "peak PSS MB, all"),
        ],
        rows,
    )
    memory = big.pss_mb if big.pss_mb is not None else big.max_rss_mb
    ratio = full.rate / bare.rate if bare.rate else 0.0
    goals = table(
        ["figure", "measured", "goal", "verdict"],
        [
            [
                "full ingest speed / bare crawl speed",
                f"{ratio:.1%} ({full.rate:.1f} / {bare.rate:.1f} ch/s)",
                f">= {RATIO_GOAL:.0%}",
                verdict(ratio >= RATIO_GOAL),
            ],
            [
                f"update page requests (+{NEW_CHAPTERS} chapters)",
                f"{update.pages} (+{update.robots} robots.txt)",
                str(UPDATE_REQUESTS_GOAL),
                verdict(update.pages == UPDATE_REQUESTS_GOAL),
            ],
            [
                "update time / full ingest time",
                f"{update.seconds:.2f} s / {full.seconds:.2f} s",
                "-",
                "-",
            ],
            [
                f"worker peak memory, {big.chapters}-chapter ingest (PSS)",
                f"{memory:.1f} MB (bare crawl: {big_bare.pss_mb or big_bare.max_rss_mb:.1f} MB)",
                f"<= {RSS_GOAL_MB:.0f} MB",
                verdict(memory <= RSS_GOAL_MB),
            ],
        ],
    )
    header = (
        f"chapterhouse crawl benchmark: {bench.database_name()}, Python "
        f"{platform.python_version()}, {os.cpu_count()} CPUs\n"
        f"fake Royal Road on 127.0.0.1 (pages pre-rendered), CONCURRENT_REQUESTS="
        f"{scrapy['CONCURRENT_REQUESTS']}, DOWNLOAD_DELAY={scrapy['DOWNLOAD_DELAY']}, "
        f"ROBOTSTXT_OBEY={scrapy['ROBOTSTXT_OBEY']}; each crawl in its own child process\n"
        f"first two rows: best of {args.repeat} alternating rounds, on fresh copies of the novel"
    )
    return f"{header}\n\n{runs}\n\n{goals}\n\ncommand: {shlex.join(sys.orig_argv)}"


def main(argv: list[str] | None = None) -> int:
    """Run every crawl, then print the report."""
    args = parse_args(argv)
    crawls: dict[str, Crawl] = {}
    with ExitStack() as stack:
        workdir = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="ch-bench-")))
        redis_url = stack.enter_context(private_redis())
        database_url = None if args.sqlite else stack.enter_context(private_postgres())
        site = stack.enter_context(running_site())
        settings = Settings(
            database_url=database_url,
            redis_url=redis_url,
            data_dir=workdir / "data",
            download_delay=0,
            site_hosts=f"{site.host}=royalroad",
        )
        if args.sqlite:
            migrate(settings)
        bench = Bench(settings, site, workdir)
        stack.callback(bench.close)
        n = args.chapters

        progress(f"rendering {args.repeat} copies of a {n}-chapter fiction")
        copies = [
            site.publish(royalroad.make_fiction(FICTION_ID + 10 * i, n)) for i in range(args.repeat)
        ]
        bares, fulls = [], []
        for i, copy in enumerate(copies, start=1):
            # Alternating the two kinds of crawl spreads any drift of the machine over both.
            progress(f"round {i}/{args.repeat}: bare Scrapy crawl, then full ingest")
            bares.append(bench.bare(copy, "bare Scrapy crawl"))
            fulls.append(bench.ingest(copy, "full ingest (run_job)", expect_new=n))
        crawls["bare"] = min(bares, key=lambda c: c.seconds)
        crawls["full"] = min(fulls, key=lambda c: c.seconds)

        progress(f"adding {NEW_CHAPTERS} chapters; incremental update")
        fiction = site.publish(royalroad.make_fiction(FICTION_ID, n + NEW_CHAPTERS))  # 1st copy
        crawls["update"] = bench.ingest(
            fiction, f"incremental update (+{NEW_CHAPTERS})", expect_new=NEW_CHAPTERS
        )

        progress(f"rendering a {args.big}-chapter fiction; its bare crawl and ingest")
        big = site.publish(royalroad.make_fiction(BIG_ID, args.big))
        crawls["big_bare"] = bench.bare(big, "bare Scrapy crawl (big)", memory=True)
        crawls["big"] = bench.ingest(big, "big ingest (run_job)", expect_new=args.big, memory=True)

        if args.profile:
            path = args.profile.resolve()
            progress(f"extra ingest under cProfile -> {path}")
            copy = site.publish(royalroad.make_fiction(PROFILE_ID, n))
            bench.ingest(copy, "profiled ingest", expect_new=n, profile=path)

        print(report(bench, crawls, args))
        if args.profile:
            print(f"profile of an extra {n}-chapter ingest: {args.profile} (python -m pstats)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
