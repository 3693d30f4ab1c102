"""One crawl in a process of its own, the way an RQ work horse runs it.

    python -m benchmarks.child ingest JOB_ID [--profile FILE]   `run_job` on a recorded job
    python -m benchmarks.child bare URL                          a bare Scrapy crawl, same settings

Settings come from the environment, as in a worker. The last stdout line is a JSON object with
the timed section's figures. Only chapterhouse and Scrapy are imported here, so the process's
memory is that of a worker's crawl and not of the benchmark driving it.
"""

from __future__ import annotations

import argparse
import json
import logging
import resource
import sys
import time
from collections.abc import AsyncIterator, Iterator
from typing import Any

from chapterhouse.config import Settings, get_settings
from chapterhouse.crawl.site import Site

# Royal Road's table of contents: one row per chapter, its first link is the chapter.
_CHAPTER_LINKS = "tr.chapter-row td:first-child a::attr(href)"


def bare_scrapy_settings(settings: Settings, site: Site) -> dict[str, Any]:
    """Our runner's Scrapy settings with every chapterhouse component taken out.

    Concurrency, delay, robots.txt, timeouts, retries and cookies stay as the runner sets them;
    only our pipeline, middlewares and DNS resolver (anything whose path starts with
    `chapterhouse.`) go, and Scrapy's own components they replace come back.
    """
    from chapterhouse.crawl.runner import scrapy_settings
    from chapterhouse.queue.connection import redis_answers

    config = scrapy_settings(settings, site, shared=redis_answers(settings))
    for key, value in list(config.items()):
        if isinstance(value, str) and value.startswith("chapterhouse."):
            del config[key]  # our DNS resolver: Scrapy's own instead
        elif isinstance(value, dict) and any(str(k).startswith("chapterhouse.") for k in value):
            # Our components go, and so do the `None`s that switched off Scrapy's own in their
            # place (its HttpCompressionMiddleware): the bare crawl has Scrapy's defaults back.
            kept = {
                k: v
                for k, v in value.items()
                if not str(k).startswith("chapterhouse.") and v is not None
            }
            if kept:
                config[key] = kept
            else:
                del config[key]
    return config


def run_bare(url: str) -> dict[str, Any]:
    """Fetch the novel page and every chapter it lists, doing nothing with the chapters."""
    import scrapy
    from scrapy.crawler import CrawlerProcess
    from scrapy.http import Response

    from chapterhouse.crawl.registry import SiteRegistry

    settings = get_settings()
    site, ref = SiteRegistry(settings.extra_site_hosts, settings.max_url_length).resolve(url)

    class BareSpider(scrapy.Spider):
        """Novel page, then each chapter page; chapter bodies are only counted."""

        name = "bare"
        chapters = 0

        async def start(self) -> AsyncIterator[Any]:
            """Begin at the novel page, as NovelSpider does."""
            yield scrapy.Request(ref.url, callback=self.parse, dont_filter=True)

        def parse(self, response: Response, **kwargs: Any) -> Iterator[Any]:
            """Follow every chapter link in reading order (the scheduler is FIFO, as ours)."""
            for href in response.css(_CHAPTER_LINKS).getall():
                yield response.follow(href, callback=self.parse_chapter)

        def parse_chapter(self, response: Response) -> None:
            """Count the chapter; its body is never looked at."""
            type(self).chapters += 1

    started = time.perf_counter()
    process = CrawlerProcess(bare_scrapy_settings(settings, site))
    process.crawl(BareSpider)
    logging.getLogger("scrapy").setLevel(logging.WARNING)
    process.start(install_signal_handlers=False)
    seconds = time.perf_counter() - started
    return {"seconds": seconds, "chapters": BareSpider.chapters}


def run_ingest(job_id: int, profile: str | None = None) -> dict[str, Any]:
    """Run the ingestion job exactly as `process_job` does, optionally under cProfile."""
    from chapterhouse.crawl.ingest import run_job

    settings = get_settings()
    if profile is None:
        started = time.perf_counter()
        status = run_job(settings, job_id)
        return {"seconds": time.perf_counter() - started, "status": status}
    import cProfile

    profiler = cProfile.Profile()
    started = time.perf_counter()
    status = profiler.runcall(run_job, settings, job_id)
    seconds = time.perf_counter() - started
    profiler.dump_stats(profile)
    return {"seconds": seconds, "status": status}


def preload() -> None:
    """Import what a worker imports before any clock starts, for both kinds of crawl.

    `run_job` imports the runner (and so Scrapy) lazily, which costs about a second; the bare
    crawl needs the same modules. Importing them up front keeps imports out of both timings.
    """
    import chapterhouse.queue.connection  # noqa: F401  (the bare crawl asks whether Redis answers)
    from chapterhouse.crawl.preload import preload_crawl

    preload_crawl(get_settings())  # the crawl modules, Scrapy's components, the database driver


def main(argv: list[str] | None = None) -> int:
    """Run one crawl and print its figures as the last stdout line."""
    parser = argparse.ArgumentParser(prog="python -m benchmarks.child")
    sub = parser.add_subparsers(dest="mode", required=True)
    ingest = sub.add_parser("ingest")
    ingest.add_argument("job_id", type=int)
    ingest.add_argument("--profile")
    bare = sub.add_parser("bare")
    bare.add_argument("url")
    args = parser.parse_args(argv)
    preload()
    before = resource.getrusage(resource.RUSAGE_SELF)
    result = run_ingest(args.job_id, args.profile) if args.mode == "ingest" else run_bare(args.url)
    # CPU seconds of this process (its threads included) and of the children it reaped (the
    # crawl's store process), however busy the rest of the machine was.
    after = resource.getrusage(resource.RUSAGE_SELF)
    children = resource.getrusage(resource.RUSAGE_CHILDREN)
    result["cpu_self"] = (after.ru_utime + after.ru_stime) - (before.ru_utime + before.ru_stime)
    result["cpu_children"] = children.ru_utime + children.ru_stime
    sys.stdout.write(json.dumps(result) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
