"""Queries and state changes of ingestion jobs. The job row is the truth about status."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from chapterhouse.db.models import IngestionJob, JobStatus, utcnow
from chapterhouse.errors import JobNotFoundError


@dataclass(frozen=True, slots=True)
class JobPage:
    """One page of jobs, newest first, with the total matching the filter."""

    items: list[IngestionJob]
    total: int


def get_job(session: Session, job_id: int) -> IngestionJob:
    """The job with this id, or JobNotFoundError."""
    job = session.get(IngestionJob, job_id)
    if job is None:
        raise JobNotFoundError(f"no ingestion job has id {job_id}")
    return job


def find_active_job(session: Session, novel_key: str) -> IngestionJob | None:
    """The queued or running job for this novel, if any."""
    return session.scalars(
        select(IngestionJob)
        .where(IngestionJob.novel_key == novel_key, IngestionJob.status.in_(JobStatus.ACTIVE))
        .order_by(IngestionJob.id.desc())
        .limit(1)
    ).first()


def count_active_jobs(session: Session, client: str) -> int:
    """How many queued or running jobs this client submitted."""
    return (
        session.scalar(
            select(func.count())
            .select_from(IngestionJob)
            .where(IngestionJob.client == client, IngestionJob.status.in_(JobStatus.ACTIVE))
        )
        or 0
    )


def list_jobs(session: Session, *, status: str | None, limit: int, offset: int) -> JobPage:
    """Jobs newest first, optionally of one status."""
    query = select(IngestionJob)
    count = select(func.count()).select_from(IngestionJob)
    if status:
        query = query.where(IngestionJob.status == status)
        count = count.where(IngestionJob.status == status)
    items = session.scalars(query.order_by(IngestionJob.id.desc()).limit(limit).offset(offset))
    return JobPage(items=list(items.unique()), total=session.scalar(count) or 0)


def set_job(session: Session, job_id: int, **values: Any) -> None:
    """Update columns of one job and commit, so readers see progress at once."""
    values.setdefault("updated_at", utcnow())
    session.execute(update(IngestionJob).where(IngestionJob.id == job_id).values(**values))
    session.commit()


def failed_job_ids(
    session: Session, *, site: str | None = None, error_contains: str | None = None
) -> list[int]:
    """Ids of failed or partial jobs, oldest first, filtered by site or error text."""
    query = select(IngestionJob.id).where(
        IngestionJob.status.in_((JobStatus.FAILED, JobStatus.PARTIAL))
    )
    if site:
        query = query.where(IngestionJob.site == site)
    if error_contains:
        query = query.where(IngestionJob.error.ilike(f"%{error_contains}%"))
    return list(session.scalars(query.order_by(IngestionJob.id)))


def count_by_status(session: Session) -> dict[str, int]:
    """How many jobs have each status, in one GROUP BY (statuses with no job are absent)."""
    rows = session.execute(
        select(IngestionJob.status, func.count()).group_by(IngestionJob.status)
    ).all()
    return {status: int(count) for status, count in rows}
