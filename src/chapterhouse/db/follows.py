"""Followed novels in the database: who is followed, what is due, and each check's outcome."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, datetime, timedelta

from sqlalchemy import select, update
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


def held_among(session: Session, novel_id: int, site_chapter_ids: Iterable[str]) -> set[str]:
    """Those of these site chapter ids the novel has stored (withdrawn ones included).

    A feed lists a handful of chapters: asking for just those keeps a check's cost the same
    however long the novel is.
    """
    wanted = sorted(set(site_chapter_ids))
    if not wanted:
        return set()
    return set(
        session.scalars(
            select(Chapter.site_chapter_id).where(
                Chapter.novel_id == novel_id, Chapter.site_chapter_id.in_(wanted)
            )
        )
    )


def next_check(
    session: Session,
    novel_id: int,
    settings: Settings,
    now: datetime,
    extra_dates: Iterable[datetime | None] = (),
) -> tuple[int, datetime]:
    """(interval in s before jitter, next check time) from the novel's release rhythm."""
    dates = [*release_dates(session, novel_id), *extra_dates]
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
    return round(interval), due


def plan_next_check(
    session: Session,
    novel: Novel,
    settings: Settings,
    now: datetime,
    extra_dates: Iterable[datetime | None] = (),
) -> datetime:
    """Set the novel's check interval and next check from its release rhythm; return the time."""
    novel.check_interval, due = next_check(session, novel.id, settings, now, extra_dates)
    novel.next_check_at = due
    return due


def record_check(
    session: Session, novel_id: int, *, now: datetime, note: str, interval: int, due: datetime
) -> bool:
    """Note a check's outcome and the next check on a still followed novel (one UPDATE).

    False when the novel was unfollowed (or deleted) meanwhile: then nothing is written.
    """
    result = session.execute(
        update(Novel)
        .where(Novel.id == novel_id, Novel.followed.is_(True))
        .values(
            last_checked_at=now, last_check_note=note, check_interval=interval, next_check_at=due
        )
    )
    return bool(result.rowcount)  # type: ignore[attr-defined]


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
