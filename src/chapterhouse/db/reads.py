"""The library's busiest reads on asyncpg (PostgreSQL), batched: one round trip per burst.

Concurrent requests for chapters share one statement, and identical listing requests one
listing (see `chapterhouse.batcher`: a request only joins a batch that starts after it came).
The answers are those `db/library.py` gives through SQLAlchemy, which SQLite keeps using; the
API's tests run on both databases and hold the two to each other.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from functools import cache
from typing import Any

import asyncpg
import orjson

from chapterhouse.batcher import Batcher
from chapterhouse.db.aio import connection
from chapterhouse.db.library import escape_like
from chapterhouse.errors import ChapterNotFoundError, GenreNotFoundError, NovelNotFoundError

# One row per requested (slug, number), in order: a missing novel has no novel columns, a
# missing chapter no chapter columns. Neighbours are the nearest numbers (there can be gaps).
CHAPTERS_SQL = """
SELECT n.slug AS novel_slug, n.title AS novel_title,
       c.number, c.title, c.url, c.published_at, c.word_count, c.withdrawn_at,
       c.content, c.note_before, c.note_after,
       (SELECT max(p.number) FROM chapters p
        WHERE p.novel_id = n.id AND p.number < q.number) AS prev,
       (SELECT min(p.number) FROM chapters p
        WHERE p.novel_id = n.id AND p.number > q.number) AS next
FROM unnest($1::text[], $2::int[]) WITH ORDINALITY AS q(slug, number, i)
LEFT JOIN novels n ON n.slug = q.slug
LEFT JOIN LATERAL (
    SELECT number, title, url, published_at, word_count, withdrawn_at,
           content, note_before, note_after
    FROM chapters WHERE novel_id = n.id AND number = q.number
    ORDER BY id LIMIT 1
) c ON true
ORDER BY q.i
"""

# The total and one page as `NovelSummary` JSON, genres included, in one statement: the count
# always yields its row, so a page past the end still says how many there are. The database
# writes the JSON (decoding each column into Python and validating it again cost more than the
# query); `updated_at` as pydantic writes a UTC datetime.
NOVELS_SQL = """
SELECT t.total, coalesce(json_agg(json_build_object(
           'slug', p.slug, 'title', p.title, 'author', p.author, 'site', p.site, 'url', p.url,
           'status', p.status, 'cover_url', p.cover_url, 'word_count', p.word_count,
           'chapter_count', p.chapter_count, 'genres', coalesce(g.genres, '[]'::json),
           'updated_at', to_char(p.updated_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS')
               || CASE WHEN date_part('microseconds', p.updated_at)::bigint % 1000000 <> 0
                       THEN to_char(p.updated_at AT TIME ZONE 'UTC', '.US') ELSE '' END
               || 'Z'
       ) ORDER BY lower(p.title), p.id) FILTER (WHERE p.id IS NOT NULL), '[]'::json)::text
       AS items
FROM (SELECT count(*) AS total FROM novels n WHERE {where}) t
LEFT JOIN LATERAL (
    SELECT n.id, n.slug, n.title, n.author, n.site, n.url, n.status, n.cover_url,
           n.word_count, n.chapter_count, n.updated_at
    FROM novels n WHERE {where}
    ORDER BY lower(n.title), n.id LIMIT $1 OFFSET $2
) p ON true
LEFT JOIN LATERAL (
    SELECT json_agg(json_build_object('slug', gg.slug, 'name', gg.name)
                    ORDER BY gg.name, gg.slug) AS genres
    FROM novel_genres ng JOIN genres gg ON gg.id = ng.genre_id
    WHERE ng.novel_id = p.id
) g ON true
GROUP BY t.total
"""


@dataclass(frozen=True, slots=True)
class NovelQuery:
    """The parameters of one `GET /novels` page."""

    search: str | None = None
    genre: str | None = None
    limit: int = 20
    offset: int = 0


@dataclass(frozen=True, slots=True)
class NovelPage:
    """A page of novels: their `NovelSummary` JSON array (compact), and how many match."""

    items_json: bytes
    total: int

    def body(self, limit: int, offset: int) -> bytes:
        """The `PageOf[NovelSummary]` answer."""
        return b'{"items":%s,"total":%d,"limit":%d,"offset":%d}' % (
            self.items_json,
            self.total,
            limit,
            offset,
        )


class LibraryReads:
    """Chapters and novel listings from the pool, concurrent requests batched."""

    def __init__(self, pool: asyncpg.Pool) -> None:
        self._pool = pool
        self._chapters: Batcher[tuple[str, int], dict[str, Any]] = Batcher(self._read_chapters)
        self._listings: Batcher[NovelQuery, NovelPage] = Batcher(self._read_listings)

    async def chapter(self, slug: str, number: int) -> dict[str, Any]:
        """Chapter `number` of a novel with its neighbours' numbers, shaped as `ChapterOut`."""
        return await self._chapters((slug, number))

    async def novels(self, query: NovelQuery) -> NovelPage:
        """A page of novels by title; GenreNotFoundError for an unknown genre."""
        return await self._listings(query)

    async def _read_chapters(
        self, keys: list[tuple[str, int]]
    ) -> Sequence[dict[str, Any] | Exception]:
        unique = list(dict.fromkeys(keys))
        async with connection(self._pool) as conn:
            rows = await conn.fetch(
                CHAPTERS_SQL, [slug for slug, _ in unique], [number for _, number in unique]
            )
        found = {key: _chapter(key, row) for key, row in zip(unique, rows, strict=True)}
        return [found[key] for key in keys]

    async def _read_listings(self, keys: list[NovelQuery]) -> Sequence[NovelPage | Exception]:
        found: dict[NovelQuery, NovelPage | Exception] = {}
        async with connection(self._pool) as conn:
            for query in dict.fromkeys(keys):
                try:
                    found[query] = await list_novels(conn, query)
                except GenreNotFoundError as exc:
                    found[query] = exc
        return [found[key] for key in keys]


def _chapter(key: tuple[str, int], row: asyncpg.Record) -> dict[str, Any] | Exception:
    slug, number = key
    if row["novel_slug"] is None:
        return NovelNotFoundError(f"no novel has slug {slug!r}")
    if row["number"] is None:
        return ChapterNotFoundError(f"novel {slug!r} has no chapter {number}")
    chapter = dict(row)
    chapter["novel"] = {"slug": chapter.pop("novel_slug"), "title": chapter.pop("novel_title")}
    return chapter


async def list_novels(conn: asyncpg.Connection, query: NovelQuery) -> NovelPage:
    """Novels by title, searched and filtered as `library.list_novels` does, in one statement."""
    args: list[Any] = [query.limit, query.offset]
    search = query.search.strip() if query.search else ""
    if search:
        args.append(f"%{escape_like(search)}%")
    if query.genre is not None:
        genre_id = await conn.fetchval("SELECT id FROM genres WHERE slug = $1", query.genre)
        if genre_id is None:
            raise GenreNotFoundError(f"no genre has slug {query.genre!r}")
        args.append(genre_id)
    row = await conn.fetchrow(_novels_sql(bool(search), query.genre is not None), *args)
    # Re-encoded compact (PostgreSQL spaces its JSON out), in the order the columns came.
    return NovelPage(items_json=orjson.dumps(orjson.loads(row["items"])), total=int(row["total"]))


@cache
def _novels_sql(search: bool, genre: bool) -> str:
    conditions = ["true"]
    if search:
        conditions.append("(n.title ILIKE $3 ESCAPE '\\' OR n.author ILIKE $3 ESCAPE '\\')")
    if genre:
        number = 4 if search else 3
        conditions.append(f"n.id IN (SELECT novel_id FROM novel_genres WHERE genre_id = ${number})")
    return NOVELS_SQL.format(where=" AND ".join(conditions))
