"""Series of novels (AO3 series): each novel is stored on its own and linked here."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path

from chapterhouse.api.deps import MAX_INT, PaginationDep, SessionDep
from chapterhouse.api.errors import AUTH, INVALID, NOT_FOUND, UNAVAILABLE
from chapterhouse.api.schemas import PageOf, SeriesOut, SeriesSummary
from chapterhouse.db import series

router = APIRouter(
    prefix="/series", tags=["series"], responses={**AUTH, **NOT_FOUND, **INVALID, **UNAVAILABLE}
)

SeriesId = Annotated[int, Path(ge=1, le=MAX_INT, description="The series' id.")]


@router.get("")
def list_series(session: SessionDep, page: PaginationDep) -> PageOf[SeriesSummary]:
    """List stored series by title."""
    result = series.list_series(session, limit=page.limit, offset=page.offset)
    page.check(result.total, "series")
    return PageOf[SeriesSummary](
        items=[SeriesSummary.model_validate(item) for item in result.items],
        total=result.total,
        limit=page.limit,
        offset=page.offset,
    )


@router.get("/{series_id}")
def get_series(series_id: SeriesId, session: SessionDep) -> SeriesOut:
    """Show a series and its novels in series order: stored ones with their slug, the others
    with their latest job."""
    return SeriesOut.from_view(series.get_series(session, series_id))
