"""Who may call what: the API keys, checked on every request before it is routed.

With `CHAPTERHOUSE_API_KEYS` set, writes need a key, reads too unless
`CHAPTERHOUSE_PUBLIC_READS`, and `/metrics` takes `CHAPTERHOUSE_METRICS_TOKEN` or a key. Probes
and the documentation stay open. Checked here, a request costs a few microseconds; as a FastAPI
dependency of every route the same check cost more than most routes' own work. Every path not
named open is guarded, so a new route is guarded by its method alone. The OpenAPI schema still
shows the scheme on every guarded operation (`install_openapi_security`).
"""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI
from fastapi.encoders import jsonable_encoder
from fastapi.security import HTTPBearer
from starlette.datastructures import Headers
from starlette.types import ASGIApp, Receive, Scope, Send

from chapterhouse.api.errors import refusal
from chapterhouse.api.routes.docs import DOCS_PATH
from chapterhouse.api.security import authorize
from chapterhouse.config import Settings
from chapterhouse.errors import AuthenticationError, PermissionDeniedError

SCHEME = "API key"
# Shown in OpenAPI and /docs (the "Authorize" button); the header itself is read below.
bearer = HTTPBearer(
    auto_error=False,
    scheme_name=SCHEME,
    description="One of `CHAPTERHOUSE_API_KEYS`, when that is set.",
)

METRICS_PATH = "/metrics"
# Load balancers and probes, and the documentation, answer whoever asks.
OPEN_PATHS = frozenset({"/health", "/openapi.json", DOCS_PATH})
OPEN_PREFIXES = (f"{DOCS_PATH}/",)
# Methods that only read: open to all unless CHAPTERHOUSE_PUBLIC_READS is false.
READ_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


def is_open(path: str) -> bool:
    """True for the paths no key is ever asked for."""
    return path in OPEN_PATHS or path.startswith(OPEN_PREFIXES)


def check_access(settings: Settings, method: str, path: str, authorization: str | None) -> None:
    """AuthenticationError (401) or PermissionDeniedError (403) unless the request may go on."""
    if is_open(path):
        return
    if path == METRICS_PATH:
        token = settings.metrics_token
        accepted = [*settings.api_key_list, *([token] if token else [])]
        if accepted:
            authorize(authorization, accepted)
        return
    keys = settings.api_key_list
    if not keys or (method in READ_METHODS and settings.public_reads):
        return
    authorize(authorization, keys)


class AccessControl:
    """Refuse, with a JSON 401 or 403, a request the API keys do not let through."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Check the request, then pass it on."""
        if scope["type"] == "http":
            # The settings arrive with the app's lifespan, after the middleware stack is built.
            settings: Settings = scope["app"].state.runtime.settings
            if not settings.api_key_list and not settings.metrics_token:
                await self.app(scope, receive, send)  # no keys: everything is open
                return
            path = scope["path"]
            root = scope.get("root_path", "")
            if root and path.startswith(root):
                path = path[len(root) :]
            try:
                check_access(
                    settings, scope["method"], path, Headers(scope=scope).get("authorization")
                )
            except (AuthenticationError, PermissionDeniedError) as exc:
                await refusal(exc)(scope, receive, send)
                return
        await self.app(scope, receive, send)


def install_openapi_security(app: FastAPI) -> None:
    """Declare the bearer scheme in the app's OpenAPI schema, on every guarded operation."""
    build = app.openapi

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is not None:
            return app.openapi_schema
        schema = build()
        scheme = jsonable_encoder(bearer.model, by_alias=True, exclude_none=True)
        schema.setdefault("components", {}).setdefault("securitySchemes", {})[SCHEME] = scheme
        for path, operations in schema.get("paths", {}).items():
            if is_open(path):
                continue
            for operation in operations.values():
                operation.setdefault("security", []).append({SCHEME: []})
        return schema

    app.openapi = openapi  # type: ignore[method-assign]
