"""Followed novels in the database: who is followed, what is due, and each check's outcome."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from chapterhouse.cadence import SAMPLE_GAPS, check_interval, jittered
from chapterhouse.config import Settings
from chapterhouse.db.models import Chapter, Novel


def release_dates(session: Session, novel_id: int) -> list[datetime]:
    """Release dates of the novel's latest chapters (enough for its rhythm)."""
    rows = session.scalars(
        select(Chapter.published_at)
        .where(Chapter.novel_id == novel_id, Chapter.published_at.is_not(None))
        .order_by(Chapter.published_at.desc())
        .limit(SAMPLE_GAPS + 1)
    )
    return [moment for moment in rows if moment is not None]


def held_chapter_ids(session: Session, novel_id: int) -> set[str]:
    """Site ids of every stored chapter of the novel, withdrawn ones included."""
    return set(session.scalars(select(Chapter.site_chapter_id).where(Chapter.novel_id == novel_id)))


def plan_next_check(
    session: Session,
    novel: Novel,
    settings: Settings,
    now: datetime,
    extra_dates: Iterable[datetime | None] = (),
) -> datetime:
    """Set the novel's check interval and next check from its release rhythm; return the time."""
    dates = [*release_dates(session, novel.id), *extra_dates]
    interval = check_interval(
        dates,
        now,
        floor=settings.follow_min_interval,
        ceiling=settings.follow_max_interval,
        default=settings.follow_default_interval,
    )
    seconds = jittered(interval, settings.follow_min_interval)
    # Whole seconds: the time names the check's RQ job (`check-<novel>-<unix time>`).
    due = (now + timedelta(seconds=seconds)).replace(microsecond=0)
    novel.check_interval = round(interval)
    novel.next_check_at = due
    return due


def followed_novels(session: Session) -> list[Novel]:
    """Every followed novel, the next to be checked first."""
    return list(
        session.scalars(
            select(Novel).where(Novel.followed.is_(True)).order_by(Novel.next_check_at, Novel.id)
        )
    )


def due_checks(session: Session, now: datetime) -> list[tuple[int, datetime]]:
    """(novel id, check time) of followed novels whose check is due."""
    rows = session.execute(
        select(Novel.id, Novel.next_check_at)
        .where(Novel.followed.is_(True), Novel.next_check_at <= now)
        .order_by(Novel.next_check_at, Novel.id)
    )
    return [(novel_id, as_utc(due)) for novel_id, due in rows if due is not None]


def as_utc(moment: datetime) -> datetime:
    """A stored timestamp as an aware UTC datetime (SQLite hands them back naive)."""
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)
