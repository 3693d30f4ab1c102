"""Follow checks on the queue: one RQ job per planned check, run by RQ's scheduler when due.

A check's job id is `check-<novel id>-<unix time it is due>`: the database's next_check_at names
it, so scheduling it again (the reconciler after Redis lost it, a second follow) is a no-op while
it waits, and a superseded check (unfollowed, rescheduled) is recognised by the task and skipped.
"""

from __future__ import annotations

import logging
from contextlib import suppress
from datetime import datetime
from typing import TYPE_CHECKING

from redis.exceptions import RedisError
from rq import Queue
from rq.exceptions import DuplicateJobError, NoSuchJobError
from rq.job import Job
from rq.job import JobStatus as RQStatus

from chapterhouse.config import Settings
from chapterhouse.db.follows import as_utc, due_checks
from chapterhouse.db.models import utcnow
from chapterhouse.errors import QueueUnavailableError

if TYPE_CHECKING:
    from chapterhouse.services import Runtime

log = logging.getLogger(__name__)

CHECK_TASK = "chapterhouse.queue.tasks.check_novel"
# A check that is waiting or running; anything else (finished, failed, stopped) is over.
PENDING = {RQStatus.SCHEDULED, RQStatus.QUEUED, RQStatus.STARTED, RQStatus.DEFERRED}


def due_stamp(due: datetime) -> int:
    """The check time as whole Unix seconds, as the job id and the task argument carry it."""
    return int(as_utc(due).timestamp())


def check_job_id(novel_id: int, due: datetime) -> str:
    """Deterministic RQ id of the novel's check due at `due`."""
    return f"check-{novel_id}-{due_stamp(due)}"


def schedule_check(queue: Queue, novel_id: int, due: datetime, settings: Settings) -> bool:
    """Have RQ's scheduler run the check at `due` (at once when past); False if already pending."""
    job_id = check_job_id(novel_id, due)
    try:
        for _ in range(2):
            try:
                queue.enqueue_at(
                    as_utc(due),
                    CHECK_TASK,
                    args=(novel_id, due_stamp(due)),
                    job_id=job_id,
                    unique=True,  # atomic in Redis: never two jobs for one planned check
                    job_timeout=_check_timeout(settings),
                    result_ttl=24 * 3600,
                    failure_ttl=7 * 24 * 3600,
                    description=f"check novel {novel_id} for new chapters",
                )
                return True
            except DuplicateJobError:
                if _pending(queue, job_id):
                    return False
                # The same planned check ran and ended without planning the next (it failed):
                # drop its record and schedule it again.
                _delete(queue, job_id)
        return False
    except RedisError as exc:
        raise QueueUnavailableError(f"Redis does not answer, check not scheduled: {exc}") from None


def unschedule_check(queue: Queue, novel_id: int, due: datetime) -> None:
    """Drop the novel's pending check (the task would skip it anyway)."""
    try:
        _delete(queue, check_job_id(novel_id, due))
    except RedisError as exc:
        raise QueueUnavailableError(f"Redis does not answer: {exc}") from None


def enqueue_due_checks(rt: Runtime, now: datetime | None = None) -> list[int]:
    """Make sure every due followed novel has its check queued; return those (re)scheduled.

    The database is the truth: after Redis lost its data, this puts the checks back.
    """
    with rt.sessions() as session:
        due = due_checks(session, now or utcnow())
    scheduled = []
    for novel_id, when in due:
        if schedule_check(rt.queue, novel_id, when, rt.settings):
            scheduled.append(novel_id)
    if scheduled:
        log.info("follow checks queued for novels %s", scheduled)
    return scheduled


def _check_timeout(settings: Settings) -> int:
    # One request, but it may wait out the site's cool-down and retry: allow for both.
    attempts = settings.request_retries + 1
    return int(settings.backoff_cap + settings.request_timeout * attempts) + 60


def _pending(queue: Queue, job_id: str) -> bool:
    try:
        status = Job.fetch(job_id, connection=queue.connection).get_status()
    except NoSuchJobError:
        return False
    return status in PENDING


def _delete(queue: Queue, job_id: str) -> None:
    with suppress(NoSuchJobError):
        Job.fetch(job_id, connection=queue.connection).delete()
