"""What a crawl does with real workers: streaming progress, partial failures and their retry,
withdrawn and edited chapters, robots.txt, layout changes, cool-downs shown on the job."""

from __future__ import annotations

import dataclasses
import subprocess
import sys
import time
from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from chapterhouse.api.app import create_app
from chapterhouse.config import Settings
from chapterhouse.db.models import Chapter
from chapterhouse.services import Runtime
from tests.conftest import run_cli, settings_env
from tests.fakesite import royalroad
from tests.fakesite.server import FakeSite

pytestmark = pytest.mark.e2e


@pytest.fixture
def client(site_settings: Settings) -> Iterator[TestClient]:
    with TestClient(create_app(site_settings)) as client:
        yield client


def submit(client: TestClient, url: str) -> int:
    response = client.post("/ingest", json={"url": url})
    assert response.status_code == 202, response.text
    return int(response.json()["job_id"])


def burst(settings: Settings) -> None:
    result = run_cli(settings, "worker", "--burst")
    assert result.returncode == 0, result.stderr[-2000:]


def test_chapters_are_stored_as_they_arrive_and_status_moves_on(
    client: TestClient, site_settings: Settings, fake_site: FakeSite
) -> None:
    fiction = fake_site.add(royalroad.make_fiction(1101, 6))
    fake_site.slow["/fiction/1101/"] = 0.25  # each page takes a while
    job_id = submit(client, fake_site.url(fiction))
    worker = subprocess.Popen(
        [sys.executable, "-m", "chapterhouse", "worker", "--burst"],
        env=settings_env(site_settings),
    )
    seen: list[tuple[str, int]] = []
    while worker.poll() is None:
        job = client.get(f"/jobs/{job_id}").json()
        seen.append((job["status"], job["progress"]["done"]))
        time.sleep(0.05)
    assert worker.returncode == 0
    statuses = [status for status, _ in seen]
    assert statuses[0] == "queued" and "crawling" in statuses
    # Mid-crawl, some chapters were already stored and readable, not held until the end.
    assert any(status == "crawling" and 0 < done < 6 for status, done in seen), seen
    final = client.get(f"/jobs/{job_id}").json()
    assert final["status"] == "done" and final["progress"] == {"done": 6, "total": 6}


def test_failed_chapter_makes_the_job_partial_and_retry_fetches_only_it(
    client: TestClient, site_settings: Settings, fake_site: FakeSite
) -> None:
    fiction = fake_site.add(royalroad.make_fiction(1201, 4))
    broken = royalroad.chapter_path(fiction, fiction.chapters[2])
    fake_site.failures[broken] = 500
    job_id = submit(client, fake_site.url(fiction))
    burst(site_settings)

    job = client.get(f"/jobs/{job_id}").json()
    assert job["status"] == "partial"
    assert [f["number"] for f in job["failed_chapters"]] == [3]
    assert "HTTP 500" in job["failed_chapters"][0]["error"]
    assert job["stats"]["new"] == 3 and job["stats"]["failed"] == 1
    slug = job["novel_slug"]
    assert client.get(f"/novels/{slug}/chapters").json()["total"] == 3

    del fake_site.failures[broken]
    fake_site.hits.clear()
    assert client.post(f"/jobs/{job_id}/retry").status_code == 202
    burst(site_settings)

    job = client.get(f"/jobs/{job_id}").json()
    assert job["status"] == "done" and job["attempts"] == 2 and job["failed_chapters"] == []
    assert fake_site.paths() == [royalroad.fiction_path(fiction), broken]
    assert client.get(f"/novels/{slug}/chapters").json()["total"] == 4


def test_withdrawn_chapter_is_kept_and_flagged_and_renamed_one_refetched(
    client: TestClient, site_settings: Settings, fake_site: FakeSite
) -> None:
    fiction = fake_site.add(royalroad.make_fiction(1301, 4))
    submit(client, fake_site.url(fiction))
    burst(site_settings)

    gone = fiction.chapters[1]
    renamed = dataclasses.replace(fiction.chapters[3], title="Chapter 4 (revised)")
    changed = dataclasses.replace(
        fiction, chapters=[fiction.chapters[0], fiction.chapters[2], renamed]
    )
    fake_site.add(changed)
    fake_site.hits.clear()
    job_id = submit(client, fake_site.url(changed))
    burst(site_settings)

    job = client.get(f"/jobs/{job_id}").json()
    assert job["status"] == "done"
    assert job["stats"] == {"new": 0, "updated": 1, "unchanged": 2, "withdrawn": 1, "failed": 0}
    assert fake_site.paths() == [
        royalroad.fiction_path(changed),
        royalroad.chapter_path(changed, renamed),
    ]
    rt = Runtime(site_settings)
    with rt.sessions() as session:
        rows = {c.site_chapter_id: c for c in session.scalars(select(Chapter))}
    rt.close()
    assert len(rows) == 4  # nothing deleted
    assert rows[str(gone.id)].withdrawn_at is not None
    assert rows[str(renamed.id)].title == "Chapter 4 (revised)"
    assert all(c.withdrawn_at is None for k, c in rows.items() if k != str(gone.id))


def test_robots_txt_is_obeyed_and_the_user_agent_names_us(
    client: TestClient, site_settings: Settings, fake_site: FakeSite
) -> None:
    fiction = fake_site.add(royalroad.make_fiction(1401, 2))
    hidden = royalroad.chapter_path(fiction, fiction.chapters[1])
    fake_site.robots = f"User-agent: *\nDisallow: {hidden}\n"
    contact = site_settings.model_copy(update={"contact": "ops@example.org"})
    job_id = submit(client, fake_site.url(fiction))
    burst(contact)

    job = client.get(f"/jobs/{job_id}").json()
    assert job["status"] == "partial"
    assert "robots.txt" in job["failed_chapters"][0]["error"]
    assert hidden not in fake_site.paths()
    agents = {hit.user_agent for hit in fake_site.hits}
    assert agents and all("chapterhouse" in a and "ops@example.org" in a for a in agents)


def test_changed_layout_fails_fast_naming_the_page_and_the_element(
    client: TestClient, site_settings: Settings, fake_site: FakeSite
) -> None:
    fiction = fake_site.add(royalroad.make_fiction(1501, 2))
    fake_site.pages[royalroad.fiction_path(fiction)] = (
        "<html><head><title>Royal Road</title></head><body><div class='fic-header'>"
        "<p>a redesigned page</p></div></body></html>"
    )
    job_id = submit(client, fake_site.url(fiction))
    burst(site_settings)
    job = client.get(f"/jobs/{job_id}").json()
    assert job["status"] == "failed" and job["attempts"] == 1
    assert royalroad.fiction_path(fiction) in job["error"] and "h1" in job["error"]


def test_a_cool_down_shows_on_the_job(
    client: TestClient, site_settings: Settings, fake_site: FakeSite
) -> None:
    fiction = fake_site.add(royalroad.make_fiction(1601, 2))
    first = royalroad.chapter_path(fiction, fiction.chapters[0])
    fake_site.once[first] = (429, {"Retry-After": "3"})
    job_id = submit(client, fake_site.url(fiction))
    worker = subprocess.Popen(
        [sys.executable, "-m", "chapterhouse", "worker", "--burst"],
        env=settings_env(site_settings),
    )
    notes = set()
    while worker.poll() is None:
        note = client.get(f"/jobs/{job_id}").json()["note"]
        if note:
            notes.add(note)
        time.sleep(0.1)
    assert worker.returncode == 0
    assert any(n.startswith(f"waiting for {fake_site.host} until ") for n in notes), notes
    job = client.get(f"/jobs/{job_id}").json()
    assert job["status"] == "done" and job["note"] is None
