"""Writes made by a crawl: novel and genre upserts, chapter upserts, totals.

Every write is an upsert keyed by the site's ids, so running a job twice stores nothing twice.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy import Insert, delete, func, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from chapterhouse.content.normalize import (
    CLEANER_VERSION,
    clean_html,
    content_hash,
    genre_name,
    genre_slug,
    slugify,
    word_count,
)
from chapterhouse.db import series
from chapterhouse.db.models import Chapter, Genre, Novel, NovelGenre, utcnow
from chapterhouse.domain import ChapterData, ChapterRef, NovelData
from chapterhouse.errors import NovelNotFoundError


@dataclass(frozen=True, slots=True)
class StoredListing:
    """What we already hold of a chapter, to decide whether it must be fetched again."""

    title: str
    published_at: datetime | None
    has_content: bool


def find_novel_id(session: Session, site: str, site_novel_id: str) -> int | None:
    """The stored novel's id, if we have it."""
    return session.scalar(
        select(Novel.id).where(Novel.site == site, Novel.site_novel_id == site_novel_id)
    )


def stored_listing(session: Session, novel_id: int) -> dict[str, StoredListing]:
    """site_chapter_id → what we hold, for incremental updates."""
    rows = session.execute(
        select(
            Chapter.site_chapter_id, Chapter.title, Chapter.published_at, Chapter.content_hash
        ).where(Chapter.novel_id == novel_id)
    )
    return {
        row.site_chapter_id: StoredListing(
            row.title, _utc(row.published_at), bool(row.content_hash)
        )
        for row in rows
    }


def needs_fetch(ref: ChapterRef, held: StoredListing | None) -> bool:
    """New chapters, chapters never fetched, and chapters whose listing changed."""
    if held is None or not held.has_content:
        return True
    return held.title != ref.title or held.published_at != _utc(ref.published_at)


def upsert_novel(session: Session, data: NovelData) -> Novel:
    """Create or update the novel and its genres; the slug is kept once given."""
    novel = session.scalars(
        select(Novel).where(Novel.site == data.site, Novel.site_novel_id == data.site_novel_id)
    ).first()
    if novel is None:
        novel = Novel(
            site=data.site,
            site_novel_id=data.site_novel_id,
            slug=_free_slug(session, slugify(data.title), data.site_novel_id),
        )
        session.add(novel)
    novel.url = data.url
    novel.title = data.title
    novel.author = data.author
    novel.author_url = data.author_url
    novel.synopsis = data.synopsis
    novel.status = data.status
    novel.novel_type = data.novel_type
    novel.cover_url = data.cover_url
    novel.language = data.language
    novel.rating = data.rating
    novel.site_word_count = data.word_count
    novel.content_warnings = list(data.content_warnings)
    novel.authors = list(data.authors)
    novel.byline = data.byline[:512] if data.byline else None  # the column's size
    novel.tag_groups = {group: list(tags) for group, tags in data.tag_groups.items()}
    novel.site_published_at = data.published_at
    novel.site_updated_at = data.updated_at
    novel.chapters_planned = data.chapters_planned
    session.flush()
    _set_genres(session, novel.id, data.tags)
    series.link_novel(session, novel.id, data.site, data.series)
    return novel


def _free_slug(session: Session, base: str, site_novel_id: str) -> str:
    # Two novels may share a title; the site's id makes the second one unique.
    for candidate in (base, f"{base}-{slugify(site_novel_id)}"):
        if session.scalar(select(Novel.id).where(Novel.slug == candidate)) is None:
            return candidate
    taken = session.scalar(select(func.count()).where(Novel.slug.like(f"{base}-%"))) or 0
    return f"{base}-{taken + 2}"


def _set_genres(session: Session, novel_id: int, names: list[str]) -> None:
    wanted: dict[str, str] = {}
    for name in names:
        slug = genre_slug(name)
        if slug:
            wanted.setdefault(slug, genre_name(name))
    if wanted:
        # Workers crawling two novels with a shared genre race to create it: let the
        # database settle the race instead of failing one of the jobs.
        session.execute(
            _insert_ignoring_conflicts(session, Genre).values(
                [{"slug": slug, "name": name} for slug, name in sorted(wanted.items())]
            )
        )
    found = session.execute(select(Genre.slug, Genre.id).where(Genre.slug.in_(list(wanted))))
    ids = {slug: genre_id for slug, genre_id in found}
    session.execute(delete(NovelGenre).where(NovelGenre.novel_id == novel_id))
    session.add_all(NovelGenre(novel_id=novel_id, genre_id=ids[s]) for s in wanted)
    session.flush()


def _insert_ignoring_conflicts(session: Session, table: type) -> Insert:
    if session.get_bind().dialect.name == "postgresql":
        return postgresql.insert(table).on_conflict_do_nothing()
    return sqlite.insert(table).on_conflict_do_nothing()


def save_chapter(session: Session, novel_id: int, data: ChapterData, *, known: bool = True) -> str:
    """Clean and upsert one chapter; returns "new", "updated" or "unchanged".

    `known=False` says the chapter was not stored when the crawl began, so no lookup is made.
    """
    ref = data.ref
    # Everything that reads the page comes first: a page the cleaner chokes on leaves the
    # session untouched, so only its own chapter fails.
    content = clean_html(data.raw_html, ref.url)
    digest = content_hash(content)
    words = word_count(content)
    note_before = clean_html(data.note_before_html, ref.url) if data.note_before_html else None
    note_after = clean_html(data.note_after_html, ref.url) if data.note_after_html else None
    chapter = None
    if known:
        chapter = session.scalars(
            select(Chapter).where(
                Chapter.novel_id == novel_id, Chapter.site_chapter_id == ref.site_chapter_id
            )
        ).first()
    outcome = "unchanged"
    if chapter is None:
        chapter = Chapter(novel_id=novel_id, site_chapter_id=ref.site_chapter_id)
        session.add(chapter)
        outcome = "new"
    elif chapter.content_hash != digest or chapter.title != ref.title:
        outcome = "updated"
    if outcome == "unchanged" and _as_stored(chapter, ref, note_before, note_after):
        return outcome  # nothing differs: the row is not written at all
    chapter.number = ref.number
    chapter.title = ref.title
    chapter.url = ref.url
    chapter.published_at = ref.published_at
    chapter.raw_html = data.raw_html
    chapter.content = content
    chapter.content_hash = digest
    chapter.cleaner_version = CLEANER_VERSION
    chapter.word_count = words
    chapter.note_before = note_before
    chapter.note_after = note_after
    chapter.fetched_at = utcnow()
    return outcome


def _as_stored(
    chapter: Chapter, ref: ChapterRef, note_before: str | None, note_after: str | None
) -> bool:
    """Whether the stored chapter already holds all this, so nothing needs writing."""
    # A site that sends every chapter on each update (AO3) so writes only what changed.
    return (
        chapter.number == ref.number
        and chapter.url == ref.url
        and _utc(chapter.published_at) == _utc(ref.published_at)
        and chapter.note_before == note_before
        and chapter.note_after == note_after
        and chapter.cleaner_version == CLEANER_VERSION
    )


def sync_listing(session: Session, novel_id: int, refs: list[ChapterRef]) -> int:
    """Follow the site's table of contents: positions move, vanished chapters are flagged.

    Returns how many chapters were newly marked withdrawn. They stay stored, never deleted.
    """
    positions = {ref.site_chapter_id: ref.number for ref in refs}
    withdraw: list[int] = []
    restore: list[int] = []
    moves: list[dict[str, int]] = []
    # Four narrow columns, not whole chapters: an update of a long novel reads no chapter text,
    # and writes only the rows whose place in the listing changed.
    rows = session.execute(
        select(Chapter.id, Chapter.site_chapter_id, Chapter.number, Chapter.withdrawn_at).where(
            Chapter.novel_id == novel_id
        )
    )
    for chapter_id, site_chapter_id, number, withdrawn_at in rows:
        position = positions.get(site_chapter_id)
        if position is None:
            if withdrawn_at is None:
                withdraw.append(chapter_id)
            continue
        if withdrawn_at is not None:
            restore.append(chapter_id)
        if number != position:
            moves.append({"id": chapter_id, "number": position})
    now = utcnow()
    for batch in _batches(withdraw):
        session.execute(update(Chapter).where(Chapter.id.in_(batch)).values(withdrawn_at=now))
    for batch in _batches(restore):
        session.execute(update(Chapter).where(Chapter.id.in_(batch)).values(withdrawn_at=None))
    if moves:
        session.execute(update(Chapter), moves)  # bulk UPDATE by primary key
    return len(withdraw)


def _batches(ids: list[int], size: int = 1000) -> Iterator[list[int]]:
    # Bounded IN lists: a driver takes at most 65,535 parameters per statement.
    for start in range(0, len(ids), size):
        yield ids[start : start + size]


def refresh_totals(session: Session, novel_id: int) -> None:
    """Recount the novel's chapters and words from what is stored."""
    count, words = session.execute(
        select(func.count(Chapter.id), func.coalesce(func.sum(Chapter.word_count), 0)).where(
            Chapter.novel_id == novel_id
        )
    ).one()
    novel = session.get(Novel, novel_id)
    if novel is not None:
        novel.chapter_count = count
        novel.word_count = words


def _utc(value: datetime | None) -> datetime | None:
    # SQLite hands datetimes back naive; everything we store is UTC.
    if value is not None and value.tzinfo is None:
        return value.replace(tzinfo=UTC)
    return value


def reclean_chapters(
    session: Session, *, novel_slug: str | None = None, everything: bool = False, batch: int = 200
) -> int:
    """Clean stored raw HTML again: chapters of an older cleaner version, or all of them."""
    query = select(Chapter).where(Chapter.raw_html.is_not(None)).order_by(Chapter.id)
    if not everything:
        query = query.where(Chapter.cleaner_version < CLEANER_VERSION)
    if novel_slug is not None:
        novel_id = session.scalar(select(Novel.id).where(Novel.slug == novel_slug))
        if novel_id is None:
            raise NovelNotFoundError(f"no novel has slug {novel_slug!r}")
        query = query.where(Chapter.novel_id == novel_id)
    touched_novels: set[int] = set()
    count = 0
    last_id = 0
    while True:
        # Keyset batches: memory stays flat however large the library is.
        chapters = session.scalars(query.where(Chapter.id > last_id).limit(batch)).all()
        if not chapters:
            break
        for chapter in chapters:
            content = clean_html(chapter.raw_html or "", chapter.url)
            chapter.content = content
            chapter.content_hash = content_hash(content)
            chapter.word_count = word_count(content)
            chapter.cleaner_version = CLEANER_VERSION
            touched_novels.add(chapter.novel_id)
        count += len(chapters)
        last_id = chapters[-1].id
        session.commit()
        session.expunge_all()
    for novel_id in touched_novels:
        refresh_totals(session, novel_id)
    session.commit()
    return count
