"""ORM models. The schema itself comes only from the Alembic migrations."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import (
    JSON,
    Boolean,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
    false,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship


def utcnow() -> datetime:
    """Timezone-aware now, the only clock the models use."""
    return datetime.now(UTC)


class Base(DeclarativeBase):
    """Declarative base of every chapterhouse table."""


class JobStatus:
    """The states an ingestion job moves through."""

    QUEUED = "queued"
    CRAWLING = "crawling"
    SAVING = "saving"
    DONE = "done"
    PARTIAL = "partial"  # done, but some chapters failed
    FAILED = "failed"
    CANCELED = "canceled"  # stopped on request; what was fetched is kept

    ACTIVE = (QUEUED, CRAWLING, SAVING)
    ENDED = (DONE, PARTIAL, FAILED, CANCELED)
    ALL = (QUEUED, CRAWLING, SAVING, DONE, PARTIAL, FAILED, CANCELED)


class Novel(Base):
    __tablename__ = "novels"
    __table_args__ = (
        UniqueConstraint("site", "site_novel_id", name="uq_novels_site_id"),
        Index("ix_novels_followed_next_check", "followed", "next_check_at"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    site: Mapped[str] = mapped_column(String(32))
    site_novel_id: Mapped[str] = mapped_column(String(64))
    url: Mapped[str] = mapped_column(String(2048))
    slug: Mapped[str] = mapped_column(String(255), unique=True)
    title: Mapped[str] = mapped_column(String(512))
    author: Mapped[str | None] = mapped_column(String(255))
    author_url: Mapped[str | None] = mapped_column(String(2048))
    synopsis: Mapped[str | None] = mapped_column(Text)
    status: Mapped[str | None] = mapped_column(String(32))
    novel_type: Mapped[str | None] = mapped_column(String(32))
    cover_url: Mapped[str | None] = mapped_column(String(2048))
    language: Mapped[str | None] = mapped_column(String(32))
    rating: Mapped[float | None] = mapped_column(Float)
    site_word_count: Mapped[int | None] = mapped_column(Integer)
    word_count: Mapped[int] = mapped_column(Integer, default=0)
    chapter_count: Mapped[int] = mapped_column(Integer, default=0)
    content_warnings: Mapped[list[str]] = mapped_column(JSON, default=list)
    # Following: next_check_at is the truth about when the novel is checked next; Redis only
    # carries the scheduled check, and the reconciler re-enqueues what Redis lost.
    followed: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    followed_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    next_check_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    last_checked_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    check_interval: Mapped[int | None] = mapped_column(Integer)  # seconds, before jitter
    last_check_note: Mapped[str | None] = mapped_column(String(255))
    # What sites such as AO3 say beyond the common fields: every author, the credit line as
    # shown, tags in the site's own groups, the site's dates, chapters planned (None: unknown).
    authors: Mapped[list[str]] = mapped_column(JSON, default=list)
    byline: Mapped[str | None] = mapped_column(String(512))
    tag_groups: Mapped[dict[str, list[str]]] = mapped_column(JSON, default=dict)
    site_published_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    site_updated_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    chapters_planned: Mapped[int | None] = mapped_column(Integer)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), default=utcnow, onupdate=utcnow
    )

    genres: Mapped[list[Genre]] = relationship(
        secondary="novel_genres", order_by="Genre.name", lazy="selectin"
    )
    # Loaded when read (one novel's page), so listings of many novels pay nothing for it.
    series_links: Mapped[list[NovelSeries]] = relationship(
        order_by="NovelSeries.series_id", lazy="select", viewonly=True
    )


class Chapter(Base):
    __tablename__ = "chapters"
    __table_args__ = (
        UniqueConstraint("novel_id", "site_chapter_id", name="uq_chapters_site_id"),
        # Reading order with the id: a listing page skips rows on the index alone (0005).
        Index("ix_chapters_novel_number_id", "novel_id", "number", "id"),
        Index("ix_chapters_novel_published", "novel_id", "published_at"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    novel_id: Mapped[int] = mapped_column(ForeignKey("novels.id", ondelete="CASCADE"))
    site_chapter_id: Mapped[str] = mapped_column(String(64))
    number: Mapped[int] = mapped_column(Integer)
    title: Mapped[str] = mapped_column(String(512))
    url: Mapped[str] = mapped_column(String(2048))
    published_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    content: Mapped[str] = mapped_column(Text, default="")
    note_before: Mapped[str | None] = mapped_column(Text)
    note_after: Mapped[str | None] = mapped_column(Text)
    raw_html: Mapped[str | None] = mapped_column(Text)
    content_hash: Mapped[str | None] = mapped_column(String(64))
    cleaner_version: Mapped[int] = mapped_column(Integer, default=0)
    word_count: Mapped[int] = mapped_column(Integer, default=0)
    # Set when the site no longer lists the chapter: kept and flagged, never deleted.
    withdrawn_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    fetched_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), default=utcnow, onupdate=utcnow
    )


class Genre(Base):
    __tablename__ = "genres"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    slug: Mapped[str] = mapped_column(String(128), unique=True)
    name: Mapped[str] = mapped_column(String(128))


class NovelGenre(Base):
    __tablename__ = "novel_genres"

    novel_id: Mapped[int] = mapped_column(
        ForeignKey("novels.id", ondelete="CASCADE"), primary_key=True
    )
    genre_id: Mapped[int] = mapped_column(
        ForeignKey("genres.id", ondelete="CASCADE"), primary_key=True, index=True
    )


class Series(Base):
    """A site's series of novels (an AO3 series); each novel is stored on its own."""

    __tablename__ = "series"
    __table_args__ = (UniqueConstraint("site", "site_series_id", name="uq_series_site_id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    site: Mapped[str] = mapped_column(String(32))
    site_series_id: Mapped[str] = mapped_column(String(64))
    url: Mapped[str] = mapped_column(String(2048))
    title: Mapped[str] = mapped_column(String(512))
    author: Mapped[str | None] = mapped_column(String(255))
    author_url: Mapped[str | None] = mapped_column(String(2048))
    authors: Mapped[list[str]] = mapped_column(JSON, default=list)
    synopsis: Mapped[str | None] = mapped_column(Text)
    status: Mapped[str | None] = mapped_column(String(32))
    word_count: Mapped[int | None] = mapped_column(Integer)  # as the site states it
    works_count: Mapped[int | None] = mapped_column(Integer)
    site_published_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    site_updated_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    # The novels the series page listed, in order: [{position, site_novel_id, title, url, …}].
    # Null until the series page itself was read (a novel's page only names its series).
    works: Mapped[list[dict[str, Any]] | None] = mapped_column(JSON)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), default=utcnow, onupdate=utcnow
    )


class NovelSeries(Base):
    """A novel's place in a series, as the novel's own page states it."""

    __tablename__ = "novel_series"

    novel_id: Mapped[int] = mapped_column(
        ForeignKey("novels.id", ondelete="CASCADE"), primary_key=True
    )
    series_id: Mapped[int] = mapped_column(
        ForeignKey("series.id", ondelete="CASCADE"), primary_key=True, index=True
    )
    position: Mapped[int | None] = mapped_column(Integer)

    series: Mapped[Series] = relationship(lazy="joined")

    @property
    def title(self) -> str:
        """The series' title."""
        return self.series.title


class IngestionJob(Base):
    __tablename__ = "ingestion_jobs"
    __table_args__ = (
        Index("ix_ingestion_jobs_status_id", "status", "id"),
        Index("ix_ingestion_jobs_novel_key_status", "novel_key", "status"),
        Index("ix_ingestion_jobs_client_status", "client", "status"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    url: Mapped[str] = mapped_column(String(2048))
    site: Mapped[str] = mapped_column(String(32))
    novel_key: Mapped[str] = mapped_column(String(128))  # site:site_novel_id
    novel_id: Mapped[int | None] = mapped_column(ForeignKey("novels.id", ondelete="SET NULL"))
    status: Mapped[str] = mapped_column(String(16), default=JobStatus.QUEUED)
    chapters_done: Mapped[int] = mapped_column(Integer, default=0)
    chapters_total: Mapped[int | None] = mapped_column(Integer)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    error: Mapped[str | None] = mapped_column(Text)
    # What the job waits for right now, e.g. "waiting for www.royalroad.com until 12:00:03 UTC"
    note: Mapped[str | None] = mapped_column(String(255))
    failed_chapters: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)
    # new / updated / unchanged / withdrawn / failed chapter counts of this run
    stats: Mapped[dict[str, int]] = mapped_column(JSON, default=dict)
    rq_job_id: Mapped[str | None] = mapped_column(String(64))
    # Who runs the job ("host:pid" of the work horse) and when it last said it is alive: the
    # reconciler requeues a job whose holder is gone.
    worker: Mapped[str | None] = mapped_column(String(128))
    heartbeat_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    cancel_requested: Mapped[bool] = mapped_column(Boolean, default=False)
    # A series job: the series it read (its novels are queued as jobs of their own).
    series_id: Mapped[int | None] = mapped_column(ForeignKey("series.id", ondelete="SET NULL"))
    # Who submitted it over the API: `key:<hash prefix>` or `ip:<address>`; None from the CLI.
    # Never the raw API key. The active-jobs-per-client cap counts on it.
    client: Mapped[str | None] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    started_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    finished_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    updated_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), default=utcnow, onupdate=utcnow
    )

    novel: Mapped[Novel | None] = relationship(lazy="joined")
