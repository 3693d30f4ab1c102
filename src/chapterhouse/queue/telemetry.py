"""What a running task leaves behind for operators: its job id on log lines, its duration."""

from __future__ import annotations

import functools
import time
from collections.abc import Callable

from chapterhouse.logs import job_context
from chapterhouse.metrics import record_job_duration, safely


def observed(task: Callable[[int], str]) -> Callable[[int], str]:
    """Wrap an RQ task taking a job id: tag its log lines, time it into the fleet histogram."""

    @functools.wraps(task)
    def run(job_id: int) -> str:
        from rq import get_current_job

        current = get_current_job()
        started = time.monotonic()
        status = "failed"
        with job_context(job_id):
            try:
                status = task(job_id)
                return status
            except BaseException:
                if current is not None and current.retries_left:
                    status = "retrying"  # RQ runs it again later
                raise
            finally:
                if current is not None:
                    elapsed = time.monotonic() - started
                    safely(record_job_duration, current.connection, status, elapsed)

    return run
