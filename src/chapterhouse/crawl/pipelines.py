"""Item pipeline: hands what the spider yields to the job's recorder, which stores it."""

from __future__ import annotations

import logging
from typing import Any

from scrapy.crawler import Crawler
from sqlalchemy.exc import SQLAlchemyError
from twisted.internet.defer import Deferred
from twisted.internet.threads import deferToThread

from chapterhouse.crawl.recorder import JobRecorder
from chapterhouse.crawl.spider import ChapterPage
from chapterhouse.crawl.store_process import ChapterStoreProcess
from chapterhouse.domain import ChapterData, NovelData

log = logging.getLogger(__name__)


class StorePipeline:
    """Store novels and chapters as they arrive, never held until the end.

    The novel is stored here, at once; chapter pages go to the crawl's store process
    (`crawl.store_process`), which parses, cleans and writes them in arrival order while the
    reactor goes on fetching.
    """

    def __init__(self, crawler: Crawler) -> None:
        self.crawler = crawler
        self.chapters: ChapterStoreProcess | None = None

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> StorePipeline:
        """Scrapy's constructor hook."""
        return cls(crawler)

    def open_spider(self) -> None:
        """Start the crawl's store process; the spider hands chapter pages to it directly."""
        spider: Any = self.crawler.spider
        self.chapters = ChapterStoreProcess(spider.site, spider.recorder)
        self.chapters.start()
        spider.hand_over = self.hand_over

    def hand_over(self, page: ChapterPage) -> None:
        """Pass one chapter page to the store process (unless storing has failed already)."""
        recorder: JobRecorder = self.crawler.spider.recorder  # type: ignore[union-attr]
        assert self.chapters is not None
        if recorder.outcome.store_error is None:
            self.chapters.put(page.ref, page.response)

    def close_spider(self) -> Deferred[None]:
        """Wait for the store process to write what it holds; Scrapy waits on the result."""
        assert self.chapters is not None
        return deferToThread(self.chapters.finish)

    def process_item(self, item: Any) -> Any:
        """Save a NovelData (at once) or hand a ChapterPage to the store process."""
        recorder: JobRecorder = self.crawler.spider.recorder  # type: ignore[union-attr]
        assert self.chapters is not None
        if isinstance(item, ChapterPage):  # a page that held every chapter (AO3's whole work)
            self.hand_over(item)
            return item
        store(recorder, item)
        if isinstance(item, NovelData) and recorder.novel_id is not None:
            self.chapters.novel_stored(recorder.novel_id)
        return item


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
