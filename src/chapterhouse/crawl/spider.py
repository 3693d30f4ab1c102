"""The one spider: it drives any Site through novel page → chapter pages."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from typing import Any

import scrapy
from scrapy.exceptions import CloseSpider, IgnoreRequest
from scrapy.http import Response
from scrapy.spidermiddlewares.httperror import HttpError
from twisted.python.failure import Failure

from chapterhouse.crawl.recorder import JobRecorder
from chapterhouse.crawl.site import NovelRef, Site
from chapterhouse.domain import ChapterRef
from chapterhouse.errors import ChapterhouseError


class NovelSpider(scrapy.Spider):
    """Fetch one novel: its page first, then the chapters the recorder says are needed."""

    name = "novel"

    def __init__(self, site: Site, ref: NovelRef, recorder: JobRecorder, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.site = site
        self.ref = ref
        self.recorder = recorder

    async def start(self) -> AsyncIterator[Any]:
        """Begin at the novel page."""
        yield scrapy.Request(
            self.ref.url, callback=self.parse_novel, errback=self.novel_failed, dont_filter=True
        )

    def parse_novel(self, response: Response) -> Iterator[Any]:
        """Yield the novel, then a request per chapter to fetch, in reading order.

        The scheduler is FIFO (see `runner`), so chapters are fetched in this order: progress and
        a stopped job keep the novel's beginning, at no per-chapter priority queue cost.
        """
        try:
            novel = self.site.parse_novel(response)  # type: ignore[arg-type]
        except ChapterhouseError as exc:
            self.recorder.outcome.fatal_error = exc.message
            return
        yield novel
        for ref in self.recorder.to_fetch(novel):
            yield scrapy.Request(
                ref.url,
                callback=self.parse_chapter,
                errback=self.chapter_errback,
                cb_kwargs={"ref": ref},
            )

    def parse_chapter(self, response: Response, ref: ChapterRef) -> Iterator[Any]:
        """Yield the chapter's raw content for the pipeline to clean and store."""
        self._stop_if_asked()
        try:
            yield self.site.parse_chapter(response, ref)  # type: ignore[arg-type]
        except ChapterhouseError as exc:
            self.recorder.chapter_failed(ref, exc.message)

    def novel_failed(self, failure: Failure) -> None:
        """The novel page could not be fetched: the job fails with the reason."""
        self.recorder.outcome.fatal_error = describe_failure(self.ref.url, failure)

    def chapter_errback(self, failure: Failure) -> None:
        """A chapter could not be fetched after retries: record it, carry on."""
        self._stop_if_asked()
        ref = failure.request.cb_kwargs["ref"]  # type: ignore[attr-defined]
        self.recorder.chapter_failed(ref, describe_failure(ref.url, failure))

    def _stop_if_asked(self) -> None:
        if self.recorder.outcome.store_error is not None:
            raise CloseSpider("store_failed")
        if self.recorder.outcome.canceled:
            raise CloseSpider("canceled")


def describe_failure(url: str, failure: Failure) -> str:
    """A one-line reason a user can act on."""
    error = failure.value
    if isinstance(error, HttpError):
        return f"GET {url} answered HTTP {error.response.status}"
    if isinstance(error, IgnoreRequest):
        return f"GET {url} was not fetched: {error or 'forbidden by robots.txt'}"
    name = type(error).__name__
    detail = str(error).strip()
    return f"GET {url} failed: {name}{': ' + detail if detail else ''}"
