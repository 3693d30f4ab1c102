"""The `chapterhouse` command line, run as a user runs it: a child process on the real services."""

from __future__ import annotations

import subprocess
import sys
import time
from collections.abc import Iterator

import pytest

from chapterhouse.config import Settings
from tests.conftest import run_cli, settings_env
from tests.fakesite import royalroad
from tests.fakesite.server import FakeSite


@pytest.fixture
def running_worker(site_settings: Settings) -> Iterator[subprocess.Popen[bytes]]:
    """A long-running worker, stopped (SIGTERM) after the test."""
    worker = subprocess.Popen(
        [sys.executable, "-m", "chapterhouse", "worker"], env=settings_env(site_settings)
    )
    from redis import Redis

    redis = Redis.from_url(site_settings.redis_url)
    deadline = time.monotonic() + 30
    while not redis.smembers("rq:workers") and time.monotonic() < deadline:
        time.sleep(0.1)
    yield worker
    worker.terminate()
    worker.wait(timeout=30)


def assert_one_red_line(result: subprocess.CompletedProcess[str], text: str) -> None:
    assert result.returncode == 1
    assert "Traceback" not in result.stderr + result.stdout
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(lines) == 1 and lines[0].startswith("error:") and text in lines[0], result.stderr


def test_ingest_wait_follows_the_job_to_the_end(
    site_settings: Settings, fake_site: FakeSite, running_worker: subprocess.Popen[bytes]
) -> None:
    fiction = fake_site.add(royalroad.make_fiction(601, 3))
    result = run_cli(site_settings, "ingest", fake_site.url(fiction), "--wait")
    assert result.returncode == 0, result.stderr
    assert "job 1 done 3/3 chapters" in result.stdout

    listing = run_cli(site_settings, "jobs", "--status", "done")
    assert "done" in listing.stdout and "1 of 1 jobs" in listing.stdout
    novels = run_cli(site_settings, "novels")
    assert fiction.title in novels.stdout


def test_doctor_is_green_with_a_worker_and_red_without(
    site_settings: Settings, running_worker: subprocess.Popen[bytes]
) -> None:
    result = run_cli(site_settings, "doctor")
    assert result.returncode == 0, result.stdout + result.stderr
    for name in ("redis", "queue", "sites", "database", "migrations", "workers", "probe job"):
        assert f"✓ {name}:" in result.stdout, result.stdout
    assert "✗" not in result.stdout


def test_doctor_without_worker_fails_and_says_what_to_do(site_settings: Settings) -> None:
    result = run_cli(site_settings, "doctor", "--probe-timeout", "1")
    assert result.returncode == 1
    assert "✗ workers: no worker serves the queue: run `chapterhouse worker`" in result.stdout


def test_doctor_reports_redis_down_and_hides_its_password(site_settings: Settings) -> None:
    down = site_settings.model_copy(update={"redis_url": "redis://:s3cret@127.0.0.1:1/0"})
    result = run_cli(down, "doctor")
    assert result.returncode == 1
    assert "✗ redis:" in result.stdout and "s3cret" not in result.stdout + result.stderr


def test_ingest_now_runs_inline_on_sqlite_without_redis(
    sqlite_settings: Settings, fake_site: FakeSite
) -> None:
    fiction = fake_site.add(royalroad.make_fiction(701, 2))
    offline = sqlite_settings.model_copy(
        update={"redis_url": "redis://127.0.0.1:1/0", "site_hosts": f"{fake_site.host}=royalroad"}
    )
    result = run_cli(offline, "ingest", fake_site.url(fiction), "--now")
    assert result.returncode == 0, result.stdout + result.stderr
    assert "done 2/2 chapters" in result.stdout
    assert (offline.data_dir / "chapterhouse.db").exists()
    assert fiction.title in run_cli(offline, "novels").stdout


def test_unknown_job_is_one_red_line(settings: Settings) -> None:
    assert_one_red_line(run_cli(settings, "job", "99"), "no ingestion job has id 99")


def test_unsupported_site_is_one_red_line_naming_the_supported_ones(settings: Settings) -> None:
    result = run_cli(settings, "ingest", "https://example.com/story/1")
    assert_one_red_line(result, "example.com is not a supported site")
    assert "Royal Road" in result.stderr


def test_ingest_with_redis_down_is_one_red_line(settings: Settings) -> None:
    down = settings.model_copy(update={"redis_url": "redis://127.0.0.1:1/0"})
    result = run_cli(down, "ingest", "https://www.royalroad.com/fiction/21220/mother-of-learning")
    assert_one_red_line(result, "Redis does not answer")


def test_sites_lists_royal_road(settings: Settings) -> None:
    result = run_cli(settings, "sites")
    assert result.returncode == 0 and "royalroad" in result.stdout and "Royal Road" in result.stdout


def test_queue_shows_registries_and_workers(
    site_settings: Settings, running_worker: subprocess.Popen[bytes]
) -> None:
    result = run_cli(site_settings, "queue")
    assert result.returncode == 0, result.stderr
    for registry in ("queued", "started", "finished", "failed", "scheduled"):
        assert registry in result.stdout
    assert "idle" in result.stdout or "busy" in result.stdout


def test_migrate_on_a_fresh_sqlite_file(tmp_path: object, redis_url: str) -> None:
    fresh = Settings(database_url=None, redis_url=redis_url, data_dir=tmp_path)  # type: ignore[arg-type]
    result = run_cli(fresh, "migrate")
    assert result.returncode == 0, result.stderr
    assert "database at migration" in result.stdout


def test_worker_pool_runs_n_workers_that_share_the_queue_and_stop_together(
    site_settings: Settings, fake_site: FakeSite
) -> None:
    from fastapi.testclient import TestClient
    from redis import Redis

    from chapterhouse.api.app import create_app

    redis = Redis.from_url(site_settings.redis_url)
    pool = subprocess.Popen(
        [sys.executable, "-m", "chapterhouse", "worker", "--workers", "2"],
        env=settings_env(site_settings),
    )
    try:
        deadline = time.monotonic() + 30
        while redis.scard("rq:workers") < 2 and time.monotonic() < deadline:
            time.sleep(0.1)
        assert redis.scard("rq:workers") == 2
        with TestClient(create_app(site_settings)) as client:
            assert client.get("/health").json()["checks"]["workers"] == 2
            fictions = [fake_site.add(royalroad.make_fiction(900 + i, 2)) for i in range(4)]
            ids = [
                client.post("/ingest", json={"url": fake_site.url(f)}).json()["job_id"]
                for f in fictions
            ]
            deadline = time.monotonic() + 90
            while time.monotonic() < deadline:
                statuses = {client.get(f"/jobs/{i}").json()["status"] for i in ids}
                if statuses == {"done"}:
                    break
                time.sleep(0.2)
            assert statuses == {"done"}
    finally:
        pool.terminate()
        pool.wait(timeout=60)
    assert pool.returncode == 0
    assert redis.scard("rq:workers") == 0  # both children unregistered on the way out


def test_reclean_recleans_from_raw_html_without_fetching(
    site_settings: Settings, fake_site: FakeSite
) -> None:
    from sqlalchemy import update

    from chapterhouse.db.models import Chapter
    from chapterhouse.services import Runtime

    fiction = fake_site.add(royalroad.make_fiction(950, 2))
    assert run_cli(site_settings, "ingest", fake_site.url(fiction), "--now").returncode == 0
    rt = Runtime(site_settings)
    with rt.sessions() as session:
        # As if stored by an older cleaner that let junk through.
        session.execute(update(Chapter).values(content="<p>stale</p>", cleaner_version=0))
        session.commit()
    fake_site.hits.clear()

    result = run_cli(site_settings, "reclean")
    assert result.returncode == 0 and "2 chapter(s) re-cleaned" in result.stdout
    assert fake_site.hits == []
    with rt.sessions() as session:
        chapters = session.query(Chapter).order_by(Chapter.number).all()
        assert all(c.cleaner_version >= 1 and "stale" not in c.content for c in chapters)
        assert fiction.chapters[0].paragraphs[0] in chapters[0].content
    rt.close()
    assert "0 chapter(s) re-cleaned" in run_cli(site_settings, "reclean").stdout
