"""Stored state for the jobs and growth benchmarks, bulk-inserted with SQL instead of crawled.

Novels and chapters match the fake Royal Road's fictions (ids, titles, dates), so a check or an
update of them sees exactly what a real ingest would have stored.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import Engine, insert, text
from tests.fakesite import royalroad

from chapterhouse.content.normalize import CLEANER_VERSION
from chapterhouse.db.models import Chapter, Novel, utcnow

# Chapter text as stored: about 4 KB of clean HTML (a short real chapter is 10-20 KB).
_PARAGRAPH = "<p>" + "Placeholder words of a stored chapter, clean and sanitised. " * 8 + "</p>"
CHAPTER_HTML = _PARAGRAPH * 8
BATCH = 2000  # rows per INSERT


def insert_novel(
    engine: Engine,
    fiction: royalroad.FakeFiction,
    origin: str,
    *,
    chapters: int | None = None,
    followed: bool = False,
    next_check_at: datetime | None = None,
) -> int:
    """Store the fiction as an ingest from `origin` (http://host:port) would: the novel and its
    first `chapters` chapters."""
    url = origin + royalroad.fiction_path(fiction)
    count = len(fiction.chapters) if chapters is None else chapters
    with engine.begin() as conn:
        novel_id = conn.execute(
            insert(Novel)
            .values(
                site="royalroad",
                site_novel_id=str(fiction.id),
                url=url,
                slug=f"{fiction.slug}-{fiction.id}",
                title=fiction.title,
                author=fiction.author,
                status=fiction.status,
                followed=followed,
                followed_at=utcnow() if followed else None,
                next_check_at=next_check_at,
                chapter_count=count,
            )
            .returning(Novel.id)
        ).scalar_one()
        rows = [
            {
                "novel_id": novel_id,
                "site_chapter_id": str(chapter.id),
                "number": number,
                "title": chapter.title,
                "url": origin + royalroad.chapter_path(fiction, chapter),
                "published_at": chapter.published,
                "content": CHAPTER_HTML,
                "raw_html": CHAPTER_HTML,
                "content_hash": f"{chapter.id:064x}",
                "cleaner_version": CLEANER_VERSION,
                "word_count": 1000,
            }
            for number, chapter in enumerate(fiction.chapters[:count], start=1)
        ]
        for start in range(0, len(rows), BATCH):
            conn.execute(insert(Chapter), rows[start : start + BATCH])
    return novel_id


def make_due(engine: Engine, novel_ids: list[int]) -> datetime:
    """Move the novels' planned checks a few seconds into the past; return that time."""
    due = utcnow().replace(microsecond=0) - timedelta(seconds=5)
    with engine.begin() as conn:
        conn.execute(
            text("UPDATE novels SET next_check_at = :due WHERE id = ANY(:ids)"),
            {"due": due, "ids": novel_ids},
        )
    return due


def insert_jobs(engine: Engine, count: int, *, first: int) -> None:
    """Add `count` ingestion jobs of earlier days (PostgreSQL): mostly done, a few not.

    Novel keys `royalroad:<first>` on, one job each; 1 in 50 failed, 1 in 500 still queued,
    every fourth submitted by the benchmark's own client address, as if over the API.
    """
    with engine.begin() as conn:
        conn.execute(
            text(
                """
                INSERT INTO ingestion_jobs (url, site, novel_key, status, chapters_done,
                    chapters_total, attempts, error, failed_chapters, stats, rq_job_id, client,
                    cancel_requested, created_at, started_at, finished_at, updated_at)
                SELECT 'https://www.royalroad.com/fiction/' || n || '/seeded', 'royalroad',
                    'royalroad:' || n,
                    CASE WHEN n % 500 = 0 THEN 'queued' WHEN n % 50 = 0 THEN 'failed'
                         ELSE 'done' END,
                    20, 20, 1,
                    CASE WHEN n % 50 = 0 AND n % 500 <> 0 THEN 'GET … answered HTTP 500' END,
                    '[]', '{"new": 20}', 'ingest-seeded-' || n,
                    CASE WHEN n % 4 = 0 THEN 'ip:127.0.0.1' ELSE 'ip:10.0.0.' || (n % 250) END,
                    false, now() - interval '1 day', now() - interval '1 day',
                    now() - interval '1 day', now() - interval '1 day'
                FROM generate_series(CAST(:first AS integer),
                                     CAST(:first AS integer) + CAST(:count AS integer) - 1) AS n
                """
            ),
            {"first": first, "count": count},
        )


def insert_bulk_chapters(engine: Engine, novel_id: int, count: int) -> None:
    """Give a stored novel `count` chapters in one statement (PostgreSQL), numbered 1 on."""
    with engine.begin() as conn:
        conn.execute(
            text(
                """
                INSERT INTO chapters (novel_id, site_chapter_id, number, title, url,
                    published_at, content, raw_html, content_hash, cleaner_version, word_count,
                    created_at, updated_at)
                SELECT :novel_id, 'bulk-' || n, n, 'Chapter ' || n,
                    'https://www.royalroad.com/fiction/1/bulk/chapter/' || n,
                    now() - (CAST(:count AS integer) - n) * interval '1 day',
                    :html, :html, md5(n::text), :version, 1000, now(), now()
                FROM generate_series(1, CAST(:count AS integer)) AS n
                """
            ),
            {
                "novel_id": novel_id,
                "count": count,
                "html": CHAPTER_HTML,
                "version": CLEANER_VERSION,
            },
        )
        conn.execute(
            text("UPDATE novels SET chapter_count = :count WHERE id = :id"),
            {"count": count, "id": novel_id},
        )


def analyze(engine: Engine) -> None:
    """Settle after a bulk load, as a server would in time: VACUUM ANALYZE (plans see the real
    sizes), then a CHECKPOINT, so its writes do not land in the timings that follow."""
    with engine.connect() as conn:
        conn = conn.execution_options(isolation_level="AUTOCOMMIT")
        conn.execute(text("VACUUM ANALYZE"))
        conn.execute(text("CHECKPOINT"))
