"""The one spider: it drives any Site through novel page → chapter pages."""

from __future__ import annotations

import itertools
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from typing import Any

import scrapy
from redis.exceptions import RedisError
from scrapy import signals
from scrapy.crawler import Crawler
from scrapy.exceptions import CloseSpider, DontCloseSpider, IgnoreRequest
from scrapy.http import Response
from scrapy.spidermiddlewares.httperror import HttpError
from twisted.python.failure import Failure

from chapterhouse.crawl.recorder import JobRecorder
from chapterhouse.crawl.site import NovelRef, Site, TocRequest
from chapterhouse.domain import ChapterRef, NovelData
from chapterhouse.errors import ChapterhouseError


@dataclass(frozen=True, slots=True)
class ChapterPage:
    """A fetched chapter page, for the store pipeline to parse."""

    ref: ChapterRef
    response: Response


# Chapter requests in flight or queued at once: enough to keep the downloader busy.
WINDOW = 8


class NovelSpider(scrapy.Spider):
    """Fetch one novel: its page first, then the chapters the recorder says are needed."""

    name = "novel"

    def __init__(self, site: Site, ref: NovelRef, recorder: JobRecorder, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.site = site
        self.ref = ref
        self.recorder = recorder
        self._waiting: Iterator[ChapterRef] = iter(())

    @classmethod
    def from_crawler(cls, crawler: Crawler, *args: Any, **kwargs: Any) -> NovelSpider:
        """Scrapy's constructor hook; listens for the crawl going idle."""
        spider = super().from_crawler(crawler, *args, **kwargs)
        crawler.signals.connect(spider._on_idle, signal=signals.spider_idle)
        return spider

    async def start(self) -> AsyncIterator[Any]:
        """Begin at the novel page."""
        yield scrapy.Request(
            self.ref.url, callback=self.parse_novel, errback=self.novel_failed, dont_filter=True
        )

    def parse_novel(self, response: Response) -> Iterator[Any]:
        """Yield the novel, then the first few chapter requests, in reading order.

        Chapters are requested a few at a time (`WINDOW`), each one answered making room for
        the next: the scheduler never holds thousands of requests, so memory stays flat however
        long the novel, and progress and a stopped job keep the novel's beginning.
        """
        try:
            novel = self.site.parse_novel(response)  # type: ignore[arg-type]
            toc = self.site.toc_request(response, novel)  # type: ignore[arg-type]
        except ChapterhouseError as exc:
            self.recorder.outcome.fatal_error = exc.message
            return
        if toc is not None:
            # The page lists only part of the table of contents: the rest comes first.
            yield scrapy.FormRequest(
                toc.url,
                method=toc.method,
                formdata=toc.form or None,
                cookies=toc.cookies or None,
                callback=self.parse_toc,
                errback=self.toc_failed,
                cb_kwargs={"novel": novel, "toc": toc, "page": response},
                dont_filter=True,
            )
            return
        yield from self._listed(novel, response)

    def parse_toc(
        self, response: Response, novel: NovelData, toc: TocRequest, page: Response
    ) -> Iterator[Any]:
        """Merge the rest of the table of contents, then go on as from the novel page."""
        try:
            novel = self.site.parse_toc(response, novel, toc)  # type: ignore[arg-type]
        except ChapterhouseError as exc:
            self.recorder.outcome.fatal_error = exc.message
            return
        yield from self._listed(novel, page)

    def toc_failed(self, failure: Failure) -> None:
        """The rest of the table of contents could not be fetched: the job fails with why."""
        # Without the whole listing, neither new nor withdrawn chapters can be told apart.
        self._stop_if_ours(failure)
        toc = failure.request.cb_kwargs["toc"]  # type: ignore[attr-defined]
        self.recorder.outcome.fatal_error = describe_failure(toc.url, failure, toc.method)

    def _listed(self, novel: NovelData, response: Response) -> Iterator[Any]:
        yield novel
        if self.site.chapters_on_novel_page:
            # Every chapter's text is on this page already (AO3's whole work): no requests.
            # Scrapy stores the novel before it takes the next item, so chapters find it.
            for ref in self.recorder.to_fetch(novel):
                self._stop_if_asked()
                yield ChapterPage(ref, response)
            return
        self._waiting = iter(self.recorder.to_fetch(novel))
        yield from self._next_chapters(WINDOW)

    def parse_chapter(self, response: Response, ref: ChapterRef) -> None:
        """Hand the page to the store process, which parses, cleans and stores it off the reactor.

        The page goes there straight, not as an item, and the next chapter's request goes to
        the scheduler straight: Scrapy's path for a callback's output (spider middlewares, the
        pipeline manager, signals, stats) cost about a fifth of a chapter's time in the crawl's
        process, for a hand-over and a request that need none of it.
        """
        self._stop_if_asked()
        self.hand_over(ChapterPage(ref, response))
        self._schedule_next(1, referer=response.url)

    def hand_over(self, page: ChapterPage) -> None:
        """Give a fetched page to the store process; the store pipeline puts itself here."""
        raise RuntimeError("a NovelSpider crawl needs chapterhouse.crawl.pipelines.StorePipeline")

    def novel_failed(self, failure: Failure) -> None:
        """The novel page could not be fetched: the job fails with the reason."""
        self._stop_if_ours(failure)
        self.recorder.outcome.fatal_error = describe_failure(self.ref.url, failure)

    def chapter_errback(self, failure: Failure) -> Iterator[Any]:
        """A chapter could not be fetched after retries: record it, carry on."""
        self._stop_if_ours(failure)
        self._stop_if_asked()
        ref = failure.request.cb_kwargs["ref"]  # type: ignore[attr-defined]
        self.recorder.chapter_failed(ref, describe_failure(ref.url, failure))
        yield from self._next_chapters(1)

    def _schedule_next(self, count: int, referer: str | None = None) -> bool:
        """Give the next chapters' requests to the scheduler itself; whether there were any."""
        requests = list(self._next_chapters(count, referer))
        for request in requests:
            self.crawler.engine.crawl(request)
        return bool(requests)

    def _next_chapters(self, count: int, referer: str | None = None) -> Iterator[scrapy.Request]:
        # `referer` is for a request that skips the spider middlewares (which set it otherwise).
        headers = {"Referer": referer} if referer else None
        for ref in itertools.islice(self._waiting, count):
            yield scrapy.Request(
                ref.url,
                callback=self.parse_chapter,
                errback=self.chapter_errback,
                cb_kwargs={"ref": ref},
                headers=headers,
                dont_filter=True,  # the listing is deduplicated by chapter id already
            )

    def _on_idle(self) -> None:
        # A request can vanish without its callback or errback (a middleware dropping it):
        # never end the crawl while chapters still wait.
        outcome = self.recorder.outcome
        if outcome.store_error is None and not outcome.canceled and self._schedule_next(WINDOW):
            raise DontCloseSpider

    def _stop_if_ours(self, failure: Failure) -> None:
        # Redis (the shared politeness limits) failing is our outage, not the site's answer:
        # end this attempt so the job is retried, instead of failing it or its chapters.
        if isinstance(failure.value, RedisError):
            self.recorder.outcome.store_error = failure.value
            raise CloseSpider("redis_lost")

    def _stop_if_asked(self) -> None:
        if self.recorder.outcome.store_error is not None:
            raise CloseSpider("store_failed")
        if self.recorder.outcome.canceled:
            raise CloseSpider("canceled")


def describe_failure(url: str, failure: Failure, method: str = "GET") -> str:
    """A one-line reason a user can act on."""
    error = failure.value
    if isinstance(error, HttpError):
        return f"{method} {url} answered HTTP {error.response.status}"
    if isinstance(error, IgnoreRequest):
        return f"{method} {url} was not fetched: {error or 'forbidden by robots.txt'}"
    name = type(error).__name__
    detail = str(error).strip()
    return f"{method} {url} failed: {name}{': ' + detail if detail else ''}"
