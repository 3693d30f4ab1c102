"""The stored library: novels, their chapters, and chapter text."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, Query

from chapterhouse.api.deps import MAX_INT, PaginationDep, SessionDep
from chapterhouse.api.errors import INVALID, NOT_FOUND, UNAVAILABLE
from chapterhouse.api.schemas import ChapterOut, ChapterSummary, NovelOut, NovelSummary, PageOf
from chapterhouse.db import library

router = APIRouter(
    prefix="/novels", tags=["novels"], responses={**NOT_FOUND, **INVALID, **UNAVAILABLE}
)

ChapterNumber = Annotated[int, Path(ge=1, le=MAX_INT, description="1-based reading order.")]


@router.get("")
def list_novels(
    session: SessionDep,
    page: PaginationDep,
    search: Annotated[
        str | None,
        Query(max_length=200, description="Case-insensitive part of the title or author."),
    ] = None,
    genre: Annotated[str | None, Query(max_length=128, description="A genre slug.")] = None,
) -> PageOf[NovelSummary]:
    """List stored novels by title, optionally searched by title/author or filtered by genre."""
    result = library.list_novels(
        session, search=search, genre=genre, limit=page.limit, offset=page.offset
    )
    page.check(result.total, "novel")
    return PageOf[NovelSummary](
        items=[NovelSummary.model_validate(novel) for novel in result.items],
        total=result.total,
        limit=page.limit,
        offset=page.offset,
    )


@router.get("/{slug}")
def get_novel(slug: str, session: SessionDep) -> NovelOut:
    """Show everything stored about one novel."""
    return NovelOut.model_validate(library.get_novel(session, slug))


@router.get("/{slug}/chapters")
def list_chapters(slug: str, session: SessionDep, page: PaginationDep) -> PageOf[ChapterSummary]:
    """List a novel's chapters in reading order, without their text."""
    result = library.list_chapters(session, slug, limit=page.limit, offset=page.offset)
    page.check(result.total, "chapter")
    return PageOf[ChapterSummary](
        items=[ChapterSummary.model_validate(chapter) for chapter in result.items],
        total=result.total,
        limit=page.limit,
        offset=page.offset,
    )


@router.get("/{slug}/chapters/{number}")
def get_chapter(slug: str, number: ChapterNumber, session: SessionDep) -> ChapterOut:
    """Read one chapter: clean HTML, author notes, and the previous and next chapter numbers."""
    return ChapterOut.from_view(library.get_chapter(session, slug, number))
