"""Rows for read tests, inserted straight through the ORM (no crawl, no queue)."""

from __future__ import annotations

import zlib
from collections.abc import Iterable
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy.orm import Session

from chapterhouse.db.models import Chapter, Genre, IngestionJob, JobStatus, Novel

BASE_TIME = datetime(2024, 1, 1, tzinfo=UTC)


def make_genre(session: Session, slug: str, name: str | None = None) -> Genre:
    """A genre; the name defaults to the slug in title case."""
    genre = Genre(slug=slug, name=name or slug.replace("-", " ").title())
    session.add(genre)
    session.flush()
    return genre


def make_novel(
    session: Session,
    slug: str,
    *,
    title: str | None = None,
    author: str | None = "Some Author",
    site: str = "royalroad",
    site_novel_id: str | None = None,
    genres: Iterable[Genre] = (),
    **fields: Any,
) -> Novel:
    """A novel with sensible defaults; pass any column to override it."""
    novel_id = site_novel_id or str(zlib.crc32(slug.encode()))
    values: dict[str, Any] = {
        "site": site,
        "site_novel_id": novel_id,
        "url": f"https://www.royalroad.com/fiction/{novel_id}/{slug}",
        "slug": slug,
        "title": title or slug.replace("-", " ").title(),
        "author": author,
        "status": "ongoing",
        "content_warnings": [],
        "created_at": BASE_TIME,
        "updated_at": BASE_TIME,
    }
    values.update(fields)
    novel = Novel(**values)
    novel.genres = list(genres)
    session.add(novel)
    session.flush()
    return novel


def make_chapter(session: Session, novel: Novel, number: int, **fields: Any) -> Chapter:
    """Chapter `number` of `novel`; keeps the novel's chapter and word counts in step."""
    values: dict[str, Any] = {
        "novel_id": novel.id,
        "site_chapter_id": f"{novel.site_novel_id}-{number}",
        "number": number,
        "title": f"Chapter {number}",
        "url": f"{novel.url}/chapter/{number}",
        "published_at": BASE_TIME + timedelta(days=number),
        "content": f"<p>Text of chapter {number}.</p>",
        "word_count": 4,
    }
    values.update(fields)
    chapter = Chapter(**values)
    session.add(chapter)
    novel.chapter_count = (novel.chapter_count or 0) + 1
    novel.word_count = (novel.word_count or 0) + chapter.word_count
    session.flush()
    return chapter


def make_job(
    session: Session,
    *,
    status: str = JobStatus.QUEUED,
    url: str = "https://www.royalroad.com/fiction/21220/mother-of-learning",
    site: str = "royalroad",
    novel_key: str = "royalroad:21220",
    novel: Novel | None = None,
    **fields: Any,
) -> IngestionJob:
    """An ingestion job row; its RQ id follows the `ingest-<id>` rule."""
    job = IngestionJob(
        url=url,
        site=site,
        novel_key=novel_key,
        novel_id=novel.id if novel is not None else None,
        status=status,
        **fields,
    )
    session.add(job)
    session.flush()
    job.rq_job_id = f"ingest-{job.id}"
    session.flush()
    return job
