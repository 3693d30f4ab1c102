"""One ingestion job in a process of its own, with every SQL statement it sends counted.

    python -m benchmarks.counted JOB_ID

As `benchmarks.child ingest`, with a worker's preloading, and a listener on every SQLAlchemy
engine counts statements and the rows they returned or touched, in this process and in the
store process it forks (the counters live in shared memory). The last stdout line is a JSON
object: seconds, status, statements, rows_read (returned by SELECTs), rows_written (inserted,
updated or deleted).
"""

from __future__ import annotations

import json
import multiprocessing
import sys
import time
from typing import Any

from sqlalchemy import Engine, event

from chapterhouse.config import get_settings
from chapterhouse.crawl.preload import preload_crawl


def main(argv: list[str] | None = None) -> int:
    """Run the job, print its figures as the last stdout line."""
    args = sys.argv[1:] if argv is None else argv
    job_id = int(args[0])
    settings = get_settings()
    preload_crawl(settings)  # as a worker does before it forks the job's work horse
    context = multiprocessing.get_context("fork")
    statements = context.Value("q", 0)
    read = context.Value("q", 0)
    written = context.Value("q", 0)

    @event.listens_for(Engine, "after_cursor_execute")
    def count(_conn: Any, cursor: Any, sql: str, _params: Any, _ctx: Any, _many: bool) -> None:
        rows = max(cursor.rowcount or 0, 0)
        counter = read if sql.lstrip()[:6].upper() in ("SELECT", "WITH") else written
        with statements.get_lock():
            statements.value += 1
        with counter.get_lock():
            counter.value += rows

    from chapterhouse.crawl.ingest import run_job

    started = time.perf_counter()
    status = run_job(settings, job_id)
    seconds = time.perf_counter() - started
    result = {
        "seconds": seconds,
        "status": status,
        "statements": statements.value,
        "rows_read": read.value,
        "rows_written": written.value,
    }
    sys.stdout.write(json.dumps(result) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
