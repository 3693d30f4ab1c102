"""Genres (a site's tags, normalised) and the novels carrying each."""

from __future__ import annotations

from fastapi import APIRouter

from chapterhouse.api.deps import PaginationDep, SessionDep
from chapterhouse.api.errors import AUTH, INVALID, NOT_FOUND, UNAVAILABLE
from chapterhouse.api.schemas import GenreOut, NovelSummary, PageOf
from chapterhouse.db import library

router = APIRouter(prefix="/genres", tags=["genres"], responses={**AUTH, **UNAVAILABLE})


@router.get("")
def list_genres(session: SessionDep) -> list[GenreOut]:
    """List every genre by name with its number of stored novels."""
    return [GenreOut.model_validate(genre) for genre in library.list_genres(session)]


@router.get("/{slug}/novels", responses={**NOT_FOUND, **INVALID})
def list_genre_novels(slug: str, session: SessionDep, page: PaginationDep) -> PageOf[NovelSummary]:
    """List the stored novels of one genre, by title."""
    result = library.list_novels(session, genre=slug, limit=page.limit, offset=page.offset)
    page.check(result.total, "novel")
    return PageOf[NovelSummary](
        items=[NovelSummary.model_validate(novel) for novel in result.items],
        total=result.total,
        limit=page.limit,
        offset=page.offset,
    )
