"""The one place a Scrapy crawler starts: once per process, inside RQ's forked work horse."""

from __future__ import annotations

import logging
from typing import Any

from scrapy.crawler import CrawlerProcess

from chapterhouse.config import Settings
from chapterhouse.crawl.recorder import CrawlOutcome, JobRecorder
from chapterhouse.crawl.site import NovelRef, Site
from chapterhouse.crawl.spider import NovelSpider


def scrapy_settings(settings: Settings, site: Site) -> dict[str, Any]:
    """Scrapy settings for one site: polite by default, quiet in our logs."""
    delay = site.download_delay if settings.download_delay is None else settings.download_delay
    return {
        "BOT_NAME": "chapterhouse",
        "USER_AGENT": settings.full_user_agent,
        "ROBOTSTXT_OBEY": settings.robots_txt_obey,
        "CONCURRENT_REQUESTS": max(site.concurrency, 1),
        "CONCURRENT_REQUESTS_PER_DOMAIN": max(site.concurrency, 1),
        "DOWNLOAD_DELAY": delay,
        "DOWNLOAD_TIMEOUT": settings.request_timeout,
        "RETRY_TIMES": settings.request_retries,
        "COOKIES_ENABLED": True,
        "TELNETCONSOLE_ENABLED": False,
        "LOG_LEVEL": "WARNING" if settings.log_level.upper() != "DEBUG" else "INFO",
        "ITEM_PIPELINES": {"chapterhouse.crawl.pipelines.StorePipeline": 300},
        "REQUEST_FINGERPRINTER_IMPLEMENTATION": "2.7",
    }


def run_spider(
    settings: Settings, site: Site, ref: NovelRef, recorder: JobRecorder
) -> CrawlOutcome:
    """Crawl one novel to the end (blocking) and return how it went."""
    process = CrawlerProcess(scrapy_settings(settings, site), install_root_handler=False)
    process.crawl(NovelSpider, site=site, ref=ref, recorder=recorder)
    logging.getLogger("scrapy").setLevel(logging.WARNING)
    process.start(install_signal_handlers=False)
    return recorder.outcome
