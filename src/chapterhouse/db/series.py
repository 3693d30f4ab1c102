"""Series of novels: upserts from series pages and from novels' own pages, and the read view.

A series row comes from two sources: its own page (title, creators, status, the works it lists)
and each novel's page, which names the series and the novel's part in it. Either may come
first; neither overwrites what only the other knows.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import delete, func, select
from sqlalchemy.orm import Session

from chapterhouse.db.models import IngestionJob, Novel, NovelSeries, Series
from chapterhouse.domain import SeriesData, SeriesLink
from chapterhouse.errors import SeriesNotFoundError


@dataclass(frozen=True, slots=True)
class SeriesEntry:
    """One novel of a series: where it stands, and what we hold of it."""

    position: int | None
    title: str
    url: str
    site_novel_id: str
    novel_slug: str | None  # None until the novel is stored
    job_id: int | None  # its latest ingestion job, if any
    job_status: str | None


@dataclass(frozen=True, slots=True)
class SeriesView:
    """A stored series and its novels in series order."""

    series: Series
    works: list[SeriesEntry]


@dataclass(frozen=True, slots=True)
class SeriesPage:
    """One page of stored series with the total."""

    items: list[Series]
    total: int


def _find(session: Session, site: str, site_series_id: str) -> Series | None:
    return session.scalars(
        select(Series).where(Series.site == site, Series.site_series_id == site_series_id)
    ).first()


def upsert_series(session: Session, data: SeriesData) -> Series:
    """Create or update a series from its own page (every page of it already merged)."""
    series = _find(session, data.site, data.site_series_id)
    if series is None:
        series = Series(site=data.site, site_series_id=data.site_series_id)
        session.add(series)
    series.url = data.url
    series.title = data.title
    series.author = data.author
    series.author_url = data.author_url
    series.authors = list(data.authors)
    series.synopsis = data.synopsis
    series.status = data.status
    series.word_count = data.word_count
    series.works_count = data.works_count if data.works_count is not None else len(data.works)
    series.site_published_at = data.published_at
    series.site_updated_at = data.updated_at
    series.works = [
        {
            "position": work.position,
            "site_novel_id": work.site_novel_id,
            "title": work.title,
            "url": work.url,
            "authors": list(work.authors),
            "word_count": work.word_count,
            "chapters": work.chapters,
        }
        for work in data.works
    ]
    session.flush()
    return series


def link_novel(session: Session, novel_id: int, site: str, links: list[SeriesLink]) -> None:
    """Make the novel's series the ones its page names, at the parts it names."""
    wanted: dict[int, int | None] = {}
    for link in links:
        series = _find(session, site, link.site_series_id)
        if series is None:
            # Known so far only from this novel's page: its own page fills in the rest later.
            series = Series(
                site=site,
                site_series_id=link.site_series_id,
                url=link.url,
                title=link.title,
                authors=[],
            )
            session.add(series)
            session.flush()
        wanted[series.id] = link.position
    held = {
        link.series_id: link
        for link in session.scalars(select(NovelSeries).where(NovelSeries.novel_id == novel_id))
    }
    gone = [series_id for series_id in held if series_id not in wanted]
    if gone:
        session.execute(
            delete(NovelSeries).where(
                NovelSeries.novel_id == novel_id, NovelSeries.series_id.in_(gone)
            )
        )
    for series_id, position in wanted.items():
        if series_id in held:
            held[series_id].position = position
        else:
            session.add(NovelSeries(novel_id=novel_id, series_id=series_id, position=position))
    session.flush()


def list_series(session: Session, *, limit: int = 20, offset: int = 0) -> SeriesPage:
    """Stored series by title."""
    total = session.scalar(select(func.count(Series.id))) or 0
    rows = session.scalars(
        select(Series).order_by(func.lower(Series.title), Series.id).limit(limit).offset(offset)
    )
    return SeriesPage(items=list(rows), total=total)


def get_series(session: Session, series_id: int) -> SeriesView:
    """A series with its novels: those its page lists and those whose page names it, merged."""
    series = session.get(Series, series_id)
    if series is None:
        raise SeriesNotFoundError(f"no series has id {series_id}")
    entries: dict[str, dict[str, Any]] = {
        str(work["site_novel_id"]): {
            "position": work.get("position"),
            "title": work.get("title") or "",
            "url": work.get("url") or "",
        }
        for work in series.works or []
    }
    linked = session.execute(
        select(NovelSeries.position, Novel.site_novel_id, Novel.title, Novel.url)
        .join(Novel, Novel.id == NovelSeries.novel_id)
        .where(NovelSeries.series_id == series_id)
    )
    for position, site_novel_id, title, url in linked:
        # The novel's own page is the newer word on its part and title.
        entry = entries.setdefault(site_novel_id, {"url": url})
        entry["title"] = title
        entry["position"] = position if position is not None else entry.get("position")
    ids = list(entries)
    slugs: dict[str, str] = {
        site_novel_id: slug
        for site_novel_id, slug in session.execute(
            select(Novel.site_novel_id, Novel.slug).where(
                Novel.site == series.site, Novel.site_novel_id.in_(ids)
            )
        )
    }
    latest: dict[str, tuple[int, str]] = {}
    keys = {f"{series.site}:{site_novel_id}": site_novel_id for site_novel_id in ids}
    jobs = session.execute(
        select(IngestionJob.novel_key, IngestionJob.id, IngestionJob.status)
        .where(IngestionJob.novel_key.in_(list(keys)))
        .order_by(IngestionJob.id)
    )
    for key, job_id, status in jobs:
        latest[keys[key]] = (job_id, status)  # ordered by id: the last one wins
    works = [
        SeriesEntry(
            position=entry.get("position"),
            title=entry["title"],
            url=entry["url"],
            site_novel_id=site_novel_id,
            novel_slug=slugs.get(site_novel_id),
            job_id=latest[site_novel_id][0] if site_novel_id in latest else None,
            job_status=latest[site_novel_id][1] if site_novel_id in latest else None,
        )
        for site_novel_id, entry in entries.items()
    ]
    works.sort(key=lambda w: (w.position is None, w.position or 0, w.title))
    return SeriesView(series=series, works=works)
