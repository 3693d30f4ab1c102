"""Webhooks: a real worker crawls the fake site and a receiver on 127.0.0.1 records the POSTs."""

from __future__ import annotations

import hashlib
import hmac
import json
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest
from redis import Redis
from rq import Queue
from sqlalchemy import update

from chapterhouse.config import Settings
from chapterhouse.db.models import Novel
from chapterhouse.services import Runtime, submit_ingest
from tests.conftest import run_cli, settings_env
from tests.fakesite import royalroad
from tests.fakesite.server import FakeSite

pytestmark = pytest.mark.e2e

SECRET = "test-secret"


@dataclass
class Receiver:
    """Records every POST; answers the statuses in `answers` first, then 200."""

    answers: list[int] = field(default_factory=list)
    posts: list[tuple[int, dict[str, str], bytes]] = field(default_factory=list)
    url: str = ""
    lock: threading.Lock = field(default_factory=threading.Lock)

    def bodies(self, event: str | None = None) -> list[dict[str, Any]]:
        """JSON bodies of the posts answered 200, optionally of one event."""
        with self.lock:
            found = [json.loads(body) for status, _, body in self.posts if status == 200]
        return [b for b in found if event is None or b["event"] == event]


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    got = Receiver()

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
            with got.lock:
                status = got.answers.pop(0) if got.answers else 200
                got.posts.append((status, dict(self.headers.items()), body))
            self.send_response(status)
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, format: str, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    got.url = f"http://127.0.0.1:{server.server_address[1]}/hooks/chapterhouse"
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield got
    server.shutdown()
    server.server_close()


@pytest.fixture
def hook_settings(site_settings: Settings, receiver: Receiver) -> Settings:
    return site_settings.model_copy(
        update={
            "webhook_url": receiver.url,
            "webhook_secret": SECRET,
            "webhook_retry_intervals": [1, 1],
        }
    )


def submit(settings: Settings, url: str) -> int:
    rt = Runtime(settings)
    try:
        return submit_ingest(rt, url).job.id
    finally:
        rt.close()


def burst(settings: Settings) -> None:
    result = run_cli(settings, "worker", "--burst")
    assert result.returncode == 0, result.stderr[-2000:]


def wait_for(condition: Callable[[], bool], seconds: float = 30) -> None:
    deadline = time.monotonic() + seconds
    while not condition():
        assert time.monotonic() < deadline, "condition not met in time"
        time.sleep(0.1)


def test_a_finished_job_posts_job_done_signed(
    hook_settings: Settings, fake_site: FakeSite, receiver: Receiver
) -> None:
    fiction = fake_site.add(royalroad.make_fiction(4101, 3))
    job_id = submit(hook_settings, fake_site.url(fiction))
    burst(hook_settings)  # serves the webhooks queue too: the delivery is made before it exits

    [hook] = receiver.bodies()
    assert hook["event"] == "job.done"
    job = hook["job"]
    assert job["job_id"] == job_id and job["status"] == "done"
    assert job["novel_slug"] and job["progress"] == {"done": 3, "total": 3}
    assert job["stats"]["new"] == 3
    _, headers, body = receiver.posts[0]
    assert headers["Content-Type"] == "application/json"
    assert headers["X-Chapterhouse-Event"] == "job.done"
    assert headers["X-Chapterhouse-Delivery"] == hook["id"]
    expected = hmac.new(SECRET.encode(), body, hashlib.sha256).hexdigest()
    assert headers["X-Chapterhouse-Signature"] == f"sha256={expected}"


def test_a_failed_job_posts_job_failed_with_the_reason(
    hook_settings: Settings, fake_site: FakeSite, receiver: Receiver
) -> None:
    broken = fake_site.add(royalroad.make_fiction(4201, 2))
    fake_site.failures[royalroad.fiction_path(broken)] = 500
    job_id = submit(hook_settings, fake_site.url(broken))
    burst(hook_settings)

    [hook] = receiver.bodies()
    assert hook["event"] == "job.failed"
    assert hook["job"]["job_id"] == job_id and hook["job"]["status"] == "failed"
    assert "HTTP 500" in hook["job"]["error"]


def test_a_receiver_that_fails_twice_gets_the_third_try(
    hook_settings: Settings, fake_site: FakeSite, receiver: Receiver
) -> None:
    receiver.answers = [500, 500]
    fiction = fake_site.add(royalroad.make_fiction(4301, 1))
    job_id = submit(hook_settings, fake_site.url(fiction))
    # A long-running worker: RQ's scheduler in it queues each retry when its interval is up.
    worker = subprocess.Popen(
        [sys.executable, "-m", "chapterhouse", "worker"], env=settings_env(hook_settings)
    )
    try:
        wait_for(lambda: len(receiver.bodies()) == 1, 60)
    finally:
        worker.terminate()
        worker.wait(timeout=30)
    assert [status for status, _, _ in receiver.posts] == [500, 500, 200]
    # One delivery, tried three times: the same body and id each time.
    assert len({body for _, _, body in receiver.posts}) == 1
    [hook] = receiver.bodies()
    assert hook["event"] == "job.done" and hook["job"]["job_id"] == job_id


def test_an_unreachable_receiver_never_fails_the_crawl(
    site_settings: Settings, fake_site: FakeSite
) -> None:
    nowhere = site_settings.model_copy(
        update={"webhook_url": "http://127.0.0.1:1/hook", "webhook_retry_intervals": []}
    )
    fiction = fake_site.add(royalroad.make_fiction(4401, 2))
    job_id = submit(nowhere, fake_site.url(fiction))
    burst(nowhere)

    assert "done 2/2" in run_cli(nowhere, "job", str(job_id)).stdout
    # The delivery itself failed, and is kept in RQ's failed registry with the reason.
    redis = Redis.from_url(nowhere.redis_url)
    failed = Queue("webhooks", connection=redis).failed_job_registry
    assert failed.count == 1
    [delivery_id] = failed.get_job_ids()
    job = Queue("webhooks", connection=redis).fetch_job(delivery_id)
    result = job.latest_result() if job is not None else None
    assert result is not None and "WebhookDeliveryError" in (result.exc_string or "")


def test_new_chapters_of_a_followed_novel_are_announced(
    hook_settings: Settings, fake_site: FakeSite, receiver: Receiver
) -> None:
    fake_site.add(royalroad.make_fiction(4501, 2))
    first = submit(hook_settings, fake_site.url(fake_site.fictions[4501]))
    burst(hook_settings)
    assert receiver.bodies("novel.new_chapters") == []  # not followed: no chapter news
    rt = Runtime(hook_settings)
    with rt.sessions() as session:
        session.execute(update(Novel).values(followed=True))
        session.commit()
    rt.close()
    grown = fake_site.add(royalroad.make_fiction(4501, 4))

    second = submit(hook_settings, fake_site.url(grown))
    burst(hook_settings)

    assert [h["job"]["job_id"] for h in receiver.bodies("job.done")] == [first, second]
    [news] = receiver.bodies("novel.new_chapters")
    assert news["job_id"] == second
    assert news["novel"]["title"] == grown.title and news["novel"]["slug"]
    assert [c["number"] for c in news["chapters"]] == [3, 4]
    assert [c["title"] for c in news["chapters"]] == [c.title for c in grown.chapters[2:]]


def test_without_a_webhook_url_nothing_is_queued(
    site_settings: Settings, fake_site: FakeSite
) -> None:
    fiction = fake_site.add(royalroad.make_fiction(4601, 1))
    submit(site_settings, fake_site.url(fiction))
    result = run_cli(site_settings, "worker", "--burst", "--max-jobs", "1")
    assert result.returncode == 0, result.stderr[-2000:]
    redis = Redis.from_url(site_settings.redis_url)
    webhooks = Queue("webhooks", connection=redis)
    assert webhooks.count == 0 and webhooks.failed_job_registry.count == 0
