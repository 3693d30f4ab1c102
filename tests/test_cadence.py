"""How often a followed novel is checked: release rhythm, floor, ceiling, default, jitter."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta

import pytest

from chapterhouse.cadence import check_interval, jittered, release_gap

NOW = datetime(2026, 6, 1, 12, 0, tzinfo=UTC)
HOUR = 3600.0
DAY = 24 * HOUR
LIMITS = {"floor": HOUR, "ceiling": DAY, "default": 6 * HOUR}


def releases(every: timedelta, count: int, last: datetime = NOW) -> list[datetime]:
    """`count` release dates `every` apart, the latest at `last`."""
    return [last - every * i for i in range(count)][::-1]


def test_a_daily_novel_is_checked_about_hourly() -> None:
    dates = releases(timedelta(days=1), 12, last=NOW - timedelta(hours=3))
    assert check_interval(dates, NOW, **LIMITS) == pytest.approx(HOUR)


def test_a_weekly_novel_is_checked_every_seven_hours() -> None:
    dates = releases(timedelta(days=7), 12, last=NOW - timedelta(days=1))
    assert check_interval(dates, NOW, **LIMITS) == pytest.approx(7 * HOUR)


def test_a_monthly_novel_is_checked_about_daily() -> None:
    dates = releases(timedelta(days=30), 12, last=NOW - timedelta(days=2))
    assert check_interval(dates, NOW, **LIMITS) == pytest.approx(DAY)


def test_a_novel_releasing_every_hour_is_never_checked_more_often_than_the_floor() -> None:
    dates = releases(timedelta(hours=1), 12)
    assert check_interval(dates, NOW, **LIMITS) == HOUR
    assert check_interval(dates, NOW, floor=2 * HOUR, ceiling=DAY, default=HOUR) == 2 * HOUR


def test_too_few_chapters_use_the_default() -> None:
    assert check_interval([], NOW, **LIMITS) == 6 * HOUR
    assert check_interval([NOW, NOW - timedelta(days=1)], NOW, **LIMITS) == 6 * HOUR
    assert check_interval([None, None, NOW], NOW, **LIMITS) == 6 * HOUR


def test_only_the_recent_rhythm_counts() -> None:
    # Years of monthly releases, then twelve daily ones: the novel is daily now.
    old = releases(timedelta(days=30), 40, last=NOW - timedelta(days=20))
    recent = releases(timedelta(days=1), 12, last=NOW - timedelta(hours=2))
    assert check_interval(old + recent, NOW, **LIMITS) == pytest.approx(HOUR)


def test_a_novel_gone_quiet_is_checked_less_often() -> None:
    # A daily novel silent for 30 days counts as releasing every 10 days at best.
    dates = releases(timedelta(days=1), 12, last=NOW - timedelta(days=30))
    assert release_gap(dates, NOW) == pytest.approx(10 * DAY)
    assert check_interval(dates, NOW, **LIMITS) == pytest.approx(10 * HOUR)


def test_naive_timestamps_count_as_utc() -> None:
    aware = releases(timedelta(days=2), 5)
    naive = [moment.replace(tzinfo=None) for moment in aware]
    assert release_gap(naive, NOW) == release_gap(aware, NOW) == pytest.approx(2 * DAY)


def test_jitter_stays_within_ten_percent_and_spreads() -> None:
    rng = random.Random(7)
    picks = [jittered(10 * HOUR, HOUR, rng) for _ in range(2000)]
    assert min(picks) >= 9 * HOUR and max(picks) <= 11 * HOUR
    assert max(picks) - min(picks) > 1.5 * HOUR  # spread out, not one value


def test_jitter_never_goes_below_the_floor() -> None:
    rng = random.Random(7)
    picks = [jittered(HOUR, HOUR, rng) for _ in range(2000)]
    assert min(picks) >= HOUR and max(picks) <= 1.2 * HOUR
    assert max(picks) - min(picks) > 0.1 * HOUR
