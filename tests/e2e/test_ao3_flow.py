"""AO3 end to end: API → Redis/RQ → a real `chapterhouse worker` → the fake AO3 pages →
PostgreSQL → read API. A whole work is one request; a series queues a job per work."""

from __future__ import annotations

import dataclasses
import itertools
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
from tests.fakesite import ao3
from tests.fakesite.server import FakeSite

pytestmark = pytest.mark.e2e


@pytest.fixture
def ao3_settings(settings: Settings, fake_site: FakeSite) -> Settings:
    """Test settings with the fake site's host mapped onto the AO3 site."""
    return settings.model_copy(update={"site_hosts": f"{fake_site.host}=ao3"})


@pytest.fixture
def client(ao3_settings: Settings) -> Iterator[TestClient]:
    with TestClient(create_app(ao3_settings)) as client:
        yield client


def url(fake_site: FakeSite, path: str) -> str:
    return f"http://{fake_site.host}{path}"


def submit(client: TestClient, target: str) -> int:
    response = client.post("/ingest", json={"url": target})
    assert response.status_code == 202, response.text
    return int(response.json()["job_id"])


def burst(settings: Settings) -> None:
    result = run_cli(settings, "worker", "--burst")
    assert result.returncode == 0, result.stderr[-2000:]


def stored_chapters(settings: Settings) -> dict[str, Chapter]:
    rt = Runtime(settings)
    with rt.sessions() as session:
        rows = {c.site_chapter_id: c for c in session.scalars(select(Chapter))}
    rt.close()
    return rows


def test_a_chapter_url_ingests_the_whole_work_in_one_request(
    client: TestClient, ao3_settings: Settings, fake_site: FakeSite
) -> None:
    work = fake_site.archive.add(
        ao3.make_work(
            5101,
            4,
            authors=["first_pen", "second_pen"],
            imported_from="Placeholder Elder",
            rating="Explicit",  # AO3 asks first unless view_adult=true
            freeform=["Time Travel", "Found Family", "Sci-fi"],
        )
    )
    job_id = submit(client, url(fake_site, ao3.chapter_path(work, work.chapters[2])))
    burst(ao3_settings)

    job = client.get(f"/jobs/{job_id}").json()
    assert job["status"] == "done", job
    assert job["progress"] == {"done": 4, "total": 4}
    assert job["stats"] == {"new": 4, "updated": 0, "unchanged": 0, "withdrawn": 0, "failed": 0}
    # One request for the whole work: no chapter page was asked for.
    assert fake_site.paths("/works") == [ao3.work_path(work)]

    novel = client.get(f"/novels/{job['novel_slug']}").json()
    assert novel["title"] == work.title and novel["site"] == "ao3"
    assert novel["authors"] == ["first_pen", "second_pen"]
    assert novel["byline"] == "Placeholder Elder [archived by first_pen, second_pen]"
    assert novel["tag_groups"]["rating"] == ["Explicit"]
    assert novel["tag_groups"]["freeform_tags"] == ["Time Travel", "Found Family", "Sci-fi"]
    assert {g["slug"] for g in novel["genres"]} == {"time-travel", "science-fiction"}
    assert novel["status"] == "completed" and novel["chapters_planned"] == 4
    assert novel["site_published_at"].startswith(ao3.make_work(5101, 4).published.isoformat())

    chapters = client.get(f"/novels/{job['novel_slug']}/chapters").json()["items"]
    assert [c["title"] for c in chapters] == [c.title for c in work.chapters]
    second = client.get(f"/novels/{job['novel_slug']}/chapters/2").json()
    assert work.chapters[1].paragraphs[0] in second["content"]
    assert "Chapter Text" not in second["content"]
    # The chapter's notes are kept apart from its text.
    assert work.chapters[1].notes in second["note_before"]
    assert work.chapters[1].end_notes in second["note_after"]
    assert work.chapters[1].notes not in second["content"]


def test_an_update_is_one_request_and_writes_only_new_and_changed_chapters(
    client: TestClient, ao3_settings: Settings, fake_site: FakeSite
) -> None:
    work = fake_site.archive.add(ao3.make_work(5201, 4))
    submit(client, url(fake_site, ao3.work_path(work)))
    burst(ao3_settings)
    before = stored_chapters(ao3_settings)

    first, second, third, fourth = work.chapters
    edited = dataclasses.replace(third, paragraphs=[*third.paragraphs, "An added paragraph."])
    grown = dataclasses.replace(
        work, chapters=[first, second, edited, ao3.make_chapter(5201, 5)], planned=None
    )  # the fourth chapter is gone, a fifth is new
    fake_site.archive.add(grown)
    fake_site.hits.clear()
    job_id = submit(client, url(fake_site, ao3.work_path(work)))
    burst(ao3_settings)

    job = client.get(f"/jobs/{job_id}").json()
    assert job["status"] == "done", job
    assert job["stats"] == {"new": 1, "updated": 1, "unchanged": 2, "withdrawn": 1, "failed": 0}
    assert fake_site.paths("/works") == [ao3.work_path(work)]
    after = stored_chapters(ao3_settings)
    assert len(after) == 5  # nothing deleted
    assert after[str(fourth.id)].withdrawn_at is not None
    assert "An added paragraph." in after[str(third.id)].content
    for unchanged in (first, second):  # not written again at all
        assert after[str(unchanged.id)].fetched_at == before[str(unchanged.id)].fetched_at
        assert after[str(unchanged.id)].updated_at == before[str(unchanged.id)].updated_at
    assert after[str(third.id)].fetched_at > before[str(third.id)].fetched_at
    novel = client.get(f"/novels/{job['novel_slug']}").json()
    assert novel["status"] == "ongoing" and novel["chapters_planned"] is None


def test_a_chapter_missing_from_the_page_makes_the_job_partial_and_retry_completes_it(
    client: TestClient, ao3_settings: Settings, fake_site: FakeSite
) -> None:
    work = fake_site.archive.add(ao3.make_work(5301, 4))
    broken = work.chapters[2]
    work.damaged = {broken.id}
    job_id = submit(client, url(fake_site, ao3.work_path(work)))
    burst(ao3_settings)

    job = client.get(f"/jobs/{job_id}").json()
    assert job["status"] == "partial", job
    assert [f["number"] for f in job["failed_chapters"]] == [3]
    assert "has no text" in job["failed_chapters"][0]["error"]
    assert job["stats"]["new"] == 3 and job["stats"]["failed"] == 1

    work.damaged = set()
    fake_site.hits.clear()
    assert client.post(f"/jobs/{job_id}/retry").status_code == 202
    burst(ao3_settings)
    job = client.get(f"/jobs/{job_id}").json()
    assert job["status"] == "done" and job["failed_chapters"] == []
    assert job["stats"] == {"new": 1, "updated": 0, "unchanged": 3, "withdrawn": 0, "failed": 0}
    assert fake_site.paths("/works") == [ao3.work_path(work)]
    assert client.get(f"/novels/{job['novel_slug']}/chapters").json()["total"] == 4


def test_a_restricted_work_fails_saying_it_needs_a_login(
    client: TestClient, ao3_settings: Settings, fake_site: FakeSite
) -> None:
    work = fake_site.archive.add(ao3.make_work(5401, 2, restricted=True))
    job_id = submit(client, url(fake_site, ao3.work_path(work)))
    burst(ao3_settings)
    job = client.get(f"/jobs/{job_id}").json()
    assert job["status"] == "failed" and job["attempts"] == 1
    assert job["error"] == (
        f"this work requires an AO3 login ({url(fake_site, ao3.work_path(work))})"
    )
    assert job["novel_slug"] is None
    assert client.get("/novels").json()["total"] == 0  # never an empty novel


def test_a_series_ingests_each_work_as_its_own_novel_linked_to_the_series(
    client: TestClient, ao3_settings: Settings, fake_site: FakeSite, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(ao3, "SERIES_PAGE_SIZE", 2)  # three works: the listing takes two pages
    works = [
        fake_site.archive.add(ao3.make_work(5501, 1)),
        fake_site.archive.add(ao3.make_work(5502, 3)),
        fake_site.archive.add(ao3.make_work(5503, 2, restricted=True)),
    ]
    series = fake_site.archive.add_series(
        ao3.FakeSeries(77, "The Placeholder Cycle", "quill", [w.id for w in works])
    )
    for part, work in enumerate(works, start=1):
        work.series = [(series.id, series.title, part)]
    job_id = submit(client, url(fake_site, ao3.series_path(series)))
    burst(ao3_settings)  # the series job queues three jobs; the same burst runs them

    job = client.get(f"/jobs/{job_id}").json()
    assert job["status"] == "done", job
    assert job["stats"] == {"works": 3, "queued": 3, "already_queued": 0}
    assert job["novel_slug"] is None and job["series_id"]
    assert fake_site.paths("/series") == [ao3.series_path(series)] * 2  # page 1, page 2

    shown = client.get(f"/series/{job['series_id']}").json()
    assert shown["title"] == series.title and shown["works_count"] == 3
    assert shown["status"] == "ongoing" and shown["author"] == "quill"
    listed = [(w["position"], w["title"], w["job_status"]) for w in shown["works"]]
    assert listed == [
        (1, works[0].title, "done"),
        (2, works[1].title, "done"),
        (3, works[2].title, "failed"),  # restricted: listed, not stored
    ]
    slugs = [w["novel_slug"] for w in shown["works"]]
    assert slugs[0] and slugs[1] and slugs[2] is None
    novel = client.get(f"/novels/{slugs[1]}").json()
    assert novel["series"] == [
        {"series_id": job["series_id"], "title": series.title, "position": 2}
    ]
    assert client.get(f"/novels/{slugs[1]}/chapters").json()["total"] == 3
    assert client.get("/series").json()["total"] == 1

    # Read again: no work is queued twice while its job is active, and nothing is duplicated.
    again = submit(client, url(fake_site, ao3.series_path(series)))
    burst(ao3_settings)
    assert client.get(f"/jobs/{again}").json()["stats"]["works"] == 3
    assert client.get("/novels").json()["total"] == 2
    assert len(client.get(f"/series/{job['series_id']}").json()["works"]) == 3


def test_a_429_with_retry_after_pauses_every_request_to_ao3(
    client: TestClient, ao3_settings: Settings, fake_site: FakeSite
) -> None:
    work = fake_site.archive.add(ao3.make_work(5601, 2))
    fake_site.once[ao3.work_path(work)] = (429, {"Retry-After": "3"})
    job_id = submit(client, url(fake_site, ao3.work_path(work)))
    worker = subprocess.Popen(
        [sys.executable, "-m", "chapterhouse", "worker", "--burst"],
        env=settings_env(ao3_settings),
    )
    notes = set()
    while worker.poll() is None:
        note = client.get(f"/jobs/{job_id}").json()["note"]
        if note:
            notes.add(note)
        time.sleep(0.1)
    assert worker.returncode == 0
    assert any(n.startswith(f"waiting for {fake_site.host} until ") for n in notes), notes
    hits = [h for h in fake_site.hits if h.path.startswith("/works")]
    assert [h.status for h in hits] == [429, 200]
    assert hits[1].at - hits[0].at >= 3.0  # Retry-After honoured
    job = client.get(f"/jobs/{job_id}").json()
    assert job["status"] == "done" and job["note"] is None


def test_default_politeness_keeps_two_workers_one_request_at_a_time_five_seconds_apart(
    ao3_settings: Settings, fake_site: FakeSite
) -> None:
    polite = ao3_settings.model_copy(update={"download_delay": None})  # AO3's own defaults
    works = [fake_site.archive.add(ao3.make_work(5700 + i, 2)) for i in range(2)]
    with TestClient(create_app(polite)) as client:
        job_ids = [submit(client, url(fake_site, ao3.work_path(w))) for w in works]
        env = settings_env(polite)
        command = [sys.executable, "-m", "chapterhouse", "worker", "--burst"]
        workers = [subprocess.Popen(command, env=env) for _ in range(2)]
        assert [w.wait(timeout=100) for w in workers] == [0, 0]
        statuses = [client.get(f"/jobs/{j}").json()["status"] for j in job_ids]
    assert statuses == ["done", "done"]
    hits = sorted(fake_site.hits, key=lambda h: h.at)  # robots.txt and the two works
    assert sorted(h.path for h in hits if h.path.startswith("/works")) == sorted(
        ao3.work_path(w) for w in works
    )
    gaps = [b.at - a.at for a, b in itertools.pairwise(hits)]
    assert min(gaps) >= 5.0, gaps
