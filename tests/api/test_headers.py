"""Security headers: a Content-Security-Policy on every answer; /docs works under its own."""

from __future__ import annotations

import re
from collections.abc import Iterator

import pytest

from chapterhouse.config import Settings
from tests.api import TestClient, api_client


@pytest.fixture
def client(settings: Settings) -> Iterator[TestClient]:
    """A client on the test PostgreSQL database and Redis db."""
    with api_client(settings) as client:
        yield client


def directives(policy: str) -> dict[str, list[str]]:
    """A CSP header as {directive: sources}."""
    parsed = {}
    for part in policy.split(";"):
        name, *sources = part.split()
        parsed[name] = sources
    return parsed


def test_json_answers_allow_nothing_to_load_or_frame(client: TestClient) -> None:
    for response in (client.get("/novels"), client.get("/jobs/99"), client.get("/metrics")):
        policy = directives(response.headers["Content-Security-Policy"])
        assert policy["default-src"] == ["'none'"]
        assert policy["frame-ancestors"] == ["'none'"]
        assert response.headers["X-Content-Type-Options"] == "nosniff"


def test_docs_load_only_from_this_origin_and_run_no_inline_script(client: TestClient) -> None:
    page = client.get("/docs")
    assert page.status_code == 200 and page.headers["content-type"].startswith("text/html")
    policy = directives(page.headers["Content-Security-Policy"])
    assert policy["script-src"] == ["'self'"]  # no CDN, no 'unsafe-inline', no 'unsafe-eval'
    assert policy["connect-src"] == ["'self'"]
    assert policy["frame-ancestors"] == ["'none'"]
    scripts = re.findall(r"<script([^>]*)>(.*?)</script>", page.text, re.S)
    assert scripts and all(body.strip() == "" for _, body in scripts)  # none inline
    sources = re.findall(r'(?:src|href)="([^"]+)"', page.text)
    assert all(not re.match(r"\w+:|//", source) for source in sources)  # all on this origin
    # Everything the page loads is served here, and its start-up code fetches our schema.
    for source in sources:
        asset = client.get("/" + source)
        assert asset.status_code == 200, source
    init = client.get("/docs/init.js")
    assert init.headers["content-type"].startswith("text/javascript")
    assert 'url: "openapi.json"' in init.text and "validatorUrl: null" in init.text
    bundle = client.get("/docs/swagger-ui/swagger-ui-bundle.js")
    assert "SwaggerUIBundle" in bundle.text


def test_redoc_is_not_served(client: TestClient) -> None:
    # It would need a CDN; /docs is the documentation.
    assert client.get("/redoc").status_code == 404
