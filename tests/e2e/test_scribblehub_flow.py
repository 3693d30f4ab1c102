"""Scribble Hub end to end: API → Redis → a real worker → the fake site (series page, the
admin-ajax POST for the whole table of contents, chapter pages) → PostgreSQL → read API.
Incremental updates, partial failures, robots.txt and the shared politeness, on its pages."""

from __future__ import annotations

import dataclasses
import itertools
import subprocess
import sys
from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from chapterhouse.api.app import create_app
from chapterhouse.config import Settings
from chapterhouse.db.models import Chapter
from chapterhouse.services import Runtime
from tests.conftest import run_cli, settings_env
from tests.fakesite import scribblehub
from tests.fakesite.server import FakeSite

pytestmark = pytest.mark.e2e

AJAX = scribblehub.AJAX_PATH


@pytest.fixture
def sh_settings(settings: Settings, fake_site: FakeSite) -> Settings:
    """Test settings with the fake site's host mapped onto Scribble Hub, and its robots.txt."""
    fake_site.robots = scribblehub.ROBOTS_TXT
    return settings.model_copy(update={"site_hosts": f"{fake_site.host}=scribblehub"})


@pytest.fixture
def client(sh_settings: Settings) -> Iterator[TestClient]:
    with TestClient(create_app(sh_settings)) as client:
        yield client


def submit(client: TestClient, url: str) -> int:
    response = client.post("/ingest", json={"url": url})
    assert response.status_code == 202, response.text
    return int(response.json()["job_id"])


def burst(settings: Settings) -> None:
    result = run_cli(settings, "worker", "--burst")
    assert result.returncode == 0, result.stderr[-2000:]


def requests(site: FakeSite) -> list[tuple[str, str]]:
    """(method, path) of every request but robots.txt, in arrival order."""
    with site.lock:
        return [(hit.method, hit.path) for hit in site.hits if hit.path != "/robots.txt"]


def stored_chapters(settings: Settings) -> dict[str, Chapter]:
    rt = Runtime(settings)
    with rt.sessions() as session:
        rows = {c.site_chapter_id: c for c in session.scalars(select(Chapter))}
    rt.close()
    return rows


def test_a_series_is_crawled_with_its_whole_toc_in_reading_order(
    client: TestClient, sh_settings: Settings, fake_site: FakeSite
) -> None:
    series = fake_site.add_series(
        scribblehub.make_series(
            5101, 20, genres=["Sci-fi", "Fantasy"], tags=["Portal Fantasy", "Magic"]
        )
    )
    job_id = submit(client, fake_site.series_url(series))
    burst(sh_settings)

    job = client.get(f"/jobs/{job_id}").json()
    assert job["status"] == "done", job
    assert job["progress"] == {"done": 20, "total": 20}
    # The series page (15 rows), one POST for every row, then each chapter once, oldest first.
    assert requests(fake_site) == [
        ("GET", scribblehub.series_path(series)),
        ("POST", AJAX),
        *[("GET", scribblehub.chapter_path(series, c)) for c in series.chapters],
    ]
    ajax = next(hit for hit in fake_site.hits if hit.method == "POST")
    assert ajax.form == {
        "action": "wi_getreleases_pagination",
        "pagenum": "-1",
        "mypostid": str(series.id),
    }
    assert ajax.cookies.get("toc_sorder") == "asc"
    assert ajax.status == 200  # robots.txt (WordPress's) allows admin-ajax.php

    slug = job["novel_slug"]
    novel = client.get(f"/novels/{slug}").json()
    assert (novel["site"], novel["title"], novel["author"]) == (
        "scribblehub",
        series.title,
        series.author,
    )
    assert novel["rating"] == 4.5 and novel["status"] == "ongoing"
    # Genres and tags kept apart as the site groups them, all normalised into the genres.
    assert novel["tag_groups"] == {
        "genres": ["Sci-fi", "Fantasy"],
        "tags": ["Portal Fantasy", "Magic"],
    }
    assert {g["slug"] for g in novel["genres"]} == {"science-fiction", "fantasy", "isekai", "magic"}

    chapters = client.get(f"/novels/{slug}/chapters", params={"limit": 50}).json()
    assert chapters["total"] == 20
    assert [c["title"] for c in chapters["items"]] == [c.title for c in series.chapters]
    assert [c["number"] for c in chapters["items"]] == list(range(1, 21))

    second = client.get(f"/novels/{slug}/chapters/2").json()
    assert series.chapters[1].paragraphs[0] in second["content"]
    assert second["note_before"] == "<p>Placeholder note before the chapter.</p>"
    assert second["note_after"] == "<p>Placeholder note after the chapter.</p>"
    for extra in ("Placeholder note", "Previous", "Next", "class="):
        assert extra not in second["content"]
    assert (second["prev"], second["next"]) == (1, 3)
    rows = stored_chapters(sh_settings)
    assert set(rows) == {str(c.id) for c in series.chapters}  # keyed by the site's chapter id


def test_an_update_fetches_only_new_and_renamed_chapters_and_flags_withdrawn_ones(
    client: TestClient, sh_settings: Settings, fake_site: FakeSite
) -> None:
    series = fake_site.add_series(scribblehub.make_series(5102, 18))
    submit(client, fake_site.series_url(series))
    burst(sh_settings)

    # The third chapter (only in the admin-ajax list, not on the series page) is taken down,
    # the seventeenth renamed, and two new ones released.
    gone = series.chapters[2]
    renamed = dataclasses.replace(series.chapters[16], title="Chapter 17 (revised)")
    released = scribblehub.make_series(5102, 20).chapters[18:]
    changed = dataclasses.replace(
        series,
        chapters=[*series.chapters[:2], *series.chapters[3:16], renamed, series.chapters[17],
                  *released],
    )  # fmt: skip
    fake_site.add_series(changed)
    fake_site.hits.clear()
    job_id = submit(client, fake_site.series_url(changed))
    burst(sh_settings)

    job = client.get(f"/jobs/{job_id}").json()
    assert job["status"] == "done", job
    assert job["stats"] == {"new": 2, "updated": 1, "unchanged": 16, "withdrawn": 1, "failed": 0}
    assert requests(fake_site) == [
        ("GET", scribblehub.series_path(changed)),
        ("POST", AJAX),
        ("GET", scribblehub.chapter_path(changed, renamed)),
        *[("GET", scribblehub.chapter_path(changed, c)) for c in released],
    ]
    rows = stored_chapters(sh_settings)
    assert len(rows) == 20  # 18 + 2 released: nothing deleted
    assert rows[str(gone.id)].withdrawn_at is not None
    assert rows[str(renamed.id)].title == "Chapter 17 (revised)"
    assert all(c.withdrawn_at is None for key, c in rows.items() if key != str(gone.id))
    # Positions follow the site's new list: the chapter after the withdrawn one moved up.
    assert rows[str(series.chapters[3].id)].number == 3
    assert rows[str(released[-1].id)].number == 19


def test_a_failed_chapter_makes_the_job_partial_and_retry_fetches_only_it(
    client: TestClient, sh_settings: Settings, fake_site: FakeSite
) -> None:
    series = fake_site.add_series(scribblehub.make_series(5103, 17))
    broken = scribblehub.chapter_path(series, series.chapters[2])
    fake_site.failures[broken] = 500
    job_id = submit(client, fake_site.series_url(series))
    burst(sh_settings)

    job = client.get(f"/jobs/{job_id}").json()
    assert job["status"] == "partial"
    assert [f["number"] for f in job["failed_chapters"]] == [3]
    assert "HTTP 500" in job["failed_chapters"][0]["error"]
    assert job["stats"]["new"] == 16 and job["stats"]["failed"] == 1

    del fake_site.failures[broken]
    fake_site.hits.clear()
    assert client.post(f"/jobs/{job_id}/retry").status_code == 202
    burst(sh_settings)

    job = client.get(f"/jobs/{job_id}").json()
    assert job["status"] == "done" and job["failed_chapters"] == []
    assert requests(fake_site) == [
        ("GET", scribblehub.series_path(series)),
        ("POST", AJAX),
        ("GET", broken),
    ]
    assert client.get(f"/novels/{job['novel_slug']}/chapters").json()["total"] == 17


def test_a_toc_that_cannot_be_fetched_fails_the_update_and_withdraws_nothing(
    client: TestClient, sh_settings: Settings, fake_site: FakeSite
) -> None:
    series = fake_site.add_series(scribblehub.make_series(5104, 17))
    submit(client, fake_site.series_url(series))
    burst(sh_settings)
    fake_site.failures[AJAX] = 500
    fake_site.hits.clear()

    job_id = submit(client, fake_site.series_url(series))
    burst(sh_settings)

    job = client.get(f"/jobs/{job_id}").json()
    assert job["status"] == "failed"
    assert job["error"] == f"POST http://{fake_site.host}{AJAX} answered HTTP 500"
    # Only the two oldest chapters are missing from the series page: none is flagged for it.
    assert all(c.withdrawn_at is None for c in stored_chapters(sh_settings).values())
    assert all("/chapter/" not in path for _, path in requests(fake_site))


def test_robots_txt_forbidding_admin_ajax_fails_the_job_saying_so(
    client: TestClient, sh_settings: Settings, fake_site: FakeSite
) -> None:
    series = fake_site.add_series(scribblehub.make_series(5105, 16))
    fake_site.robots = "User-agent: *\nDisallow: /wp-admin/\n"
    job_id = submit(client, fake_site.series_url(series))
    burst(sh_settings)

    job = client.get(f"/jobs/{job_id}").json()
    assert job["status"] == "failed"
    assert f"POST http://{fake_site.host}{AJAX} was not fetched" in job["error"]
    assert "robots.txt" in job["error"]
    assert requests(fake_site) == [("GET", scribblehub.series_path(series))]


def test_a_short_series_needs_no_admin_ajax_request(
    client: TestClient, sh_settings: Settings, fake_site: FakeSite
) -> None:
    series = fake_site.add_series(scribblehub.make_series(5106, 3))
    job_id = submit(client, fake_site.series_url(series))
    burst(sh_settings)
    assert client.get(f"/jobs/{job_id}").json()["status"] == "done"
    assert [method for method, _ in requests(fake_site)] == ["GET"] * 4


def test_two_workers_keep_scribble_hubs_own_politeness_and_pause_together_on_429(
    sh_settings: Settings, fake_site: FakeSite
) -> None:
    # Nothing configured: the site's defaults hold, one request at a time at least 2 s apart.
    polite = sh_settings.model_copy(update={"download_delay": None, "site_limits": {}})
    # One TOC row per page, so even two-chapter series need the admin-ajax POST.
    series = [
        fake_site.add_series(scribblehub.make_series(5110 + i, 2, toc_page_size=1))
        for i in range(2)
    ]
    fake_site.once[AJAX] = (429, {"Retry-After": "3"})  # the first POST is throttled once
    with TestClient(create_app(polite)) as client:
        job_ids = [submit(client, fake_site.series_url(s)) for s in series]
        env = settings_env(polite)
        command = [sys.executable, "-m", "chapterhouse", "worker", "--burst"]
        workers = [subprocess.Popen(command, env=env) for _ in range(2)]
        assert [w.wait(timeout=240) for w in workers] == [0, 0]
        statuses = [client.get(f"/jobs/{j}").json()["status"] for j in job_ids]
    assert statuses == ["done", "done"]

    hits = [hit for hit in fake_site.hits if hit.path != "/robots.txt"]
    # Two series pages, two POSTs and a throttled one retried, four chapters.
    assert len(hits) == 2 * 4 + 1
    assert sum(hit.method == "POST" for hit in hits) == 3
    gaps = [b.at - a.at for a, b in itertools.pairwise(hits)]
    assert min(gaps) >= 2.0, sorted(gaps)[:3]
    throttled_at = next(hit.at for hit in hits if hit.status == 429)
    after = [hit for hit in hits if hit.at > throttled_at]
    assert after and after[0].at - throttled_at >= 3.0  # both workers waited, not only one


def test_sites_lists_scribble_hub_with_its_politeness(sh_settings: Settings) -> None:
    result = run_cli(sh_settings, "sites")
    assert result.returncode == 0, result.stderr
    row = next(line for line in result.stdout.splitlines() if "scribblehub" in line)
    assert "Scribble Hub" in row and "www.scribblehub.com" in row
    assert "1 at a time, 2 s apart" in row
