"""Item pipeline: hands what the spider yields to the job's recorder, which stores it."""

from __future__ import annotations

import logging
from typing import Any

from scrapy.crawler import Crawler
from sqlalchemy.exc import SQLAlchemyError

from chapterhouse.domain import ChapterData, NovelData

log = logging.getLogger(__name__)


class StorePipeline:
    """Store novels and chapters as they arrive, never held until the end."""

    def __init__(self, crawler: Crawler) -> None:
        self.crawler = crawler

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> StorePipeline:
        """Scrapy's constructor hook."""
        return cls(crawler)

    def process_item(self, item: Any) -> Any:
        """Save a NovelData or ChapterData through the spider's recorder."""
        recorder = self.crawler.spider.recorder  # type: ignore[union-attr]
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
