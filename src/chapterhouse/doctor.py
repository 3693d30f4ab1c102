"""`chapterhouse doctor`: the setup checklist, each check a ✓ or ✗ with what to do."""

from __future__ import annotations

import time
import uuid
from dataclasses import dataclass

from redis.exceptions import RedisError
from sqlalchemy import text
from sqlalchemy.exc import SQLAlchemyError

from chapterhouse.config import redact, redact_url
from chapterhouse.services import Runtime


@dataclass(frozen=True, slots=True)
class Check:
    """The result of one check."""

    name: str
    ok: bool
    detail: str


def run_checks(rt: Runtime, *, probe_timeout: float = 15) -> list[Check]:
    """Run every check; later checks that need an earlier one's service are skipped."""
    settings = rt.settings
    checks: list[Check] = []
    redis_where = redact_url(settings.redis_url)
    try:
        rt.redis.ping()
        checks.append(Check("redis", True, f"answers at {redis_where}"))
        redis_ok = True
    except RedisError as exc:
        checks.append(
            Check(
                "redis",
                False,
                f"no answer at {redis_where}: {redact(str(exc), settings)}; "
                "start redis-server or set REDIS_URL",
            )
        )
        redis_ok = False

    if redis_ok:
        queued = rt.queue.count
        checks.append(Check("queue", True, f"'{rt.queue.name}' reachable, {queued} job(s) waiting"))

    names = ", ".join(rt.registry.sites)
    checks.append(
        Check("sites", bool(rt.registry.sites), f"{len(rt.registry.sites)} site(s) loaded: {names}")
    )

    db_where = redact_url(settings.effective_database_url)
    try:
        with rt.engine.connect() as conn:
            conn.execute(text("SELECT 1"))
        checks.append(Check("database", True, f"reachable at {db_where}"))
        checks.append(_migration_check(rt))
    except SQLAlchemyError as exc:
        reason = (
            str(getattr(exc, "orig", None) or exc).splitlines()[0]
            if exc.args
            else type(exc).__name__
        )
        reason = redact(reason, settings)
        checks.append(Check("database", False, f"unreachable at {db_where}: {reason}"))

    if redis_ok:
        checks.extend(_worker_checks(rt, probe_timeout))
    return checks


def _migration_check(rt: Runtime) -> Check:
    from chapterhouse.db.migrate import current_revision, head_revision

    current, head = current_revision(rt.engine), head_revision()
    if current == head:
        return Check("migrations", True, f"at head ({head})")
    return Check(
        "migrations",
        False,
        f"at {current or 'nothing'}, head is {head}: run `chapterhouse migrate`",
    )


def _worker_checks(rt: Runtime, timeout: float) -> list[Check]:
    from rq.job import Job, JobStatus

    from chapterhouse.queue.connection import count_workers
    from chapterhouse.queue.enqueue import enqueue_probe
    from chapterhouse.queue.pauses import paused_queues

    workers = count_workers(rt.redis, rt.queue)
    if workers == 0:
        return [Check("workers", False, "no worker serves the queue: run `chapterhouse worker`")]
    checks = [Check("workers", True, f"{workers} worker(s) registered")]
    if rt.queue.name in paused_queues(rt.redis):  # no worker would take the probe
        checks.append(Check("probe job", False, "the queue is paused: `chapterhouse resume`"))
        return checks
    token = uuid.uuid4().hex[:12]
    job_id = enqueue_probe(rt.queue, token)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        status = Job.fetch(job_id, connection=rt.redis).get_status()
        if status == JobStatus.FINISHED:
            waited = timeout - (deadline - time.monotonic())
            checks.append(Check("probe job", True, f"picked up and finished in {waited:.1f} s"))
            return checks
        time.sleep(0.2)
    checks.append(
        Check("probe job", False, f"not picked up within {timeout:g} s: are the workers stuck?")
    )
    return checks
