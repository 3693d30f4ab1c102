"""Series on PostgreSQL and SQLite alike: named by novels' pages and by their own, merged."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from sqlalchemy import func, select

from chapterhouse.db import series, store
from chapterhouse.db.models import Chapter, IngestionJob, JobStatus, NovelSeries, Series
from chapterhouse.domain import (
    ChapterData,
    ChapterRef,
    NovelData,
    SeriesData,
    SeriesLink,
    SeriesWork,
)
from chapterhouse.errors import SeriesNotFoundError
from chapterhouse.services import Runtime

ORIGIN = "https://archiveofourown.org"


def work(site_id: str, *links: SeriesLink, title: str | None = None) -> NovelData:
    return NovelData(
        site="ao3",
        site_novel_id=site_id,
        url=f"{ORIGIN}/works/{site_id}",
        title=title or f"Work {site_id}",
        authors=["quill", "ink"],
        byline="Elder [archived by quill, ink]",
        tag_groups={"rating": ["Mature"], "freeform_tags": ["Slow Burn"]},
        chapters_planned=None,
        series=list(links),
    )


def link(series_id: str, position: int | None) -> SeriesLink:
    return SeriesLink(series_id, "The Cycle", f"{ORIGIN}/series/{series_id}", position)


def series_page(*work_ids: str) -> SeriesData:
    return SeriesData(
        site="ao3",
        site_series_id="77",
        url=f"{ORIGIN}/series/77",
        title="The Cycle (renamed)",
        author="quill",
        authors=["quill"],
        status="ongoing",
        works_count=len(work_ids),
        works=[
            SeriesWork(position=n, site_novel_id=w, title=f"Work {w}", url=f"{ORIGIN}/works/{w}")
            for n, w in enumerate(work_ids, start=1)
        ],
    )


def test_a_novels_page_links_it_to_its_series_at_its_part(any_runtime: Runtime) -> None:
    with any_runtime.sessions() as session:
        novel = store.upsert_novel(session, work("1", link("77", 2), link("78", None)))
        session.commit()
        assert novel.authors == ["quill", "ink"] and novel.byline.startswith("Elder [")
        assert novel.tag_groups == {"rating": ["Mature"], "freeform_tags": ["Slow Burn"]}
        assert [(s.title, s.position) for s in novel.series_links] == [
            ("The Cycle", 2),
            ("The Cycle", None),
        ]
        # Upserted again: the part moves, a series it left is unlinked, nothing doubles.
        store.upsert_novel(session, work("1", link("77", 3)))
        session.commit()
        rows = session.execute(select(NovelSeries.position)).scalars().all()
        assert rows == [3]
        assert session.scalar(select(func.count(Series.id))) == 2  # the series itself stays


def test_series_page_and_novel_pages_merge_in_the_view(any_runtime: Runtime) -> None:
    with any_runtime.sessions() as session:
        # A novel names the series first; the series page comes later and fills it in.
        novel = store.upsert_novel(session, work("2", link("77", 2), title="Work 2 (own page)"))
        session.commit()
        stored = series.upsert_series(session, series_page("1", "2", "3"))
        session.add(IngestionJob(url="u", site="ao3", novel_key="ao3:3", status=JobStatus.FAILED))
        session.commit()
        view = series.get_series(session, stored.id)
        assert view.series.title == "The Cycle (renamed)" and view.series.works_count == 3
        assert [(w.position, w.title, w.novel_slug, w.job_status) for w in view.works] == [
            (1, "Work 1", None, None),
            (2, "Work 2 (own page)", novel.slug, None),
            (3, "Work 3", None, "failed"),
        ]
        assert series.list_series(session).total == 1
        with pytest.raises(SeriesNotFoundError):
            series.get_series(session, stored.id + 100)


def test_an_unchanged_chapter_is_not_written_again(any_runtime: Runtime) -> None:
    ref = ChapterRef("c1", 1, "One", f"{ORIGIN}/works/1/chapters/1")
    data = ChapterData(ref=ref, raw_html="<p>Same words.</p>", note_before_html="<p>n</p>")
    with any_runtime.sessions() as session:
        novel_id = store.upsert_novel(session, work("1")).id
        assert store.save_chapter(session, novel_id, data) == "new"
        session.commit()
        stamp = session.scalar(select(Chapter.fetched_at))
        assert store.save_chapter(session, novel_id, data) == "unchanged"
        session.commit()
        assert session.scalar(select(Chapter.fetched_at)) == stamp  # not even touched
        moved = ChapterData(
            ref=ChapterRef("c1", 2, "One", ref.url, datetime(2024, 1, 1, tzinfo=UTC)),
            raw_html=data.raw_html,
            note_before_html=data.note_before_html,
        )
        assert store.save_chapter(session, novel_id, moved) == "unchanged"  # same text ...
        session.commit()
        assert session.scalar(select(Chapter.number)) == 2  # ... but its place is kept up
