"""Records a crawl's progress on its job row and stores what the spider yields."""

from __future__ import annotations

import logging
import threading
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import update
from sqlalchemy.orm import Session, sessionmaker

from chapterhouse.db import store
from chapterhouse.db.jobs import set_job
from chapterhouse.db.models import IngestionJob, utcnow
from chapterhouse.domain import ChapterData, ChapterRef, NovelData
from chapterhouse.metrics import ChapterTally

log = logging.getLogger(__name__)

FLUSH_EVERY = 25  # chapters per commit at most
FLUSH_SECONDS = 0.5  # and no chapter waits longer than this to be committed


@dataclass
class CrawlOutcome:
    """How a crawl went: a fatal error ends the job; chapter failures make it partial."""

    fatal_error: str | None = None
    store_error: BaseException | None = None  # database or Redis failed: the attempt is retried
    canceled: bool = False  # a cancel was asked for: stop at the next chapter boundary
    failed_chapters: list[dict[str, Any]] = field(default_factory=list)
    counts: dict[str, int] = field(
        default_factory=lambda: {
            "new": 0,
            "updated": 0,
            "unchanged": 0,
            "withdrawn": 0,
            "failed": 0,
        }
    )
    listing: list[ChapterRef] = field(default_factory=list)
    # The novel lists more chapters than CHAPTERHOUSE_MAX_CHAPTERS: only the first were taken.
    capped: str | None = None


class JobRecorder:
    """The spider's window onto storage: what to fetch, and where results go."""

    def __init__(
        self,
        sessions: sessionmaker[Session],
        job_id: int,
        held: dict[str, store.StoredListing],
        tally: ChapterTally | None = None,
        *,
        every_chapter: bool = False,
        max_chapters: int | None = None,
    ) -> None:
        self.sessions = sessions
        self.job_id = job_id
        self.held = held
        # The novel page brings every chapter's text (AO3): each is compared by its content
        # hash instead of its listing, so edits are noticed and unchanged ones counted as such.
        self.every_chapter = every_chapter
        self.max_chapters = max_chapters  # CHAPTERHOUSE_MAX_CHAPTERS; None: no cap
        self.tally = tally or ChapterTally(None, "")  # fleet-wide chapters-fetched counter
        self.novel_id: int | None = None
        self.outcome = CrawlOutcome()
        self.done = 0
        # One session for the crawl's chapters, committed every few chapters or fractions of a
        # second: progress stays live while the per-chapter round trips go away.
        self._session: Session | None = None
        self._pending = 0
        self._flushed_at = time.monotonic()
        # Chapters are stored on the pipeline's thread, failures noted on the reactor's.
        self.counting = threading.Lock()

    def listed(self, novel: NovelData) -> list[ChapterRef]:
        """The chapters this job may take: the novel's first `max_chapters`, in reading order."""
        cap = self.max_chapters
        if cap is None or len(novel.chapters) <= cap:
            return list(novel.chapters)
        self.outcome.capped = (
            f"{novel.url} lists {len(novel.chapters)} chapters, more than "
            f"CHAPTERHOUSE_MAX_CHAPTERS ({cap}): only the first {cap} were taken"
        )
        return list(novel.chapters[:cap])

    def to_fetch(self, novel: NovelData) -> list[ChapterRef]:
        """Chapters (within the cap) that are new or whose listing changed since we stored them."""
        if self.every_chapter:
            return self.listed(novel)
        return [
            ref
            for ref in self.listed(novel)
            if store.needs_fetch(ref, self.held.get(ref.site_chapter_id))
        ]

    def novel(self, data: NovelData) -> None:
        """Store the novel's metadata and announce how many chapters this job will fetch."""
        fetching = self.to_fetch(data)
        # The whole listing, beyond any cap: chapters stored earlier are not taken as withdrawn.
        self.outcome.listing = list(data.chapters)
        self.outcome.counts["unchanged"] = len(self.listed(data)) - len(fetching)
        with self.sessions() as session:
            novel = store.upsert_novel(session, data)
            self.novel_id = novel.id
            session.query(IngestionJob).filter(IngestionJob.id == self.job_id).update(
                {"novel_id": novel.id, "chapters_total": len(fetching), "chapters_done": 0}
            )
            session.commit()

    def chapter(self, data: ChapterData) -> None:
        """Store one chapter; chapters are committed in small batches with the job's progress."""
        assert self.novel_id is not None, "chapters arrive after their novel"
        if self._session is None:
            self._session = self.sessions()
        known = data.ref.site_chapter_id in self.held
        outcome = store.save_chapter(self._session, self.novel_id, data, known=known)
        with self.counting:
            self.outcome.counts[outcome] += 1
        self.tally.add()
        self.done += 1
        self._pending += 1
        if self._pending >= FLUSH_EVERY or time.monotonic() - self._flushed_at >= FLUSH_SECONDS:
            self.flush()

    def flush(self) -> None:
        """Commit stored chapters with the progress; the same write reads a cancel request."""
        if self._session is None or not self._pending:
            return
        cancel = self._session.scalar(
            update(IngestionJob)
            .where(IngestionJob.id == self.job_id)
            .values(chapters_done=self.done, heartbeat_at=utcnow())
            .returning(IngestionJob.cancel_requested)
        )
        self._session.commit()
        self._session.expunge_all()  # memory stays flat however long the novel
        self.tally.flush()
        self._pending = 0
        self._flushed_at = time.monotonic()
        if cancel:
            self.outcome.canceled = True

    def close(self) -> None:
        """Commit what is pending and release the session."""
        try:
            self.flush()
        finally:
            if self._session is not None:
                self._session.close()
                self._session = None
            self.tally.close()

    def waiting(self, domain: str, until: float) -> None:
        """Show on the job that a domain cools down (until=0 clears it)."""
        note = None
        if until:
            moment = datetime.fromtimestamp(until, UTC).strftime("%Y-%m-%d %H:%M:%S UTC")
            note = f"waiting for {domain} until {moment}"
        with self.sessions() as session:
            set_job(session, self.job_id, note=note)

    def paused(self, domain: str) -> None:
        """Show on the job that its domain is paused (`waiting(domain, 0)` clears it)."""
        with self.sessions() as session:
            set_job(session, self.job_id, note=f"paused: {domain}")

    def chapter_failed(self, ref: ChapterRef, reason: str) -> None:
        """Remember a chapter that could not be fetched; the job will end partial."""
        log.warning("job %s: chapter %s failed: %s", self.job_id, ref.url, reason)
        with self.counting:
            self.outcome.counts["failed"] += 1
            self.outcome.failed_chapters.append(
                {"number": ref.number, "title": ref.title, "url": ref.url, "error": reason}
            )
        with self.sessions() as session:
            set_job(session, self.job_id, failed_chapters=list(self.outcome.failed_chapters))
