"""RQ entry points. Thin on purpose: arguments are ids, the work lives in `crawl.ingest`."""

from __future__ import annotations

from chapterhouse.config import get_settings
from chapterhouse.errors import CrawlError
from chapterhouse.queue.telemetry import observed


@observed
def process_job(job_id: int) -> str:
    """Run ingestion job `job_id`; a crawl failure is final, anything else is retried by RQ."""
    from rq import get_current_job

    from chapterhouse.crawl.ingest import record_attempt_failure, run_job
    from chapterhouse.db.models import utcnow
    from chapterhouse.db.outage import is_outage
    from chapterhouse.webhooks import notify_job_ended

    settings = get_settings()
    current = get_current_job()
    started = utcnow()
    try:
        return run_job(settings, job_id)
    except CrawlError:
        # The site said no (404, layout change, 5xx after retries): retrying the job won't help.
        if current is not None:
            current.retries_left = 0
        raise
    except Exception as exc:
        final = current is None or not current.retries_left
        if final and is_outage(exc):
            # A database outage outlasted RQ's retries: that is no reason to fail the job. Its
            # row goes back to queued (or stays running), and the reconciler queues it again
            # once the database answers; attempts that ran are still counted there.
            final = False
        record_attempt_failure(settings, job_id, f"{type(exc).__name__}: {exc}", final=final)
        raise
    finally:
        # Only a job this run ended is announced; queuing the webhook never raises.
        notify_job_ended(settings, job_id, since=started)


def check_novel(novel_id: int, due: int) -> str:
    """Check followed novel `novel_id` for new chapters; `due` is the planned check's Unix time."""
    from chapterhouse.crawl.check import run_check

    return run_check(get_settings(), novel_id, due)


def probe(token: str) -> str:
    """A no-op answered by any worker: proof for `chapterhouse doctor` that workers run."""
    return token
