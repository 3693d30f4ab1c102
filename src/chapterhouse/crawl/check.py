"""A followed novel's check, in the work horse: read its feed, queue an update only if needed.

With a feed (Royal Road's RSS), a check is one request: chapters it lists that are not stored
lead to a normal ingestion job, which fetches only what changed. A site without a feed gets
that ingestion job every time. Either way the next check is planned from the release rhythm.
"""

from __future__ import annotations

import logging

from redis import Redis
from redis.exceptions import RedisError
from sqlalchemy import select

from chapterhouse.config import Settings
from chapterhouse.crawl.site import FeedItem
from chapterhouse.db import follows
from chapterhouse.db.models import Novel, utcnow
from chapterhouse.errors import ChapterhouseError
from chapterhouse.queue.checks import due_stamp, schedule_check

log = logging.getLogger(__name__)

NOTE_LENGTH = 255  # the column's size


def run_check(settings: Settings, novel_id: int, due: int) -> str:
    """Check novel `novel_id` for new chapters; `due` is the planned time this check is for."""
    from chapterhouse import services
    from chapterhouse.crawl.runner import run_feed  # Scrapy is only imported here, in the horse

    rt = services.Runtime(settings)
    try:
        # A check is a small job, run often: each step reads or writes only what it needs.
        with rt.sessions() as session:
            novel = session.execute(
                select(Novel.url, Novel.followed, Novel.next_check_at).where(Novel.id == novel_id)
            ).first()
        if novel is None or not novel.followed:
            return "not followed"
        if novel.next_check_at is None or due_stamp(novel.next_check_at) != due:
            return "superseded by a later check"  # unfollowed and followed again, say
        url = novel.url
        new: list[FeedItem] = []
        try:
            site, ref = rt.registry.resolve(url)
            feed_url = site.feed_url(ref)
            if feed_url is None:
                job = services.submit_ingest(rt, url).job
                note = f"update queued as job {job.id} (the site has no feed)"
            else:
                fetched = run_feed(settings, site, feed_url, shared=_answers(rt.redis))
                with rt.sessions() as session:
                    held = follows.held_among(
                        session, novel_id, (item.site_chapter_id for item in fetched.items)
                    )
                new = [item for item in fetched.items if item.site_chapter_id not in held]
                if fetched.error:
                    note = f"feed not read: {fetched.error}"
                elif new:
                    job = services.submit_ingest(rt, url).job
                    note = f"{len(new)} new chapter(s): update job {job.id}"
                else:
                    note = "no new chapters"
        except ChapterhouseError as exc:
            note = f"check failed: {exc.message}"
        now = utcnow()
        with rt.sessions() as session:
            interval, next_due = follows.next_check(
                session, novel_id, settings, now, extra_dates=[item.published_at for item in new]
            )
            recorded = follows.record_check(
                session,
                novel_id,
                now=now,
                note=note[:NOTE_LENGTH],
                interval=interval,
                due=next_due,
            )
            session.commit()
        if not recorded:
            return note  # unfollowed while the check ran: plan nothing
        schedule_check(rt.queue, novel_id, next_due, settings)
        log.info("novel %s checked: %s; next check %s", novel_id, note, next_due.isoformat())
        return note
    finally:
        rt.close()


def _answers(redis: Redis) -> bool:
    """Whether Redis answers, on the connection the check goes on to use."""
    try:
        return bool(redis.ping())
    except RedisError:
        return False
