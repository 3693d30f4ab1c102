"""API keys: with `CHAPTERHOUSE_API_KEYS` set, no write (and, when closed, no read) without one."""

from __future__ import annotations

import base64
import hashlib
import os
import re
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from sqlalchemy import func, select
from werkzeug.test import Client as WsgiClient

from chapterhouse.api.security import matching_key
from chapterhouse.config import Settings
from chapterhouse.dashboard import make_guarded_dashboard
from chapterhouse.db.models import IngestionJob
from chapterhouse.services import Runtime
from tests.api import MOTHER_OF_LEARNING, QUEUE_KEY, TestClient, api_client
from tests.conftest import settings_env
from tests.test_dashboard import free_port

KEY = "test-key-one-0123456789"
OTHER_KEY = "test-key-two-9876543210"
METRICS_TOKEN = "metrics-token-abcdef"
# Path parameters for operations that need them; the door must hold whatever they name.
PATH_VALUES = {"job_id": "1", "slug": "some-novel", "domain": "royalroad", "number": "1"}


@pytest.fixture
def keyed(settings: Settings) -> Settings:
    """Settings with two API keys; reads stay public."""
    return settings.model_copy(update={"api_keys": f"{KEY}, {OTHER_KEY}"})


@pytest.fixture
def client(keyed: Settings) -> Iterator[TestClient]:
    """A client on an app that has API keys."""
    with api_client(keyed) as client:
        yield client


def bearer(key: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {key}"}


def operations(client: TestClient, *, writes: bool) -> list[tuple[str, str]]:
    """(method, concrete path) of every write (or every read) in the OpenAPI schema."""
    found = []
    for path, ops in client.get("/openapi.json").json()["paths"].items():
        concrete = re.sub(r"\{(\w+)\}", lambda m: PATH_VALUES.get(m.group(1), "1"), path)
        for method in ops:
            if (method != "get") == writes:
                found.append((method.upper(), concrete))
    return found


def job_count(runtime: Runtime) -> int:
    with runtime.sessions() as session:
        return session.scalar(select(func.count()).select_from(IngestionJob)) or 0


def test_every_write_endpoint_refuses_requests_without_a_valid_key(
    client: TestClient, runtime: Runtime
) -> None:
    writes = operations(client, writes=True)
    # The door list is the schema's, so a new write route is tried too; these must be in it.
    assert {
        ("POST", "/ingest"),
        ("POST", "/jobs/1/retry"),
        ("POST", "/jobs/1/cancel"),
        ("DELETE", "/jobs/1"),
        ("POST", "/jobs/retry-failed"),
        ("POST", "/novels/some-novel/follow"),
        ("DELETE", "/novels/some-novel/follow"),
        ("POST", "/queue/pause"),
        ("POST", "/queue/resume"),
        ("POST", "/queue/drain"),
        ("POST", "/domains/royalroad/pause"),
        ("POST", "/domains/royalroad/resume"),
    } <= set(writes)
    body = {"url": MOTHER_OF_LEARNING}
    for method, path in writes:
        missing = client.request(method, path, json=body)
        assert missing.status_code == 401, (method, path, missing.text)
        assert missing.headers["WWW-Authenticate"] == 'Bearer realm="chapterhouse"'
        assert "API key is required" in missing.json()["detail"]
        for malformed in ("Basic dXNlcjpwYXNz", "Bearer", f"Bearer {KEY} extra", KEY):
            response = client.request(method, path, json=body, headers={"Authorization": malformed})
            assert response.status_code == 401, (method, path, malformed)
            assert 'error="invalid_request"' in response.headers["WWW-Authenticate"]
        for wrong in ("not-a-key", KEY[:-1], KEY + "x", METRICS_TOKEN):
            response = client.request(method, path, json=body, headers=bearer(wrong))
            assert response.status_code == 403, (method, path, wrong)
            assert response.json() == {"detail": "this API key is not accepted"}
    # Nothing got through: no job, nothing queued, the queue not paused.
    assert job_count(runtime) == 0
    assert runtime.redis.llen(QUEUE_KEY) == 0
    assert client.get("/queue").json()["paused"] is False


def test_a_valid_key_opens_every_write(client: TestClient, runtime: Runtime) -> None:
    response = client.post("/ingest", json={"url": MOTHER_OF_LEARNING}, headers=bearer(KEY))
    assert response.status_code == 202
    assert client.post("/queue/pause", headers=bearer(OTHER_KEY.upper())).status_code == 403
    assert client.post("/queue/pause", headers=bearer(OTHER_KEY)).json()["paused"] is True
    # The scheme is case-insensitive (RFC 7235); the key is not.
    headers = {"Authorization": f"bearer {KEY}"}
    assert client.post("/jobs/1/cancel", headers=headers).json()["status"] == "canceled"
    assert job_count(runtime) == 1


def test_the_job_records_a_hash_of_the_key_never_the_key(
    client: TestClient, runtime: Runtime
) -> None:
    client.post("/ingest", json={"url": MOTHER_OF_LEARNING}, headers=bearer(KEY))
    with runtime.sessions() as session:
        job = session.scalars(select(IngestionJob)).one()
    assert job.client == "key:" + hashlib.sha256(KEY.encode()).hexdigest()[:16]
    assert KEY not in (job.client or "")


def test_reads_are_open_unless_closed_by_setting(keyed: Settings) -> None:
    with api_client(keyed) as client:
        reads = operations(client, writes=False)
        assert ("GET", "/novels") in reads and ("GET", "/jobs/1/events") in reads
        for method, path in reads:
            if path == "/metrics":
                continue
            response = client.request(method, path)
            assert response.status_code not in (401, 403), (path, response.text)
    closed = keyed.model_copy(update={"public_reads": False})
    with api_client(closed) as client:
        for method, path in reads:
            if path in ("/metrics", "/health"):  # their own rules, tested below
                continue
            response = client.request(method, path)
            assert response.status_code == 401, (path, response.text)
            response = client.request(method, path, headers=bearer("wrong-key"))
            assert response.status_code == 403, path
        assert client.get("/novels", headers=bearer(KEY)).status_code == 200
        assert client.get("/jobs/1/events", headers=bearer(KEY)).status_code == 404


def test_health_and_docs_stay_open_for_probes_and_people(keyed: Settings) -> None:
    closed = keyed.model_copy(update={"public_reads": False})
    with api_client(closed) as client:
        assert client.get("/health").status_code == 200
        assert client.get("/openapi.json").status_code == 200
        assert client.get("/docs").status_code == 200
        schemes = client.get("/openapi.json").json()["components"]["securitySchemes"]
        assert schemes["API key"] == {
            "type": "http",
            "scheme": "bearer",
            "description": "One of `CHAPTERHOUSE_API_KEYS`, when that is set.",
        }


def test_metrics_take_their_own_token_or_an_api_key(keyed: Settings) -> None:
    with_token = keyed.model_copy(update={"metrics_token": METRICS_TOKEN})
    with api_client(with_token) as client:
        assert client.get("/metrics").status_code == 401
        assert client.get("/metrics", headers=bearer("guess")).status_code == 403
        assert client.get("/metrics", headers=bearer(METRICS_TOKEN)).status_code == 200
        assert client.get("/metrics", headers=bearer(KEY)).status_code == 200
        # The metrics token opens nothing else.
        response = client.post(
            "/ingest", json={"url": MOTHER_OF_LEARNING}, headers=bearer(METRICS_TOKEN)
        )
        assert response.status_code == 403
    # API keys alone: metrics need one of them, even with reads public.
    with api_client(keyed) as client:
        assert client.get("/metrics").status_code == 401
        assert client.get("/metrics", headers=bearer(OTHER_KEY)).status_code == 200


def test_a_metrics_token_alone_closes_only_metrics(settings: Settings) -> None:
    only_token = settings.model_copy(update={"metrics_token": METRICS_TOKEN})
    with api_client(only_token) as client:
        assert client.get("/metrics").status_code == 401
        assert client.get("/metrics", headers=bearer(METRICS_TOKEN)).status_code == 200
        assert client.post("/ingest", json={"url": MOTHER_OF_LEARNING}).status_code == 202


def test_without_keys_nothing_asks_for_one(settings: Settings) -> None:
    with api_client(settings) as client:
        assert client.post("/ingest", json={"url": MOTHER_OF_LEARNING}).status_code == 202
        assert client.post("/queue/pause").status_code == 200
        assert client.get("/metrics").status_code == 200


def test_key_matching_needs_the_whole_key() -> None:
    keys = [KEY, OTHER_KEY]
    assert matching_key(KEY, keys) == KEY
    assert matching_key(OTHER_KEY, keys) == OTHER_KEY
    for near_miss in ("", KEY[:-1], KEY + " ", KEY.upper(), KEY[1:], f"{KEY},{OTHER_KEY}"):
        assert matching_key(near_miss, keys) is None, near_miss


def basic(password: str) -> dict[str, str]:
    return {"Authorization": "Basic " + base64.b64encode(f"me:{password}".encode()).decode()}


def test_the_dashboard_follows_the_same_rule(keyed: Settings) -> None:
    dashboard = WsgiClient(make_guarded_dashboard(keyed))
    for path in ("/", "/0/data/queues.json", "/job/ingest-1/requeue"):
        refused = dashboard.get(path)
        assert refused.status_code == 401, path
        assert refused.json == {
            "detail": "an API key is required: send Authorization: Bearer <key>"
        }
        challenges = refused.headers.getlist("WWW-Authenticate")
        assert challenges[0] == 'Bearer realm="chapterhouse"'
        assert challenges[1].startswith('Basic realm="chapterhouse"')  # a browser's prompt
        assert dashboard.get(path, headers=bearer("wrong")).status_code == 403
        # A mistyped password in the browser's prompt is asked for again, not refused for good.
        assert dashboard.get(path, headers=basic("wrong")).status_code == 401
    page = dashboard.get("/", headers=basic(KEY))
    assert page.status_code == 200 and "RQ dashboard" in page.text
    assert dashboard.get("/0/data/queues.json", headers=bearer(OTHER_KEY)).status_code == 200


def test_the_dashboard_pages_carry_a_nonce_csp(settings: Settings) -> None:
    dashboard = WsgiClient(make_guarded_dashboard(settings))  # no keys: open
    page = dashboard.get("/")
    policy = page.headers["Content-Security-Policy"]
    nonce = re.search(r"'nonce-([\w-]+)'", policy)
    assert nonce is not None
    assert "'unsafe-inline'" not in policy.split("script-src")[1].split(";")[0]
    inline = re.findall(r"<script([^>]*)>\s*var POLL_INTERVAL", page.text)
    assert inline == [f' nonce="{nonce.group(1)}" type="text/javascript"']
    again = dashboard.get("/").headers["Content-Security-Policy"]
    assert again != policy  # a fresh nonce per page
    assert page.headers["Content-Length"] == str(len(page.data))


def test_chapterhouse_dashboard_serves_the_guarded_app(keyed: Settings, tmp_path: Path) -> None:
    port = free_port()
    log = tmp_path / "dashboard.log"
    with log.open("w") as sink:
        process = subprocess.Popen(
            [sys.executable, "-m", "chapterhouse", "dashboard", "--port", str(port)],
            env=settings_env(keyed),
            start_new_session=True,
            stdout=sink,
            stderr=subprocess.STDOUT,
        )
    try:
        deadline = time.monotonic() + 30
        while True:
            assert process.poll() is None, log.read_text()
            try:
                refused = httpx.get(f"http://127.0.0.1:{port}/", timeout=2)
                break
            except httpx.TransportError:
                assert time.monotonic() < deadline, log.read_text()
                time.sleep(0.1)
        allowed = httpx.get(f"http://127.0.0.1:{port}/", headers=bearer(KEY), timeout=5)
    finally:
        os.killpg(process.pid, signal.SIGTERM)
        process.wait(timeout=30)
    assert refused.status_code == 401
    assert allowed.status_code == 200 and "RQ dashboard" in allowed.text
    assert KEY not in log.read_text()
