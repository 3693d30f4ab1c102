"""`chapterhouse dashboard`: RQ's own web dashboard (rq-dashboard) on our Redis.

With API keys set it asks for one like the API's writes do (it can requeue jobs): as
`Authorization: Bearer <key>`, or, from a browser, as the password of its login prompt.
"""

from __future__ import annotations

import json
import re
import secrets
from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

from chapterhouse.api.security import (
    DASHBOARD_CSP,
    REALM,
    authorize,
    basic_password,
    challenge,
    matching_key,
)
from chapterhouse.config import Settings
from chapterhouse.errors import AuthenticationError, PermissionDeniedError

if TYPE_CHECKING:
    from _typeshed.wsgi import StartResponse, WSGIApplication, WSGIEnvironment
    from flask import Flask

_SCRIPT_TAG = re.compile(rb"<script(?=[\s>])")


def make_dashboard(settings: Settings) -> Flask:
    """The rq-dashboard Flask app, reading queues, workers and jobs from REDIS_URL."""
    from rq_dashboard.cli import make_flask_app
    from rq_dashboard.web import setup_rq_connection

    app = make_flask_app(None, None, None, "")
    app.config["RQ_DASHBOARD_REDIS_URL"] = settings.redis_url
    # The database row is the truth about a job: deleting RQ's copy or emptying a registry
    # from here would only leave the reconciler to put it back. `chapterhouse cancel` does it.
    app.config["RQ_DASHBOARD_DISABLE_DELETE"] = True
    setup_rq_connection(app)
    dashboard: Flask = app
    return dashboard


def make_guarded_dashboard(settings: Settings) -> WSGIApplication:
    """The dashboard behind the API keys (when set), with a Content-Security-Policy."""
    return DashboardGuard(make_dashboard(settings), settings.api_key_list)


class DashboardGuard:
    """WSGI middleware: the API's key check, then a nonce-based CSP on every HTML page."""

    def __init__(self, app: WSGIApplication, keys: list[str]) -> None:
        self.app = app
        self.keys = keys

    def __call__(self, environ: WSGIEnvironment, start_response: StartResponse) -> Iterable[bytes]:
        """Refuse with JSON 401/403 like the API, or serve the page with security headers."""
        refusal = self._refuse(environ.get("HTTP_AUTHORIZATION"))
        if refusal is not None:
            status, headers, body = refusal
            start_response(status, headers)
            return [body]
        nonce = secrets.token_urlsafe(16)
        captured: dict[str, Any] = {}

        def capture(status: str, headers: list[tuple[str, str]], exc_info: Any = None) -> Any:
            captured.update(status=status, headers=headers)
            return lambda data: None  # rq-dashboard (Flask) never writes through this

        result = self.app(environ, capture)
        try:
            body = b"".join(result)
        finally:
            close = getattr(result, "close", None)
            if close is not None:
                close()
        headers = [(k, v) for k, v in captured["headers"] if k.lower() != "content-length"]
        content_type = next((v for k, v in headers if k.lower() == "content-type"), "")
        if content_type.startswith("text/html"):
            body = _SCRIPT_TAG.sub(b'<script nonce="' + nonce.encode() + b'"', body)
        headers += [
            ("Content-Security-Policy", DASHBOARD_CSP.format(nonce=nonce)),
            ("X-Content-Type-Options", "nosniff"),
            ("Content-Length", str(len(body))),
        ]
        start_response(captured["status"], headers)
        return [body]

    def _refuse(self, authorization: str | None) -> tuple[str, list[tuple[str, str]], bytes] | None:
        if not self.keys:
            return None
        # Browsers cannot send a bearer header: their login prompt's password is the key, and
        # a wrong one is asked for again (401) rather than refused for good.
        password = basic_password(authorization) if authorization else None
        try:
            if password is not None:
                if matching_key(password, self.keys) is None:
                    raise AuthenticationError("this API key is not accepted; try another")
            else:
                authorize(authorization, self.keys)
        except AuthenticationError as exc:
            headers = [
                ("WWW-Authenticate", challenge(exc)),
                ("WWW-Authenticate", f'Basic realm="{REALM}", charset="UTF-8"'),
            ]
            return "401 Unauthorized", _json_headers(headers), _json_body(exc.message)
        except PermissionDeniedError as exc:
            return "403 Forbidden", _json_headers([]), _json_body(exc.message)
        return None


def _json_headers(extra: list[tuple[str, str]]) -> list[tuple[str, str]]:
    return [("Content-Type", "application/json"), ("X-Content-Type-Options", "nosniff"), *extra]


def _json_body(detail: str) -> bytes:
    return json.dumps({"detail": detail}).encode()


def run_dashboard(settings: Settings, *, host: str, port: int) -> None:
    """Serve the dashboard until interrupted."""
    from werkzeug.serving import run_simple

    run_simple(host, port, make_guarded_dashboard(settings), threaded=True)
