"""Abuse limits: submissions per client per window, active jobs per client, body size."""

from __future__ import annotations

import json
from collections.abc import Iterator

from fastapi.testclient import TestClient
from sqlalchemy import func, select

from chapterhouse.api.app import create_app
from chapterhouse.config import Settings
from chapterhouse.db.jobs import set_job
from chapterhouse.db.models import IngestionJob, JobStatus
from chapterhouse.services import Runtime
from tests.api import QUEUE_KEY, api_client

KEY_A = "limits-key-aaaaaaaa"
KEY_B = "limits-key-bbbbbbbb"
JSON = {"content-type": "application/json"}


def novel(number: int) -> dict[str, str]:
    """A submission body for a distinct Royal Road fiction."""
    return {"url": f"https://www.royalroad.com/fiction/{1000 + number}/novel-{number}"}


def bearer(key: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {key}"}


def job_count(runtime: Runtime) -> int:
    with runtime.sessions() as session:
        return session.scalar(select(func.count()).select_from(IngestionJob)) or 0


def test_submissions_over_the_rate_are_refused_with_retry_after(
    settings: Settings, runtime: Runtime
) -> None:
    limited = settings.model_copy(update={"ingest_rate_limit": 3, "ingest_rate_window": 60})
    with api_client(limited) as client:
        # Resubmitting an active novel (200) counts as a request like any other.
        codes = [client.post("/ingest", json=novel(n % 2)).status_code for n in range(3)]
        assert codes == [202, 202, 200]
        refused = client.post("/ingest", json=novel(7))
    assert refused.status_code == 429
    assert 1 <= int(refused.headers["Retry-After"]) <= 60
    body = refused.json()
    assert (body["setting"], body["limit"]) == ("CHAPTERHOUSE_INGEST_RATE_LIMIT", 3)
    assert "CHAPTERHOUSE_INGEST_RATE_LIMIT is 3 per 60 s" in body["detail"]
    assert job_count(runtime) == 2  # the refused submission wrote nothing
    assert runtime.redis.llen(QUEUE_KEY) == 2


def test_the_rate_is_per_client_by_key_or_address(settings: Settings) -> None:
    keyed = settings.model_copy(update={"ingest_rate_limit": 1, "api_keys": f"{KEY_A},{KEY_B}"})
    with api_client(keyed) as client:
        assert client.post("/ingest", json=novel(1), headers=bearer(KEY_A)).status_code == 202
        assert client.post("/ingest", json=novel(2), headers=bearer(KEY_A)).status_code == 429
        assert client.post("/ingest", json=novel(3), headers=bearer(KEY_B)).status_code == 202
    by_address = settings.model_copy(update={"ingest_rate_limit": 1})
    # One app per client address: each TestClient runs the app on an event loop of its own.
    with (
        TestClient(create_app(by_address), client=("192.0.2.1", 4000)) as first,
        TestClient(create_app(by_address), client=("192.0.2.2", 4000)) as second,
    ):
        assert first.post("/ingest", json=novel(4)).status_code == 202
        assert first.post("/ingest", json=novel(5)).status_code == 429
        assert second.post("/ingest", json=novel(6)).status_code == 202


def test_the_rate_is_shared_by_every_api_process(settings: Settings) -> None:
    # Two apps (two API processes, as behind a load balancer) count in the same Redis.
    limited = settings.model_copy(update={"ingest_rate_limit": 2})
    with api_client(limited) as one, api_client(limited) as two:
        assert one.post("/ingest", json=novel(1)).status_code == 202
        assert two.post("/ingest", json=novel(2)).status_code == 202
        assert one.post("/ingest", json=novel(3)).status_code == 429
        assert two.post("/ingest", json=novel(4)).status_code == 429


def test_a_rate_of_zero_turns_the_limit_off(settings: Settings) -> None:
    unlimited = settings.model_copy(update={"ingest_rate_limit": 0})
    with api_client(unlimited) as client:
        codes = {client.post("/ingest", json=novel(n)).status_code for n in range(8)}
    assert codes == {202}


def test_a_client_may_have_only_so_many_active_jobs(settings: Settings, runtime: Runtime) -> None:
    capped = settings.model_copy(
        update={"max_active_jobs_per_client": 2, "api_keys": f"{KEY_A},{KEY_B}"}
    )
    with api_client(capped) as client:
        first = client.post("/ingest", json=novel(1), headers=bearer(KEY_A)).json()
        assert client.post("/ingest", json=novel(2), headers=bearer(KEY_A)).status_code == 202
        refused = client.post("/ingest", json=novel(3), headers=bearer(KEY_A))
        assert refused.status_code == 429
        assert "Retry-After" not in refused.headers
        body = refused.json()
        assert (body["setting"], body["limit"]) == ("CHAPTERHOUSE_MAX_ACTIVE_JOBS_PER_CLIENT", 2)
        assert "has 2 queued or running" in body["detail"]
        # Asking again for a novel already under way is not a new job: it is answered.
        again = client.post("/ingest", json=novel(1), headers=bearer(KEY_A))
        assert again.status_code == 200 and again.json()["job_id"] == first["job_id"]
        # Another client has its own allowance.
        assert client.post("/ingest", json=novel(4), headers=bearer(KEY_B)).status_code == 202
        # Once a job ends, there is room again.
        with runtime.sessions() as session:
            set_job(session, first["job_id"], status=JobStatus.DONE)
        assert client.post("/ingest", json=novel(3), headers=bearer(KEY_A)).status_code == 202
    assert job_count(runtime) == 4


def test_jobs_record_the_address_of_a_client_without_keys(
    settings: Settings, runtime: Runtime
) -> None:
    with TestClient(create_app(settings), client=("198.51.100.7", 5000)) as client:
        assert client.post("/ingest", json=novel(1)).status_code == 202
    with runtime.sessions() as session:
        assert session.scalars(select(IngestionJob.client)).one() == "ip:198.51.100.7"


def chunked(size: int) -> Iterator[bytes]:
    """A JSON body of about `size` bytes, sent in chunks without a Content-Length."""
    yield b'{"url": "https://www.royalroad.com/fiction/21220/'
    for _ in range(size // 100):
        yield b"a" * 100
    yield b'"}'


def test_bodies_over_the_cap_are_refused_naming_the_setting(
    settings: Settings, runtime: Runtime
) -> None:
    capped = settings.model_copy(update={"max_body_bytes": 1000})
    expected = {
        "detail": "request body is larger than CHAPTERHOUSE_MAX_BODY_BYTES (1000 bytes)",
        "setting": "CHAPTERHOUSE_MAX_BODY_BYTES",
        "limit": 1000,
    }
    with api_client(capped) as client:
        declared = client.post("/ingest", content=json.dumps(novel(1) | {"x": "a" * 2000}))
        assert (declared.status_code, declared.json()) == (413, expected)
        streamed = client.post("/ingest", content=chunked(2000), headers=JSON)
        assert (streamed.status_code, streamed.json()) == (413, expected)
        # Any route: the cap holds before routing.
        assert client.post("/queue/pause", content=chunked(2000)).status_code == 413
        # A chunked body under the cap reaches the route whole.
        small = client.post(
            "/ingest",
            content=iter([b'{"url": ', b'"%s"}' % novel(2)["url"].encode()]),
            headers=JSON,
        )
        assert small.status_code == 202, small.text
    assert job_count(runtime) == 1


def test_the_body_cap_follows_its_setting(settings: Settings) -> None:
    # 100 kB is over the default (64 KiB) but under this cap: the route judges the URL.
    roomy = settings.model_copy(update={"max_body_bytes": 200_000})
    with api_client(roomy) as client:
        response = client.post("/ingest", content=chunked(100_000), headers=JSON)
    assert response.status_code == 422
    assert "longer than 2048 characters" in response.json()["detail"]
