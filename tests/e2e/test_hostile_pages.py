"""Hostile pages never take a worker down: the page's chapter fails (or its job), with the reason,
and whatever was stored stays. A real worker crawls the fake site serving them."""

from __future__ import annotations

import gzip
import itertools
import random
import re
from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient

from chapterhouse.api.app import create_app
from chapterhouse.config import Settings
from tests.conftest import run_cli
from tests.fakesite import royalroad
from tests.fakesite.server import FakeSite, RawAnswer

pytestmark = pytest.mark.e2e

MAX_BYTES = 2_000_000
CAP_REASON = f"larger than CHAPTERHOUSE_MAX_PAGE_BYTES ({MAX_BYTES} bytes)"
CONTENT = '<div class="chapter-inner chapter-content">'
# Characters no stored text may hold: C0 controls but tab, newline and CR.
CONTROL = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f]")


@pytest.fixture
def hostile_settings(site_settings: Settings) -> Settings:
    return site_settings.model_copy(update={"max_page_bytes": MAX_BYTES})


@pytest.fixture
def client(hostile_settings: Settings) -> Iterator[TestClient]:
    with TestClient(create_app(hostile_settings)) as client:
        yield client


def submit(client: TestClient, url: str) -> int:
    response = client.post("/ingest", json={"url": url})
    assert response.status_code == 202, response.text
    return int(response.json()["job_id"])


def burst(settings: Settings) -> None:
    result = run_cli(settings, "worker", "--burst", timeout=240)
    assert result.returncode == 0, result.stderr[-2000:]


def html(body: str | bytes, **headers: str) -> RawAnswer:
    data = body.encode("utf-8") if isinstance(body, str) else body
    return RawAnswer(data, headers={"Content-Type": "text/html; charset=utf-8", **headers})


def endless(unit: bytes) -> RawAnswer:
    """A text/html body that never ends (no Content-Length): `unit` forever."""
    return RawAnswer(lambda: itertools.repeat(unit), headers={"Content-Type": "text/html"})


def junk(size: int, seed: int) -> bytes:
    """Random bytes, NULs and control characters included: a binary file sent as text/html."""
    return random.Random(seed).randbytes(size)


def inside(page: str, markup: bytes) -> bytes:
    """The chapter page's bytes with `markup` at the start of its content."""
    head, _, tail = page.partition(CONTENT)
    return head.encode() + CONTENT.encode() + markup + tail.encode()


def test_hostile_chapter_pages_fail_alone_and_the_rest_is_stored(
    client: TestClient, hostile_settings: Settings, fake_site: FakeSite
) -> None:
    fiction = fake_site.add(royalroad.make_fiction(3201, 9))
    pages = {c.id: royalroad.chapter_html(fiction, c) for c in fiction.chapters}
    paths = [royalroad.chapter_path(fiction, c) for c in fiction.chapters]
    ids = [c.id for c in fiction.chapters]
    deep = b"<p>Before the abyss.</p>" + b"<div>" * 100_000 + b"bottom" + b"</div>" * 100_000
    mixed = "<p>Caf\u00e9 au lait, \u201cquoted\u201d.</p>".encode() + "na\u00efve".encode("cp1252")
    answers = {
        # 2: over the cap, announced by Content-Length.
        2: html(b"<p>" + b"word " * (MAX_BYTES // 5 + 1000) + b"</p>"),
        # 3: nested 100,000 deep: read as far as the parser goes; the text before it is kept.
        3: html(inside(pages[ids[2]], deep)),
        # 4: UTF-8 and cp1252 mixed, under a <meta> claiming Shift JIS.
        4: html(inside(pages[ids[3]].replace("<head>", '<head><meta charset="shift_jis">'), mixed)),
        # 5: binary bytes (NULs, control characters) in the middle of the content.
        5: html(inside(pages[ids[4]], junk(50_000, seed=5))),
        # 6: a binary file labelled text/html.
        6: html(junk(200_000, seed=6)),
        # 7: a gzip bomb: 40 MB of zeros in a few kB.
        7: html(gzip.compress(b"\0" * 40_000_000), **{"Content-Encoding": "gzip"}),
        # 8: a body that never ends.
        8: endless(b"<p>" + b"again " * 10_000 + b"</p>"),
        # 9: the wrong encoding announced (UTF-16 for UTF-8 bytes).
        9: html(pages[ids[8]], **{"Content-Type": "text/html; charset=utf-16"}),
    }
    for number, answer in answers.items():
        fake_site.raw[paths[number - 1]] = answer
    job_id = submit(client, fake_site.url(fiction))

    burst(hostile_settings)

    job = client.get(f"/jobs/{job_id}").json()
    assert job["status"] == "partial", job
    reasons = {c["number"]: c["error"] for c in job["failed_chapters"]}
    assert sorted(reasons) == [2, 6, 7, 8, 9]
    assert reasons[2].endswith(f"was not fetched: the page is {CAP_REASON}")
    assert reasons[7].endswith(f"the page is {CAP_REASON} once decompressed")
    assert reasons[8].endswith(f"was not fetched: the page is {CAP_REASON}")
    for number in (6, 9):
        assert "the chapter content (selector 'div.chapter-content') is missing" in reasons[number]

    slug = job["novel_slug"]
    stored = client.get(f"/novels/{slug}/chapters").json()["items"]
    assert [c["number"] for c in stored] == [1, 3, 4, 5]
    contents = {n: client.get(f"/novels/{slug}/chapters/{n}").json()["content"] for n in (3, 4, 5)}
    assert "Before the abyss." in contents[3]
    assert "Caf\u00e9 au lait, \u201cquoted\u201d." in contents[4]
    assert all(not CONTROL.search(content) for content in contents.values())


def test_hostile_novel_pages_fail_the_job_and_keep_what_was_stored(
    client: TestClient, hostile_settings: Settings, fake_site: FakeSite
) -> None:
    kept = fake_site.add(royalroad.make_fiction(3301, 3))
    first = submit(client, fake_site.url(kept))
    burst(hostile_settings)
    assert client.get(f"/jobs/{first}").json()["status"] == "done"

    # A table of contents that never ends: chapter rows, forever.
    row = b'<tr class="chapter-row"><td><a href="/fiction/3301/x/chapter/1/y">More</a></td></tr>\n'
    fake_site.raw[royalroad.fiction_path(kept)] = endless(row * 100)
    binary = fake_site.add(royalroad.make_fiction(3302, 2))
    fake_site.raw[royalroad.fiction_path(binary)] = html(junk(300_000, seed=3302))
    nested = fake_site.add(royalroad.make_fiction(3303, 2))
    fake_site.raw[royalroad.fiction_path(nested)] = html(
        b"<div>" * 100_000 + royalroad.fiction_html(nested).encode() + b"</div>" * 100_000
    )
    again, broken, deep = (submit(client, fake_site.url(f)) for f in (kept, binary, nested))

    burst(hostile_settings)

    endless_job = client.get(f"/jobs/{again}").json()
    assert endless_job["status"] == "failed"
    assert endless_job["error"].endswith(f"was not fetched: the page is {CAP_REASON}")
    slug = endless_job["novel_slug"] or client.get(f"/jobs/{first}").json()["novel_slug"]
    assert client.get(f"/novels/{slug}/chapters").json()["total"] == 3  # all still there
    for job_id in (broken, deep):
        job = client.get(f"/jobs/{job_id}").json()
        assert job["status"] == "failed"
        assert "the fiction title (selector '.fic-title h1') is missing" in job["error"]


def test_a_table_of_contents_past_the_chapter_cap_stops_there(
    hostile_settings: Settings, fake_site: FakeSite
) -> None:
    capped = hostile_settings.model_copy(update={"max_chapters": 5})
    fiction = fake_site.add(royalroad.make_fiction(3401, 40))
    with TestClient(create_app(capped)) as client:
        job_id = submit(client, fake_site.url(fiction))
        burst(capped)
        job = client.get(f"/jobs/{job_id}").json()
        assert job["status"] == "partial"
        assert job["error"] == (
            f"{fake_site.url(fiction)} lists 40 chapters, more than "
            "CHAPTERHOUSE_MAX_CHAPTERS (5): only the first 5 were taken"
        )
        assert job["progress"] == {"done": 5, "total": 5}
        stored = client.get(f"/novels/{job['novel_slug']}/chapters").json()
    assert [c["number"] for c in stored["items"]] == [1, 2, 3, 4, 5]
    assert len(fake_site.paths(royalroad.fiction_path(fiction) + "/chapter/")) == 5
