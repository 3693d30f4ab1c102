"""Item pipeline: hands what the spider yields to the job's recorder, which stores it."""

from __future__ import annotations

import logging
from typing import Any

from scrapy.crawler import Crawler
from sqlalchemy.exc import SQLAlchemyError
from twisted.internet import reactor
from twisted.internet.defer import Deferred
from twisted.internet.threads import deferToThreadPool
from twisted.python.threadpool import ThreadPool

from chapterhouse.crawl.recorder import JobRecorder
from chapterhouse.crawl.site import Site
from chapterhouse.crawl.spider import ChapterPage
from chapterhouse.domain import ChapterData, NovelData
from chapterhouse.errors import ChapterhouseError

log = logging.getLogger(__name__)


class StorePipeline:
    """Store novels and chapters as they arrive, never held until the end.

    Chapter pages are parsed, cleaned and written by one thread of their own, in arrival order,
    so the reactor goes on fetching meanwhile (lxml, nh3 and psycopg release the GIL as they
    work).
    """

    def __init__(self, crawler: Crawler) -> None:
        self.crawler = crawler
        self.pool = ThreadPool(minthreads=1, maxthreads=1, name="chapterhouse-store")

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> StorePipeline:
        """Scrapy's constructor hook."""
        return cls(crawler)

    def open_spider(self) -> None:
        """Start the storing thread."""
        self.pool.start()

    def close_spider(self) -> None:
        """Stop the storing thread; Scrapy waits for every item before closing the spider."""
        self.pool.stop()

    def process_item(self, item: Any) -> Any:
        """Save a NovelData (at once) or a ChapterPage (on the storing thread)."""
        spider = self.crawler.spider
        if isinstance(item, ChapterPage):
            done: Deferred[Any] = deferToThreadPool(
                reactor,
                self.pool,
                store_page,
                spider.site,  # type: ignore[union-attr]
                spider.recorder,  # type: ignore[union-attr]
                item,
            )
            return done
        return store(spider.recorder, item)  # type: ignore[union-attr]


def store_page(site: Site, recorder: JobRecorder, page: ChapterPage) -> Any:
    """Parse a chapter page and store it; a page that doesn't parse is a failed chapter."""
    if recorder.outcome.store_error is not None:
        return None
    try:
        data = site.parse_chapter(page.response, page.ref)  # type: ignore[arg-type]
    except ChapterhouseError as exc:
        recorder.chapter_failed(page.ref, exc.message)
        return None
    return store(recorder, data)


def store(recorder: JobRecorder, item: Any) -> Any:
    """Save one item through the recorder; a database failure stops the attempt."""
    if recorder.outcome.store_error is not None:
        return item
    try:
        if isinstance(item, NovelData):
            recorder.novel(item)
        elif isinstance(item, ChapterData):
            recorder.chapter(item)
    except SQLAlchemyError as exc:
        # The database is gone: stop this attempt; RQ retries the job later.
        log.error("job %s: storing failed: %s", recorder.job_id, exc)
        recorder.outcome.store_error = exc
        if isinstance(item, NovelData):
            recorder.outcome.fatal_error = f"storing {item.url} failed: {type(exc).__name__}"
    return item
