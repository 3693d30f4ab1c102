"""A series job, in the work horse: read the series' pages, store the series, queue each novel.

Each novel of the series becomes an ingestion job of its own (a job row and an RQ job, like a
submitted URL), so novels are crawled, retried and updated one by one, by any worker; each
novel's own page links it to the series at its part. The series job ends once they are queued.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass, field
from typing import Any, NoReturn

import scrapy
from redis.exceptions import RedisError
from scrapy.http import Response
from sqlalchemy.orm import Session, sessionmaker
from twisted.python.failure import Failure

from chapterhouse.config import Settings
from chapterhouse.crawl.recorder import JobRecorder
from chapterhouse.crawl.site import NovelRef, Site
from chapterhouse.crawl.spider import describe_failure
from chapterhouse.db.jobs import set_job
from chapterhouse.db.models import JobStatus, utcnow
from chapterhouse.db.series import upsert_series
from chapterhouse.domain import SeriesData
from chapterhouse.errors import ChapterhouseError, CrawlError
from chapterhouse.queue.connection import redis_answers

log = logging.getLogger(__name__)

MAX_PAGES = 200  # 20 works a page: far beyond any real series, and never a loop


@dataclass
class SeriesFetch:
    """What the series' pages said, merged, or why they could not be read."""

    series: SeriesData | None = None
    error: str | None = None
    outage: BaseException | None = None  # Redis (the shared limits) failed: retry the job
    pages: list[str] = field(default_factory=list)


class SeriesSpider(scrapy.Spider):
    """Fetch a series page and its next pages, handing each to the site's `parse_series`."""

    name = "series"

    def __init__(
        self, site: Site, url: str, result: SeriesFetch, recorder: JobRecorder, **kwargs: Any
    ) -> None:
        super().__init__(**kwargs)
        self.site = site
        self.url = url
        self.result = result
        self.recorder = recorder  # the politeness middleware shows waits on the job through it

    async def start(self) -> AsyncIterator[Any]:
        """Begin at the series' first page."""
        yield self._request(self.url)

    def parse_page(self, response: Response) -> Iterator[Any]:
        """Merge one page's works; follow the next page, if any."""
        self.result.pages.append(response.url)
        try:
            page = self.site.parse_series(response)  # type: ignore[arg-type]
        except ChapterhouseError as exc:
            self.result.error = exc.message
            return
        if self.result.series is None:
            self.result.series = page
        else:
            self.result.series.works.extend(page.works)
        following = page.next_page_url
        if following and following not in self.result.pages and len(self.result.pages) < MAX_PAGES:
            yield self._request(following)

    def failed(self, failure: Failure) -> None:
        """A page could not be fetched: the job fails with the reason (Redis lost: retried)."""
        if isinstance(failure.value, RedisError):
            self.result.outage = failure.value
            return
        url = failure.request.url  # type: ignore[attr-defined]
        self.result.error = describe_failure(url, failure)

    def _request(self, url: str) -> scrapy.Request:
        return scrapy.Request(url, callback=self.parse_page, errback=self.failed)


def run_series_job(
    settings: Settings, sessions: sessionmaker[Session], job_id: int, site: Site, ref: NovelRef
) -> str:
    """Read the series, store it, queue one ingestion job per novel; return the job's status."""
    from chapterhouse import services
    from chapterhouse.crawl.ingest import heartbeat
    from chapterhouse.crawl.runner import run_series  # Scrapy is only imported here, in the horse

    shared = redis_answers(settings)
    if not shared:
        # Its novels are queued as jobs of their own: without Redis there is nowhere to put them.
        _fail(sessions, job_id, f"{ref.url}: a series queues a job per work, which needs Redis")
    with heartbeat(sessions, job_id, settings.heartbeat_interval):  # a long series takes a while
        fetched = run_series(settings, site, ref.url, JobRecorder(sessions, job_id, {}))
    if fetched.outage is not None:
        raise fetched.outage
    if fetched.error or fetched.series is None:
        _fail(sessions, job_id, fetched.error or f"{ref.url}: the series page was not read")
    data = fetched.series
    with sessions() as session:
        series_id = upsert_series(session, data).id
        set_job(session, job_id, series_id=series_id, chapters_total=len(data.works))
    rt = services.Runtime(settings)
    queued = 0
    try:
        for done, work in enumerate(data.works, start=1):
            # An active job for the novel is reused, so a series read twice queues nothing twice.
            queued += services.submit_ingest(rt, work.url).created
            with sessions() as session:
                set_job(session, job_id, chapters_done=done, heartbeat_at=utcnow())
    finally:
        rt.close()
    stats = {"works": len(data.works), "queued": queued, "already_queued": len(data.works) - queued}
    with sessions() as session:
        set_job(
            session,
            job_id,
            status=JobStatus.DONE,
            error=None,
            note=None,
            stats=stats,
            finished_at=utcnow(),
        )
    log.info("job %s: series %s, %s", job_id, data.site_series_id, stats)
    return JobStatus.DONE


def _fail(sessions: sessionmaker[Session], job_id: int, reason: str) -> NoReturn:
    with sessions() as session:
        set_job(session, job_id, status=JobStatus.FAILED, error=reason, finished_at=utcnow())
    raise CrawlError(reason)
