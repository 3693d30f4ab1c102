"""Read queries over the stored library: novels, chapters and genres, a page at a time."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Generic, TypeVar

from sqlalchemy import ColumnElement, func, or_, select
from sqlalchemy.orm import Session, defer

from chapterhouse.db.models import Chapter, Genre, Novel, NovelGenre
from chapterhouse.errors import ChapterNotFoundError, GenreNotFoundError, NovelNotFoundError

T = TypeVar("T")


@dataclass(frozen=True, slots=True)
class Page(Generic[T]):
    """One page of results with the total matching the query."""

    items: list[T]
    total: int


@dataclass(frozen=True, slots=True)
class ChapterListing:
    """A table-of-contents row: a chapter without its text."""

    number: int
    title: str
    url: str
    published_at: datetime | None
    word_count: int
    withdrawn_at: datetime | None


@dataclass(frozen=True, slots=True)
class NovelHeading:
    """The few novel fields a chapter page names."""

    id: int
    slug: str
    title: str


@dataclass(frozen=True, slots=True)
class ChapterView:
    """One chapter with its novel and the numbers of its neighbours in reading order."""

    chapter: Chapter
    novel: NovelHeading
    prev: int | None
    next: int | None


@dataclass(frozen=True, slots=True)
class GenreCount:
    """A genre and how many stored novels carry it."""

    slug: str
    name: str
    novel_count: int


def list_novels(
    session: Session,
    *,
    search: str | None = None,
    genre: str | None = None,
    limit: int = 20,
    offset: int = 0,
) -> Page[Novel]:
    """Novels by title; `search` matches title or author, `genre` is a genre slug."""
    conditions: list[ColumnElement[bool]] = []
    if search and search.strip():
        pattern = f"%{escape_like(search.strip())}%"
        conditions.append(
            or_(
                Novel.title.ilike(pattern, escape="\\"),
                Novel.author.ilike(pattern, escape="\\"),
            )
        )
    if genre is not None:
        genre_id = get_genre(session, genre).id
        conditions.append(
            Novel.id.in_(select(NovelGenre.novel_id).where(NovelGenre.genre_id == genre_id))
        )
    total = session.scalar(select(func.count(Novel.id)).where(*conditions)) or 0
    # Lists never show the synopsis; genres come in one extra SELECT ... IN (selectin).
    rows = session.scalars(
        select(Novel)
        .where(*conditions)
        .options(defer(Novel.synopsis))
        .order_by(func.lower(Novel.title), Novel.id)
        .limit(limit)
        .offset(offset)
    )
    return Page(items=list(rows), total=total)


def get_novel(session: Session, slug: str) -> Novel:
    """The novel with this slug, or NovelNotFoundError."""
    novel = session.scalars(select(Novel).where(Novel.slug == slug)).first()
    if novel is None:
        raise NovelNotFoundError(f"no novel has slug {slug!r}")
    return novel


def list_chapters(
    session: Session, slug: str, *, limit: int = 100, offset: int = 0
) -> Page[ChapterListing]:
    """A novel's chapters in reading order, without their text."""
    novel_id = _novel_heading(session, slug).id
    # count(*), not count(id): counted on the index alone.
    total = (
        session.scalar(
            select(func.count()).select_from(Chapter).where(Chapter.novel_id == novel_id)
        )
        or 0
    )
    # The page's ids first, from the (novel_id, number, id) index alone, then just those rows:
    # the rows an offset skips cost an index entry each, not a row read (50k chapters: 5x).
    page = (
        select(Chapter.id)
        .where(Chapter.novel_id == novel_id)
        .order_by(Chapter.number, Chapter.id)
        .limit(limit)
        .offset(offset)
    )
    rows = session.execute(
        select(
            Chapter.number,
            Chapter.title,
            Chapter.url,
            Chapter.published_at,
            Chapter.word_count,
            Chapter.withdrawn_at,
        )
        .where(Chapter.id.in_(page))
        .order_by(Chapter.number, Chapter.id)
    )
    return Page(items=[ChapterListing(*row) for row in rows], total=total)


def get_chapter(session: Session, slug: str, number: int) -> ChapterView:
    """Chapter `number` of a novel, with the previous and next chapter numbers."""
    novel = _novel_heading(session, slug)
    # Numbers can have gaps, so neighbours are the nearest numbers, not number ± 1.
    prev_number = (
        select(func.max(Chapter.number))
        .where(Chapter.novel_id == novel.id, Chapter.number < number)
        .scalar_subquery()
    )
    next_number = (
        select(func.min(Chapter.number))
        .where(Chapter.novel_id == novel.id, Chapter.number > number)
        .scalar_subquery()
    )
    row = session.execute(
        select(Chapter, prev_number, next_number)
        .options(defer(Chapter.raw_html))
        .where(Chapter.novel_id == novel.id, Chapter.number == number)
        .order_by(Chapter.id)
        .limit(1)
    ).first()
    if row is None:
        raise ChapterNotFoundError(f"novel {slug!r} has no chapter {number}")
    chapter, prev, next_ = row
    return ChapterView(chapter=chapter, novel=novel, prev=prev, next=next_)


def list_genres(session: Session) -> list[GenreCount]:
    """Every genre by name, with its number of novels."""
    rows = session.execute(
        select(Genre.slug, Genre.name, func.count(NovelGenre.novel_id))
        .outerjoin(NovelGenre, NovelGenre.genre_id == Genre.id)
        .group_by(Genre.id, Genre.slug, Genre.name)
        .order_by(func.lower(Genre.name), Genre.slug)
    )
    return [GenreCount(*row) for row in rows]


def get_genre(session: Session, slug: str) -> Genre:
    """The genre with this slug, or GenreNotFoundError."""
    genre = session.scalars(select(Genre).where(Genre.slug == slug)).first()
    if genre is None:
        raise GenreNotFoundError(f"no genre has slug {slug!r}")
    return genre


def _novel_heading(session: Session, slug: str) -> NovelHeading:
    row = session.execute(
        select(Novel.id, Novel.slug, Novel.title).where(Novel.slug == slug)
    ).first()
    if row is None:
        raise NovelNotFoundError(f"no novel has slug {slug!r}")
    return NovelHeading(*row)


def escape_like(text: str) -> str:
    """The text with LIKE's wildcards escaped (with backslashes), to match it literally."""
    # A user searching for "100%" means the character, not a wildcard.
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
