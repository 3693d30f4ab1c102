"""How often a followed novel is checked: from its release rhythm, floored, capped, staggered.

Pure functions, no I/O: the check task and `follow` feed them the chapters' release dates.
"""

from __future__ import annotations

import random
from collections.abc import Iterable
from datetime import UTC, datetime
from itertools import pairwise
from statistics import median

# Releases looked at: the rhythm of the last ten gaps, so an old schedule fades out.
SAMPLE_GAPS = 10
# Fewer gaps than this say nothing about a rhythm; the default interval is used.
MIN_GAPS = 2
# A novel is checked about 24 times per release gap: a daily novel hourly, a monthly one daily.
CHECKS_PER_GAP = 24
# Jitter of ±10%, so a library followed all at once does not check all at once forever after.
SPREAD = 0.1


def release_gap(published: Iterable[datetime | None], now: datetime) -> float | None:
    """Seconds between releases: the median of the last gaps, longer when the novel went quiet.

    A novel silent for much longer than its rhythm (a hiatus) is treated as slower: the gap is
    at least a third of the time since its latest chapter. None when too few dates are known.
    """
    stamps = sorted({_aware(moment).timestamp() for moment in published if moment is not None})
    stamps = stamps[-(SAMPLE_GAPS + 1) :]
    gaps = [later - earlier for earlier, later in pairwise(stamps)]
    if len(gaps) < MIN_GAPS:
        return None
    quiet_for = now.timestamp() - stamps[-1]
    return max(median(gaps), quiet_for / 3)


def check_interval(
    published: Iterable[datetime | None],
    now: datetime,
    *,
    floor: float,
    ceiling: float,
    default: float,
) -> float:
    """Seconds between two checks of a novel: its release gap / 24, within [floor, ceiling]."""
    gap = release_gap(published, now)
    wanted = default if gap is None else gap / CHECKS_PER_GAP
    return max(floor, min(wanted, max(ceiling, floor)))


def jittered(interval: float, floor: float, rng: random.Random | None = None) -> float:
    """`interval` ±10%, never below `floor`: a novel at the floor is spread above it instead."""
    pick = (rng or random).uniform
    low = max(interval * (1 - SPREAD), floor)
    return pick(low, low + 2 * SPREAD * interval)


def _aware(moment: datetime) -> datetime:
    # SQLite hands timestamps back naive; they were written in UTC.
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment
