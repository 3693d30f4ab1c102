"""Log output of the API, the workers and their work horses, set up in one place.

`CHAPTERHOUSE_LOG_FORMAT=json` makes every line one JSON object; while a job runs, every line
(ours, RQ's, Scrapy's and Twisted's, from any thread) carries the job's id.
"""

from __future__ import annotations

import json
import logging
import os
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from datetime import UTC, datetime
from typing import TextIO

from chapterhouse.config import Settings, redact

_job_id: ContextVar[int | None] = ContextVar("chapterhouse_job_id", default=None)
# A work horse is a process the worker forks for one job and ends after it: there the job's id
# holds for every thread and every line until it exits (RQ's "Job OK" comes after the task).
_process_job_id: int | None = None
_forked = False  # this process was forked from one that configured logging: a work horse
_at_fork_registered = False

# Loggers that bring handlers of their own; in our setup they go through the root handler.
_OWN_HANDLERS = ("uvicorn", "uvicorn.error", "uvicorn.access", "rq.worker", "rq.job")
_TEXT_FORMAT = "%(asctime)s %(levelname)s %(name)s%(job)s: %(message)s"


def current_job_id() -> int | None:
    """The job whose work is being logged now, if any."""
    job_id = _job_id.get()
    return job_id if job_id is not None else _process_job_id


@contextmanager
def job_context(job_id: int) -> Iterator[None]:
    """Tag log lines with `job_id` while the block runs (and after, in a work horse)."""
    global _process_job_id
    if _forked:
        _process_job_id = job_id
    token = _job_id.set(job_id)
    try:
        yield
    finally:
        _job_id.reset(token)


class JobIdFilter(logging.Filter):
    """Puts the running job's id on every record as `job_id` (None outside a job)."""

    def filter(self, record: logging.LogRecord) -> bool:
        """Tag the record; never drops one."""
        if getattr(record, "job_id", None) is None:
            record.job_id = current_job_id()
        return True


class JsonFormatter(logging.Formatter):
    """One JSON object per line: time, level, logger, message, job_id, exception."""

    def format(self, record: logging.LogRecord) -> str:
        """The record as a single line of JSON."""
        entry: dict[str, object] = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        job_id = getattr(record, "job_id", None)
        if job_id is not None:
            entry["job_id"] = job_id
        if record.exc_info:
            entry["exception"] = self.formatException(record.exc_info)
        if record.stack_info:
            entry["stack"] = self.formatStack(record.stack_info)
        return json.dumps(entry, default=str, ensure_ascii=False)


class TextFormatter(logging.Formatter):
    """The readable default: time, level, logger, `[job N]` while a job runs, message."""

    def __init__(self) -> None:
        super().__init__(_TEXT_FORMAT)

    def format(self, record: logging.LogRecord) -> str:
        """The record as text, naming its job when there is one."""
        job_id = getattr(record, "job_id", None)
        record.job = f" [job {job_id}]" if job_id is not None else ""
        return super().format(record)


def _quiet_scrapy(record: logging.LogRecord) -> bool:
    # Scrapy's INFO lines are its start-up banner and stats dumps, once per job: noise unless
    # debugging. Its warnings and errors (a request given up on) still show.
    return record.levelno >= logging.WARNING or not record.name.startswith("scrapy")


class _Handler(logging.StreamHandler):  # type: ignore[type-arg]
    """Our root handler, recognisable so configuring twice replaces it.

    Every line it writes goes through `redact`: a password in REDIS_URL or DATABASE_URL, or
    an API key, is never logged, whichever library's message or traceback carries it.
    """

    def __init__(self, stream: TextIO, settings: Settings) -> None:
        super().__init__(stream)
        self.settings = settings

    def format(self, record: logging.LogRecord) -> str:
        """The formatted line, secrets replaced by `***`."""
        return redact(super().format(record), self.settings)


def _mark_forked() -> None:
    global _forked
    _forked = True


def configure_logging(settings: Settings) -> None:
    """Send every logger's lines to stderr, as text or JSON, at `CHAPTERHOUSE_LOG_LEVEL`."""
    global _at_fork_registered
    if not _at_fork_registered:
        os.register_at_fork(after_in_child=_mark_forked)
        _at_fork_registered = True
    root = logging.getLogger()
    for handler in [h for h in root.handlers if isinstance(h, _Handler)]:
        root.removeHandler(handler)
    level = settings.log_level.upper()
    handler = _Handler(sys.stderr, settings)
    # Scrapy sets its loggers to DEBUG whenever a crawler starts: the handler's level holds.
    handler.setLevel(level)
    handler.setFormatter(JsonFormatter() if settings.log_format == "json" else TextFormatter())
    handler.addFilter(JobIdFilter())
    if level != "DEBUG":
        handler.addFilter(_quiet_scrapy)
    root.addHandler(handler)
    root.setLevel(level)
    for name in _OWN_HANDLERS:
        # With the root handler in place, RQ adds none of its own; uvicorn's are dropped.
        logger = logging.getLogger(name)
        logger.handlers.clear()
        logger.propagate = True
