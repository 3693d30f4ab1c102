"""The application as a whole: OpenAPI, docs, the error table's edges, the Scrapy seam."""

from __future__ import annotations

import json
import logging
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from chapterhouse import __version__
from chapterhouse.api.app import create_app
from chapterhouse.config import Settings
from tests.api import MOTHER_OF_LEARNING, TestClient, api_client

REPO_ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def client(settings: Settings) -> Iterator[TestClient]:
    """A client on the test PostgreSQL database and Redis db."""
    with api_client(settings) as client:
        yield client


def test_openapi_describes_every_route(client: TestClient) -> None:
    response = client.get("/openapi.json")
    assert response.status_code == 200
    schema = response.json()
    assert schema["info"]["title"] == "chapterhouse"
    assert schema["info"]["version"] == __version__
    assert "POST /ingest" in schema["info"]["description"]
    paths = schema["paths"]
    assert set(paths) >= {
        "/ingest",
        "/jobs",
        "/jobs/{job_id}",
        "/jobs/{job_id}/retry",
        "/health",
        "/novels",
        "/novels/{slug}",
        "/novels/{slug}/chapters",
        "/novels/{slug}/chapters/{number}",
        "/genres",
        "/genres/{slug}/novels",
    }
    for path, operations in paths.items():
        for method, operation in operations.items():
            # Route docstrings become the operation text.
            assert operation.get("description"), f"{method.upper()} {path} has no docstring"
    ingest = paths["/ingest"]["post"]["responses"]
    assert {"200", "202", "422", "503"} <= set(ingest)
    assert paths["/jobs/{job_id}"]["get"]["responses"]["404"]


def test_docs_page_answers(client: TestClient) -> None:
    response = client.get("/docs")
    assert response.status_code == 200
    assert "swagger" in response.text.lower()


def test_unknown_route_and_wrong_method_answer_json(client: TestClient) -> None:
    response = client.get("/no/such/route")
    assert response.status_code == 404
    assert isinstance(response.json()["detail"], str)
    response = client.get("/ingest")
    assert response.status_code == 405
    assert isinstance(response.json()["detail"], str)


def test_unexpected_errors_are_500_without_a_traceback(
    settings: Settings, caplog: pytest.LogCaptureFixture
) -> None:
    app = create_app(settings)

    def explode() -> None:
        raise RuntimeError("secret internals")

    app.add_api_route("/explode", explode)
    with (
        caplog.at_level(logging.ERROR, logger="chapterhouse.api.errors"),
        TestClient(app, raise_server_exceptions=False) as client,
    ):
        response = client.get("/explode")
    assert response.status_code == 500
    assert response.json() == {"detail": "internal error"}
    assert "secret internals" not in response.text
    logged = [r for r in caplog.records if r.name == "chapterhouse.api.errors"]
    assert logged and logged[0].exc_info is not None
    assert "GET /explode" in logged[0].getMessage()


def test_runtime_lives_for_the_app_lifespan(settings: Settings) -> None:
    app = create_app(settings)
    assert not hasattr(app.state, "runtime")  # nothing connects before startup
    with TestClient(app):
        assert app.state.runtime.settings is settings


def test_the_api_never_imports_scrapy(settings: Settings, tmp_path: Path) -> None:
    # A fresh interpreter, so nothing imported by other tests can hide an import.
    script = f"""
import json, sys, warnings
warnings.simplefilter("ignore")
from fastapi.testclient import TestClient
import chapterhouse.api.app
app = chapterhouse.api.app.create_app()
with TestClient(app) as client:
    response = client.post("/ingest", json={{"url": {MOTHER_OF_LEARNING!r}}})
    health = client.get("/health")
print(json.dumps({{
    "status": response.status_code,
    "health": health.status_code,
    "scrapy": sorted(m for m in sys.modules if m == "scrapy" or m.startswith("scrapy.")),
    "twisted": "twisted" in sys.modules,
}}))
"""
    # Settings come from the environment here, which also covers create_app() without arguments.
    env = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith("CHAPTERHOUSE_") and key not in ("DATABASE_URL", "REDIS_URL")
    }
    env |= {
        "DATABASE_URL": settings.database_url or "",
        "REDIS_URL": settings.redis_url,
        "CHAPTERHOUSE_DATA_DIR": str(tmp_path / "data"),
        "PYTHONPATH": str(REPO_ROOT),
    }
    done = subprocess.run(
        [sys.executable, "-c", script],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    result = json.loads(done.stdout.strip().splitlines()[-1])
    assert (result["status"], result["health"]) == (202, 200)
    assert result["scrapy"] == []
    assert result["twisted"] is False
