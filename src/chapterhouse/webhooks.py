"""Webhooks: job and novel events POSTed as JSON to `CHAPTERHOUSE_WEBHOOK_URL`.

Each delivery is a small RQ job on the `webhooks` queue, retried with backoff by RQ, so a slow
or broken receiver never slows or fails a crawl. Bodies are built and signed when the event
happens; the delivery job's arguments are plain JSON (URL, body text, headers).
"""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
import uuid
from datetime import UTC, datetime
from typing import Any

from redis import Redis
from rq import Queue, Retry
from sqlalchemy import select
from sqlalchemy.orm import Session

from chapterhouse.config import Settings
from chapterhouse.db.models import Chapter, IngestionJob, JobStatus, Novel, utcnow
from chapterhouse.errors import WebhookDeliveryError

log = logging.getLogger(__name__)

WEBHOOK_QUEUE = "webhooks"
DELIVER_TASK = "chapterhouse.webhooks.deliver"  # by dotted path, like every task
EVENT_HEADER = "X-Chapterhouse-Event"
DELIVERY_HEADER = "X-Chapterhouse-Delivery"
SIGNATURE_HEADER = "X-Chapterhouse-Signature"  # "sha256=<hex HMAC of the body>"

JOB_DONE = "job.done"
JOB_FAILED = "job.failed"
NEW_CHAPTERS = "novel.new_chapters"


def make_webhook_queue(redis: Redis) -> Queue:
    """The queue webhook deliveries go to; every worker serves it too."""
    return Queue(WEBHOOK_QUEUE, connection=redis)


def sign(secret: str, body: bytes) -> str:
    """The signature header's value: `sha256=` and the hex HMAC-SHA256 of the body."""
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def send_event(settings: Settings, redis: Redis, event: str, data: dict[str, Any]) -> str | None:
    """Queue one delivery of `event`; returns its delivery id, or None when webhooks are off."""
    if not settings.webhook_url:
        return None
    delivery_id = uuid.uuid4().hex
    body = json.dumps(
        {"id": delivery_id, "event": event, "created_at": utcnow().isoformat(), **data},
        default=_json_default,
    )
    headers = {
        "Content-Type": "application/json",
        "User-Agent": settings.full_user_agent,
        EVENT_HEADER: event,
        DELIVERY_HEADER: delivery_id,
    }
    if settings.webhook_secret:
        headers[SIGNATURE_HEADER] = sign(settings.webhook_secret, body.encode())
    intervals = settings.webhook_retry_intervals
    make_webhook_queue(redis).enqueue_call(
        DELIVER_TASK,
        args=(settings.webhook_url, body, headers, settings.webhook_timeout),
        job_id=f"webhook-{delivery_id}",
        timeout=int(settings.webhook_timeout) + 30,
        result_ttl=3600,
        failure_ttl=7 * 24 * 3600,
        retry=Retry(max=len(intervals), interval=intervals) if intervals else None,
        description=f"webhook {event}",
    )
    return delivery_id


def deliver(url: str, body: str, headers: dict[str, str], timeout: float = 10.0) -> int:
    """POST one webhook body; an HTTP error or no answer raises, so RQ retries it later."""
    import httpx

    try:
        response = httpx.post(url, content=body.encode(), headers=headers, timeout=timeout)
    except httpx.HTTPError as exc:
        raise WebhookDeliveryError(f"webhook {url}: {type(exc).__name__}: {exc}") from None
    if response.status_code >= 400:
        raise WebhookDeliveryError(f"webhook {url} answered HTTP {response.status_code}")
    return response.status_code


def job_ended_events(session: Session, job: IngestionJob) -> list[tuple[str, dict[str, Any]]]:
    """Events of an ended job: `job.done`/`job.failed`, plus `novel.new_chapters` if followed."""
    from chapterhouse.api.schemas import JobOut  # the same JSON as GET /jobs/{id}

    if job.status in (JobStatus.DONE, JobStatus.PARTIAL):
        name = JOB_DONE
    elif job.status == JobStatus.FAILED:
        name = JOB_FAILED
    else:
        return []  # queued, running, or canceled on request: nothing to announce
    events = [(name, {"job": JobOut.from_job(job).model_dump(mode="json")})]
    novel = job.novel
    if (
        name == JOB_DONE
        and novel is not None
        and getattr(novel, "followed", False)
        and (job.stats or {}).get("new")
        and job.started_at is not None
    ):
        events.append(new_chapters_event(session, novel, since=job.started_at, job_id=job.id))
    return events


def new_chapters_event(
    session: Session, novel: Novel, *, since: datetime, job_id: int | None = None
) -> tuple[str, dict[str, Any]]:
    """`novel.new_chapters` for the novel's chapters first stored at or after `since`."""
    chapters = session.scalars(
        select(Chapter)
        .where(Chapter.novel_id == novel.id, Chapter.created_at >= since)
        .order_by(Chapter.number)
    ).all()
    return NEW_CHAPTERS, {
        "job_id": job_id,
        "novel": {"slug": novel.slug, "title": novel.title, "url": novel.url},
        "chapters": [
            {"number": c.number, "title": c.title, "url": c.url, "published_at": c.published_at}
            for c in chapters
        ],
    }


def notify_new_chapters(
    settings: Settings,
    redis: Redis,
    session: Session,
    novel_id: int,
    *,
    since: datetime,
    job_id: int | None = None,
) -> str | None:
    """Announce a novel's chapters stored since `since` (`novel.new_chapters`); never raises.

    Job ends call this for followed novels already (see `job_ended_events`); call it directly
    only for chapters stored some other way.
    """
    if not settings.webhook_url:
        return None
    try:
        novel = session.get(Novel, novel_id)
        if novel is None:
            return None
        name, data = new_chapters_event(session, novel, since=since, job_id=job_id)
        if not data["chapters"]:
            return None
        return send_event(settings, redis, name, data)
    except Exception:
        log.exception("novel %s: new-chapters webhook not queued", novel_id)
        return None


def notify_job_ended(settings: Settings, job_id: int, *, since: datetime | None = None) -> None:
    """Queue the webhooks of a job that ended (at or after `since`); never raises.

    A webhook must never fail or slow the crawl, so any error is logged and dropped.
    """
    if not settings.webhook_url:
        return
    from chapterhouse.db.engine import make_engine, make_session_factory
    from chapterhouse.queue.connection import make_redis

    engine = make_engine(settings)
    redis = make_redis(settings)
    try:
        with make_session_factory(engine)() as session:
            job = session.get(IngestionJob, job_id)
            if job is None or job.finished_at is None:
                return
            if since is not None and _aware(job.finished_at) < since:
                return  # ended before this run began (e.g. canceled while queued): not news
            for name, data in job_ended_events(session, job):
                send_event(settings, redis, name, data)
    except Exception:
        log.exception("job %s: webhook not queued", job_id)
    finally:
        redis.close()
        engine.dispose()


def _aware(value: datetime) -> datetime:
    # SQLite hands timestamps back naive; they were written in UTC.
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value


def _json_default(value: object) -> str:
    if isinstance(value, datetime):
        return _aware(value).isoformat()
    raise TypeError(f"{type(value).__name__} is not JSON serialisable")
