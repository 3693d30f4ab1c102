"""The stored library: novels, their chapters, and chapter text."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, Query, Request, Response
from pydantic import BaseModel
from starlette.concurrency import run_in_threadpool

from chapterhouse.api.deps import (
    MAX_INT,
    LimitQuery,
    OffsetQuery,
    Pagination,
    PaginationDep,
    SessionDep,
)
from chapterhouse.api.errors import AUTH, INVALID, NOT_FOUND, UNAVAILABLE
from chapterhouse.api.schemas import ChapterOut, ChapterSummary, NovelOut, NovelSummary, PageOf
from chapterhouse.db import library
from chapterhouse.db.reads import LibraryReads, NovelQuery
from chapterhouse.services import Runtime

router = APIRouter(
    prefix="/novels", tags=["novels"], responses={**AUTH, **NOT_FOUND, **INVALID, **UNAVAILABLE}
)

ChapterNumber = Annotated[int, Path(ge=1, le=MAX_INT, description="1-based reading order.")]


def json_response(model: BaseModel) -> Response:
    """The model as JSON, encoded once (FastAPI would validate a returned model again)."""
    return Response(model.model_dump_json(), media_type="application/json")


@router.get("", response_model=PageOf[NovelSummary])
async def list_novels(
    request: Request,
    # The busiest route takes its paging as plain parameters: a dependency costs each request.
    limit: LimitQuery = 20,
    offset: OffsetQuery = 0,
    search: Annotated[
        str | None,
        Query(max_length=200, description="Case-insensitive part of the title or author."),
    ] = None,
    genre: Annotated[str | None, Query(max_length=128, description="A genre slug.")] = None,
) -> Response:
    """List stored novels by title, optionally searched by title/author or filtered by genre."""
    page = Pagination(limit=limit, offset=offset)
    # The app's state, not dependencies: this is the busiest route, and each costs.
    reader: LibraryReads | None = request.app.state.library
    if reader is None:
        rt = request.app.state.runtime
        return json_response(await run_in_threadpool(_list_novels, rt, page, search, genre))
    query = NovelQuery(search=search, genre=genre, limit=page.limit, offset=page.offset)
    result = await reader.novels(query)
    page.check(result.total, "novel")
    return Response(result.body(page.limit, page.offset), media_type="application/json")


def _list_novels(
    rt: Runtime, page: Pagination, search: str | None, genre: str | None
) -> PageOf[NovelSummary]:
    with rt.sessions() as session:
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


@router.get("/{slug}/chapters/{number}", response_model=ChapterOut)
async def get_chapter(slug: str, number: ChapterNumber, request: Request) -> Response:
    """Read one chapter: clean HTML, author notes, and the previous and next chapter numbers."""
    reader: LibraryReads | None = request.app.state.library
    if reader is None:
        rt = request.app.state.runtime
        return json_response(await run_in_threadpool(_get_chapter, rt, slug, number))
    return json_response(ChapterOut.model_validate(await reader.chapter(slug, number)))


def _get_chapter(rt: Runtime, slug: str, number: int) -> ChapterOut:
    with rt.sessions() as session:
        return ChapterOut.from_view(library.get_chapter(session, slug, number))
