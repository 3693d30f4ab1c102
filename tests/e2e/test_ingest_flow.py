"""API → Redis/RQ → a real `chapterhouse worker` process → the fake site → PostgreSQL → read API."""

from __future__ import annotations

import subprocess
import sys
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from redis import Redis

from chapterhouse.api.app import create_app
from chapterhouse.config import Settings
from tests.conftest import run_cli, settings_env
from tests.fakesite import royalroad
from tests.fakesite.server import FakeSite

pytestmark = pytest.mark.e2e


@pytest.fixture
def client(site_settings: Settings) -> Iterator[TestClient]:
    with TestClient(create_app(site_settings)) as client:
        yield client


def run_burst_worker(settings: Settings) -> subprocess.CompletedProcess[str]:
    result = run_cli(settings, "worker", "--burst")
    assert result.returncode == 0, result.stderr[-2000:]
    return result


def rq_cli() -> str:
    return str(Path(sys.executable).parent / "rq")


def submit(client: TestClient, url: str) -> int:
    response = client.post("/ingest", json={"url": url})
    assert response.status_code == 202, response.text
    return int(response.json()["job_id"])


def test_submitted_novel_is_crawled_by_a_worker_and_readable(
    client: TestClient, site_settings: Settings, fake_site: FakeSite
) -> None:
    fiction = fake_site.add(royalroad.make_fiction(101, 5, tags=["Fantasy", "Sci-fi"]))
    job_id = submit(client, fake_site.url(fiction))
    assert client.get(f"/jobs/{job_id}").json()["status"] == "queued"

    run_burst_worker(site_settings)

    job = client.get(f"/jobs/{job_id}").json()
    assert job["status"] == "done", job
    assert job["progress"] == {"done": 5, "total": 5}
    assert job["attempts"] == 1
    assert job["started_at"] and job["finished_at"]
    slug = job["novel_slug"]
    assert slug

    novel = client.get(f"/novels/{slug}").json()
    assert novel["title"] == fiction.title
    assert novel["chapter_count"] == 5
    assert {g["slug"] for g in novel["genres"]} == {"fantasy", "science-fiction"}

    chapters = client.get(f"/novels/{slug}/chapters").json()
    assert [c["title"] for c in chapters["items"]] == [c.title for c in fiction.chapters]

    first = client.get(f"/novels/{slug}/chapters/1").json()
    assert fiction.chapters[0].paragraphs[0] in first["content"]
    assert "<script" not in first["content"] and "class=" not in first["content"]
    assert first["prev"] is None and first["next"] == 2


def test_two_workers_share_ten_jobs_each_processed_once(
    client: TestClient, site_settings: Settings, fake_site: FakeSite
) -> None:
    fictions = [fake_site.add(royalroad.make_fiction(200 + i, 3)) for i in range(10)]
    job_ids = [submit(client, fake_site.url(f)) for f in fictions]

    env = settings_env(site_settings)
    command = [sys.executable, "-m", "chapterhouse", "worker", "--burst"]
    workers = [subprocess.Popen(command, env=env) for _ in range(2)]
    assert [w.wait(timeout=180) for w in workers] == [0, 0]

    for job_id in job_ids:
        job = client.get(f"/jobs/{job_id}").json()
        assert job["status"] == "done" and job["attempts"] == 1, job
    fiction_hits = Counter(p for p in fake_site.paths() if "/chapter/" not in p)
    assert all(count == 1 for count in fiction_hits.values()), fiction_hits
    assert len(fiction_hits) == 10
    chapter_hits = Counter(p for p in fake_site.paths() if "/chapter/" in p)
    assert len(chapter_hits) == 30 and set(chapter_hits.values()) == {1}
    assert client.get("/novels").json()["total"] == 10


def test_site_error_fails_the_job_with_a_reason_and_the_worker_carries_on(
    client: TestClient, site_settings: Settings, fake_site: FakeSite
) -> None:
    broken = fake_site.add(royalroad.make_fiction(301, 2))
    fine = fake_site.add(royalroad.make_fiction(302, 2))
    fake_site.failures[royalroad.fiction_path(broken)] = 500
    broken_job = submit(client, fake_site.url(broken))
    fine_job = submit(client, fake_site.url(fine))

    run_burst_worker(site_settings)

    failed = client.get(f"/jobs/{broken_job}").json()
    assert failed["status"] == "failed"
    assert "HTTP 500" in failed["error"] and royalroad.fiction_path(broken) in failed["error"]
    assert client.get(f"/jobs/{fine_job}").json()["status"] == "done"
    assert client.get("/jobs", params={"status": "failed"}).json()["total"] == 1


def test_missing_fiction_fails_as_not_found_and_stores_no_novel(
    client: TestClient, site_settings: Settings, fake_site: FakeSite
) -> None:
    job_id = submit(client, f"http://{fake_site.host}/fiction/999/nothing-here")
    run_burst_worker(site_settings)
    job = client.get(f"/jobs/{job_id}").json()
    assert job["status"] == "failed" and "not found" in job["error"]
    assert client.get("/novels").json()["total"] == 0


def test_reingest_fetches_only_new_chapters(
    client: TestClient, site_settings: Settings, fake_site: FakeSite
) -> None:
    fiction = fake_site.add(royalroad.make_fiction(401, 4))
    submit(client, fake_site.url(fiction))
    run_burst_worker(site_settings)
    grown = fake_site.add(royalroad.make_fiction(401, 6))
    fake_site.hits.clear()

    job_id = submit(client, fake_site.url(grown))
    run_burst_worker(site_settings)

    job = client.get(f"/jobs/{job_id}").json()
    assert job["status"] == "done"
    assert job["stats"]["new"] == 2 and job["stats"]["unchanged"] == 4
    fetched = fake_site.paths()
    assert len(fetched) == 3, fetched  # the fiction page and the two new chapters
    slug = job["novel_slug"]
    assert client.get(f"/novels/{slug}/chapters").json()["total"] == 6


def test_job_whose_redis_entry_is_waiting_is_visible_to_rq(
    client: TestClient, site_settings: Settings, fake_site: FakeSite
) -> None:
    fiction = fake_site.add(royalroad.make_fiction(501, 1))
    job_id = submit(client, fake_site.url(fiction))
    redis = Redis.from_url(site_settings.redis_url)
    assert redis.llen("rq:queue:ingestion") == 1
    assert redis.lrange("rq:queue:ingestion", 0, -1) == [f"ingest-{job_id}".encode()]
    info = subprocess.run(
        [
            str(Path(sys.executable).parent / "rq"),
            "info",
            "--url",
            site_settings.redis_url,
            "ingestion",
        ],
        capture_output=True,
        text=True,
        check=False,
    )
    assert "ingestion" in info.stdout and "1" in info.stdout, info.stdout + info.stderr
