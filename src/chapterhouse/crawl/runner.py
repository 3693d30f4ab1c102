"""The one place a Scrapy crawler starts: once per process, inside RQ's forked work horse."""

from __future__ import annotations

import logging
from typing import Any

from scrapy.crawler import CrawlerProcess
from scrapy.settings import default_settings

from chapterhouse.config import Settings
from chapterhouse.crawl.feed import FeedFetch, FeedSpider
from chapterhouse.crawl.recorder import CrawlOutcome, JobRecorder
from chapterhouse.crawl.safety import guarded_settings
from chapterhouse.crawl.series import SeriesFetch, SeriesSpider
from chapterhouse.crawl.site import NovelRef, Site
from chapterhouse.crawl.spider import NovelSpider

_UNUSED_EXTENSIONS = frozenset(
    {"scrapy.extensions.remote_control.RemoteControl", "scrapy.extensions.telnet.TelnetConsole"}
)


def scrapy_settings(settings: Settings, site: Site, *, shared: bool = True) -> dict[str, Any]:
    """Scrapy settings for one site: polite by default, quiet in our logs.

    With `shared`, the Redis limiter paces every worker together and Scrapy's own delay is off;
    without Redis (`ingest --now`), Scrapy's per-process delay does the pacing.
    """
    limit = settings.limit_for(site)
    politeness: dict[str, Any] = {
        "DOWNLOAD_DELAY": limit.interval,
        "RANDOMIZE_DOWNLOAD_DELAY": False,
    }
    if shared:
        politeness = {
            "DOWNLOAD_DELAY": 0,
            "DOWNLOADER_MIDDLEWARES": {"chapterhouse.crawl.politeness.PolitenessMiddleware": 950},
            "CHAPTERHOUSE_REDIS_URL": settings.redis_url,
            "CHAPTERHOUSE_INTERVAL": limit.interval,
            "CHAPTERHOUSE_CONCURRENCY": limit.concurrency,
            "CHAPTERHOUSE_BACKOFF_BASE": settings.backoff_base,
            "CHAPTERHOUSE_BACKOFF_CAP": settings.backoff_cap,
        }
    config: dict[str, Any] = {
        **politeness,
        "BOT_NAME": "chapterhouse",
        "LOG_INSTALL_ROOT_HANDLER": False,  # the worker's logging stays as RQ set it up
        "USER_AGENT": settings.full_user_agent,
        "ROBOTSTXT_OBEY": settings.robots_txt_obey,
        "CONCURRENT_REQUESTS": limit.concurrency,
        "CONCURRENT_REQUESTS_PER_DOMAIN": limit.concurrency,
        # Scrapy starts this many asyncio tasks for every callback's output; a chapter page
        # yields an item and a request, so 100 (the default) cost ~1 ms a page for nothing.
        "CONCURRENT_ITEMS": 4,
        "DOWNLOAD_TIMEOUT": settings.request_timeout,
        "RETRY_TIMES": settings.request_retries,
        "COOKIES_ENABLED": True,
        "TELNETCONSOLE_ENABLED": False,
        # Scrapy's remote control runs Python sent to a loopback HTTP server; we never use it,
        # and starting it cost every crawl (a follow check above all) an aiohttp server.
        "REMOTE_CONTROL_ENABLED": False,
        # Switched off, those two were still imported (Scrapy imports every component it
        # names, even one set to None): the remote control's aiohttp alone is ~10 MB in every
        # worker and work horse. Left out of the list, they are never imported.
        "EXTENSIONS_BASE": {
            path: order
            for path, order in default_settings.EXTENSIONS_BASE.items()
            if path not in _UNUSED_EXTENSIONS
        },
        # Each crawler looked up ten packages' versions (~10 ms) for one INFO line we never show.
        "LOG_VERSIONS": [],
        "LOG_LEVEL": "WARNING" if settings.log_level.upper() != "DEBUG" else "INFO",
        "ITEM_PIPELINES": {"chapterhouse.crawl.pipelines.StorePipeline": 300},
        "SCHEDULER_MEMORY_QUEUE": "scrapy.squeues.FifoMemoryQueue",
        # Scrapy re-reads each generator callback's source per response to warn about
        # `return value` in it (its cache is keyed by short-lived bound methods): ~3 ms a page.
        "WARN_ON_GENERATOR_RETURN_VALUE": False,
        "REQUEST_FINGERPRINTER_IMPLEMENTATION": "2.7",
    }
    # Every crawl fetches only its site's origins on public addresses, in pages of bounded size.
    return guarded_settings(settings, site, config)


def run_series(settings: Settings, site: Site, url: str, recorder: JobRecorder) -> SeriesFetch:
    """Fetch and parse a series' pages (blocking), under the shared politeness."""
    config = scrapy_settings(settings, site)
    config["ITEM_PIPELINES"] = {}  # a series yields no items; its novels are queued as jobs
    result = SeriesFetch()
    process = CrawlerProcess(config)
    process.crawl(SeriesSpider, site=site, url=url, result=result, recorder=recorder)
    logging.getLogger("scrapy").setLevel(logging.WARNING)
    process.start(install_signal_handlers=False)
    return result


def run_feed(settings: Settings, site: Site, url: str, *, shared: bool = True) -> FeedFetch:
    """Fetch and parse one feed (blocking), under the same politeness as a crawl."""
    config = scrapy_settings(settings, site, shared=shared)
    config["ITEM_PIPELINES"] = {}  # a feed yields no items; nothing is stored by Scrapy
    result = FeedFetch()
    process = CrawlerProcess(config)
    process.crawl(FeedSpider, site=site, url=url, result=result)
    logging.getLogger("scrapy").setLevel(logging.WARNING)
    process.start(install_signal_handlers=False)
    return result


def run_spider(
    settings: Settings, site: Site, ref: NovelRef, recorder: JobRecorder, *, shared: bool = True
) -> CrawlOutcome:
    """Crawl one novel to the end (blocking) and return how it went."""
    config = scrapy_settings(settings, site, shared=shared)
    process = CrawlerProcess(config)
    process.crawl(NovelSpider, site=site, ref=ref, recorder=recorder)
    logging.getLogger("scrapy").setLevel(logging.WARNING)
    process.start(install_signal_handlers=False)
    return recorder.outcome
