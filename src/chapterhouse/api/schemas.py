"""Request and response bodies. Responses are built from ORM rows or library dataclasses."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Annotated, Any, Generic, Literal, Self, TypeVar

from pydantic import AfterValidator, BaseModel, ConfigDict, Field

from chapterhouse.db.library import ChapterView
from chapterhouse.db.models import IngestionJob
from chapterhouse.db.series import SeriesView

T = TypeVar("T")

# The values of `JobStatus.ALL`, spelled out so OpenAPI lists them (a test keeps them in step).
JobStatusName = Literal["queued", "crawling", "saving", "done", "partial", "failed", "canceled"]


def _as_utc(value: datetime) -> datetime:
    # SQLite hands timestamps back naive; they were written in UTC, so say so.
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value


UtcDatetime = Annotated[datetime, AfterValidator(_as_utc)]


class Schema(BaseModel):
    """Base of response models: readable from ORM objects and dataclasses."""

    model_config = ConfigDict(from_attributes=True)


class Error(BaseModel):
    """Every error body has a human-readable `detail`."""

    detail: str


class UnsupportedSiteErrorBody(Error):
    """A URL on a site chapterhouse cannot crawl, with the sites it can."""

    supported_sites: list[str]


class LimitErrorBody(Error):
    """A request refused by a cap: the setting that holds it and its value."""

    setting: str
    limit: int


class ValidationErrorItem(BaseModel):
    """One rejected field."""

    loc: list[str | int]
    msg: str
    type: str


class ValidationErrorBody(Error):
    """A request that failed validation: `detail` sums up `errors`."""

    errors: list[ValidationErrorItem]


class PageOf(BaseModel, Generic[T]):
    """One page of a listing."""

    items: list[T]
    total: int
    limit: int
    offset: int


class IngestRequest(BaseModel):
    """A novel (or chapter) URL to ingest."""

    url: str = Field(examples=["https://www.royalroad.com/fiction/21220/mother-of-learning"])


class Progress(BaseModel):
    """Chapters saved so far out of the chapters found (null until the novel page is read)."""

    done: int
    total: int | None


class JobOut(BaseModel):
    """An ingestion job as the API shows it."""

    job_id: int
    status: JobStatusName
    url: str
    site: str
    novel_slug: str | None
    progress: Progress
    attempts: int
    error: str | None
    note: str | None = Field(description="What the job waits for right now, if anything.")
    failed_chapters: list[dict[str, Any]]
    stats: dict[str, int]
    rq_job_id: str | None
    worker: str | None = Field(description="host:pid of the process running it, while it runs.")
    heartbeat_at: UtcDatetime | None
    cancel_requested: bool
    created_at: UtcDatetime
    started_at: UtcDatetime | None
    finished_at: UtcDatetime | None
    series_id: int | None = Field(
        default=None,
        description="A series job: the series it read (`GET /series/{id}`); its novels are "
        "queued as jobs of their own, and `stats` counts them (`works`, `queued`).",
    )

    @classmethod
    def from_job(cls, job: IngestionJob, **extra: Any) -> Self:
        """Build from a job row whose `novel` relationship is loaded."""
        columns = {name: getattr(job, name) for name in JOB_COLUMNS}
        novel_slug = job.novel.slug if job.novel is not None else None
        return cls.from_row({**columns, "novel_slug": novel_slug}, **extra)

    @classmethod
    def from_row(cls, row: Mapping[str, Any], **extra: Any) -> Self:
        """Build from a job's columns and `novel_slug` (the asyncpg path of `POST /ingest`)."""
        return cls.model_validate(
            {
                "job_id": row["id"],
                "status": row["status"],
                "url": row["url"],
                "site": row["site"],
                "novel_slug": row["novel_slug"],
                "progress": {"done": row["chapters_done"], "total": row["chapters_total"]},
                "attempts": row["attempts"],
                "error": row["error"],
                "note": row["note"],
                "failed_chapters": row["failed_chapters"] or [],
                "stats": row["stats"] or {},
                "rq_job_id": row["rq_job_id"],
                "worker": row["worker"],
                "heartbeat_at": row["heartbeat_at"],
                "cancel_requested": bool(row["cancel_requested"]),
                "created_at": row["created_at"],
                "started_at": row["started_at"],
                "finished_at": row["finished_at"],
                "series_id": row["series_id"],
                **extra,
            }
        )


# The job columns `JobOut` shows.
JOB_COLUMNS = (
    "id", "status", "url", "site", "chapters_done", "chapters_total", "attempts", "error",
    "note", "failed_chapters", "stats", "rq_job_id", "worker", "heartbeat_at",
    "cancel_requested", "created_at", "started_at", "finished_at", "series_id",
)  # fmt: skip


class SubmittedJob(JobOut):
    """The job a submission led to; `created` is false when it was already active."""

    created: bool


class HealthChecks(BaseModel):
    """Per-service state: `ok`, or `unavailable: <reason>`."""

    database: str
    redis: str
    workers: int


class Health(BaseModel):
    """Overall state and each check."""

    status: Literal["healthy", "unhealthy"]
    checks: HealthChecks
    detail: str | None = None  # unhealthy only: which service fails, like every error body


class GenreRef(Schema):
    """A genre as novels list it."""

    slug: str
    name: str


class GenreOut(GenreRef):
    """A genre with its number of stored novels."""

    novel_count: int


class NovelSummary(Schema):
    """A novel in a listing."""

    slug: str
    title: str
    author: str | None
    site: str
    url: str
    status: str | None
    cover_url: str | None
    word_count: int
    chapter_count: int
    genres: list[GenreRef]
    updated_at: UtcDatetime


class NovelSeriesOut(Schema):
    """A series the novel belongs to, and its part in it."""

    series_id: int
    title: str
    position: int | None = Field(description='The novel\'s part ("Part 3 of …"), if stated.')


class NovelOut(NovelSummary):
    """Everything stored about a novel."""

    synopsis: str | None
    author_url: str | None
    novel_type: str | None
    language: str | None
    rating: float | None
    content_warnings: list[str]
    authors: list[str] = Field(description="Every credited author (`author` is the first).")
    byline: str | None = Field(
        description='The credit line as the site shows it (AO3: "X [archived by Y]").'
    )
    tag_groups: dict[str, list[str]] = Field(
        description="Tags in the site's own groups (AO3: rating, warnings, category, fandoms, "
        "relationships, characters, freeform_tags); `genres` holds those the genre table knows."
    )
    site_published_at: UtcDatetime | None = Field(description="First published, per the site.")
    site_updated_at: UtcDatetime | None = Field(description="Last updated, per the site.")
    chapters_planned: int | None = Field(
        description='Chapters the author plans (AO3\'s "4/10"); null when unknown ("4/?").'
    )
    series: list[NovelSeriesOut] = Field(validation_alias="series_links")
    created_at: UtcDatetime
    followed: bool = Field(description="Checked for new chapters on a schedule.")
    next_check_at: UtcDatetime | None = Field(description="When a followed novel is checked next.")


class FollowOut(Schema):
    """A novel's follow state: when it is checked next and how its last check went."""

    slug: str
    title: str
    followed: bool
    followed_at: UtcDatetime | None
    next_check_at: UtcDatetime | None
    last_checked_at: UtcDatetime | None
    check_interval: int | None = Field(
        description="Seconds between checks, from the release rhythm (before ±10% jitter)."
    )
    last_check_note: str | None = Field(description="What the last check found.")


class ChapterSummary(Schema):
    """A table-of-contents entry."""

    number: int
    title: str
    url: str
    published_at: UtcDatetime | None
    word_count: int
    withdrawn_at: UtcDatetime | None = Field(
        description="When the site stopped listing the chapter; the text is kept."
    )


class NovelRefOut(Schema):
    """The novel a chapter belongs to."""

    slug: str
    title: str


class ChapterOut(ChapterSummary):
    """A chapter's clean HTML, author notes and neighbours in reading order."""

    content: str
    note_before: str | None
    note_after: str | None
    prev: int | None
    next: int | None
    novel: NovelRefOut

    @classmethod
    def from_view(cls, view: ChapterView) -> ChapterOut:
        """Build from a library chapter view."""
        chapter = view.chapter
        return cls(
            number=chapter.number,
            title=chapter.title,
            url=chapter.url,
            published_at=chapter.published_at,
            word_count=chapter.word_count,
            withdrawn_at=chapter.withdrawn_at,
            content=chapter.content,
            note_before=chapter.note_before,
            note_after=chapter.note_after,
            prev=view.prev,
            next=view.next,
            novel=NovelRefOut.model_validate(view.novel),
        )


class RetriedJobs(Schema):
    """Jobs queued again by a bulk retry."""

    job_ids: list[int]


class WorkerOut(Schema):
    """One RQ worker serving the queue."""

    name: str
    state: str
    current_job: str | None
    successful: int
    failed: int


class QueueOut(Schema):
    """The ingestion queue: jobs per RQ registry, the workers, and what is paused."""

    counts: dict[str, int] = Field(description="RQ jobs per registry (queued, started, …).")
    workers: list[WorkerOut]
    paused: bool = Field(description="True while workers take no new job from the queue.")
    paused_domains: list[str] = Field(description="Domains no request goes to until resumed.")


class DomainPauseOut(Schema):
    """The domains a pause or resume named, and every domain paused now."""

    domains: list[str]
    paused_domains: list[str]


class SeriesSummary(Schema):
    """A series in a listing."""

    id: int
    site: str
    url: str
    title: str
    author: str | None
    status: str | None
    works_count: int | None
    updated_at: UtcDatetime


class SeriesWorkOut(Schema):
    """One novel of a series, with what we hold of it."""

    position: int | None
    title: str
    url: str
    site_novel_id: str
    novel_slug: str | None = Field(description="Set once the novel is stored.")
    job_id: int | None = Field(description="Its latest ingestion job.")
    job_status: JobStatusName | None


class SeriesOut(SeriesSummary):
    """A series and its novels in series order."""

    author_url: str | None
    authors: list[str]
    synopsis: str | None
    word_count: int | None = Field(description="As the site states it.")
    site_published_at: UtcDatetime | None
    site_updated_at: UtcDatetime | None
    created_at: UtcDatetime
    works: list[SeriesWorkOut]

    @classmethod
    def from_view(cls, view: SeriesView) -> SeriesOut:
        """Build from a series view."""
        return cls.model_validate(
            {
                **SeriesSummary.model_validate(view.series).model_dump(),
                "author_url": view.series.author_url,
                "authors": view.series.authors or [],
                "synopsis": view.series.synopsis,
                "word_count": view.series.word_count,
                "site_published_at": view.series.site_published_at,
                "site_updated_at": view.series.site_updated_at,
                "created_at": view.series.created_at,
                "works": [SeriesWorkOut.model_validate(work) for work in view.works],
            }
        )
