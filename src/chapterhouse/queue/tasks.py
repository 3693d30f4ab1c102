"""RQ entry points. Thin on purpose: arguments are ids, the work lives in `crawl.ingest`."""

from __future__ import annotations

from chapterhouse.config import get_settings
from chapterhouse.errors import CrawlError


def process_job(job_id: int) -> str:
    """Run ingestion job `job_id`; a crawl failure is final, anything else is retried by RQ."""
    from rq import get_current_job

    from chapterhouse.crawl.ingest import record_attempt_failure, run_job

    settings = get_settings()
    current = get_current_job()
    try:
        return run_job(settings, job_id)
    except CrawlError:
        # The site said no (404, layout change, 5xx after retries): retrying the job won't help.
        if current is not None:
            current.retries_left = 0
        raise
    except Exception as exc:
        final = current is None or not current.retries_left
        record_attempt_failure(settings, job_id, f"{type(exc).__name__}: {exc}", final=final)
        raise


def probe(token: str) -> str:
    """A no-op answered by any worker: proof for `chapterhouse doctor` that workers run."""
    return token
