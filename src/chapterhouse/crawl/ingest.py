"""One ingestion job, start to end: mark it started, crawl, total up, mark it ended."""

from __future__ import annotations

import logging
import os
import socket
import threading
from collections.abc import Iterator
from contextlib import contextmanager

from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session, sessionmaker

from chapterhouse.config import Settings
from chapterhouse.crawl.recorder import CrawlOutcome, JobRecorder
from chapterhouse.crawl.registry import SiteRegistry
from chapterhouse.db import store
from chapterhouse.db.engine import make_engine, make_session_factory
from chapterhouse.db.jobs import get_job, set_job
from chapterhouse.db.models import JobStatus, utcnow
from chapterhouse.errors import CrawlError
from chapterhouse.metrics import ChapterTally
from chapterhouse.queue.connection import make_redis, redis_answers

log = logging.getLogger(__name__)


def holder_name() -> str:
    """Who runs a job: `host:pid` of this process (RQ's work horse)."""
    return f"{socket.gethostname()}:{os.getpid()}"


def run_job(settings: Settings, job_id: int) -> str:
    """Crawl and store the job's novel; return the final status or raise CrawlError."""
    from chapterhouse.crawl.runner import run_spider  # Scrapy is only imported here, in the horse

    engine = make_engine(settings)
    sessions = make_session_factory(engine)
    try:
        with sessions() as session:
            job = get_job(session, job_id)
            if job.status in JobStatus.ENDED:
                # Canceled while queued, or queued twice: nothing to do, and never redo.
                log.info("job %s is already %s", job_id, job.status)
                return job.status
            registry = SiteRegistry(settings.extra_site_hosts, settings.max_url_length)
            site, ref = registry.resolve(job.url)
            set_job(
                session,
                job_id,
                status=JobStatus.CRAWLING,
                attempts=job.attempts + 1,
                started_at=utcnow(),
                finished_at=None,
                error=None,
                failed_chapters=[],
                worker=holder_name(),
                heartbeat_at=utcnow(),
            )
            if ref.kind == "series":
                from chapterhouse.crawl.series import run_series_job

                return run_series_job(settings, sessions, job_id, site, ref)
            novel_id = store.find_novel_id(session, ref.site, ref.site_novel_id)
            held = store.stored_listing(session, novel_id) if novel_id else {}

        shared = redis_answers(settings)
        tally = ChapterTally(make_redis(settings) if shared else None, site.name)
        recorder = JobRecorder(
            sessions,
            job_id,
            held,
            tally=tally,
            every_chapter=site.chapters_on_novel_page,
            max_chapters=settings.max_chapters,
        )
        with heartbeat(sessions, job_id, settings.heartbeat_interval):
            try:
                outcome = run_spider(settings, site, ref, recorder, shared=shared)
                recorder.close()
            except SQLAlchemyError as exc:
                # Keep the first error: after an outage, closing says only "rolled back".
                recorder.outcome.store_error = recorder.outcome.store_error or exc
                outcome = recorder.outcome
        if outcome.store_error is not None:
            raise outcome.store_error
        if outcome.fatal_error or recorder.novel_id is None:
            reason = outcome.fatal_error or f"{ref.url}: the crawl ended without the novel page"
            with sessions() as session:
                set_job(
                    session, job_id, status=JobStatus.FAILED, error=reason, finished_at=utcnow()
                )
            raise CrawlError(reason)
        return _finish(sessions, job_id, recorder.novel_id, outcome)
    finally:
        engine.dispose()


def _finish(
    sessions: sessionmaker[Session], job_id: int, novel_id: int, outcome: CrawlOutcome
) -> str:
    with sessions() as session:
        set_job(session, job_id, status=JobStatus.SAVING)
        if not outcome.canceled:
            outcome.counts["withdrawn"] = store.sync_listing(session, novel_id, outcome.listing)
        store.refresh_totals(session, novel_id)
        session.commit()
        if outcome.canceled:
            status, error = JobStatus.CANCELED, None
        elif outcome.failed_chapters or outcome.capped:
            # Done, but not all of it: chapters that failed, or beyond CHAPTERHOUSE_MAX_CHAPTERS.
            status = JobStatus.PARTIAL
            reasons = [outcome.capped] if outcome.capped else []
            if outcome.failed_chapters:
                reasons.insert(0, f"{len(outcome.failed_chapters)} chapter(s) could not be fetched")
            error = "; ".join(reasons)
        else:
            status, error = JobStatus.DONE, None
        set_job(
            session,
            job_id,
            status=status,
            error=error,
            note=None,
            stats=dict(outcome.counts),
            finished_at=utcnow(),
        )
    log.info("job %s: %s %s", job_id, status, outcome.counts)
    return status


@contextmanager
def heartbeat(sessions: sessionmaker[Session], job_id: int, interval: float) -> Iterator[None]:
    """Touch the job's heartbeat every `interval` s while the block runs (waits included)."""
    stop = threading.Event()

    def beat() -> None:
        while not stop.wait(interval):
            try:
                with sessions() as session:
                    set_job(session, job_id, heartbeat_at=utcnow())
            except SQLAlchemyError:
                log.warning("job %s: heartbeat not recorded", job_id)

    thread = threading.Thread(target=beat, name=f"heartbeat-{job_id}", daemon=True)
    thread.start()
    try:
        yield
    finally:
        stop.set()
        thread.join(timeout=interval + 5)


def record_attempt_failure(settings: Settings, job_id: int, reason: str, *, final: bool) -> None:
    """Note a failed attempt: `failed` when no retry is left, else back to `queued`."""
    engine = make_engine(settings)
    try:
        with make_session_factory(engine)() as session:
            if final:
                set_job(
                    session, job_id, status=JobStatus.FAILED, error=reason, finished_at=utcnow()
                )
            else:
                set_job(session, job_id, status=JobStatus.QUEUED, error=f"retrying: {reason}")
    except SQLAlchemyError:
        # The database itself is what failed; the reconciler puts the row right later.
        log.exception("job %s: could not record the failed attempt", job_id)
    finally:
        engine.dispose()
