"""The one place errors become HTTP responses. Every body is JSON with `detail`."""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from sqlalchemy.exc import DBAPIError, InterfaceError, OperationalError, SQLAlchemyError
from starlette.datastructures import Headers
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from chapterhouse.api.schemas import (
    Error,
    LimitErrorBody,
    UnsupportedSiteErrorBody,
    ValidationErrorBody,
    ValidationErrorItem,
)
from chapterhouse.api.security import challenge
from chapterhouse.config import redact
from chapterhouse.errors import (
    AuthenticationError,
    ConflictError,
    InvalidUrlError,
    LimitExceededError,
    NotFoundError,
    PermissionDeniedError,
    ServiceUnavailableError,
    UnsupportedSiteError,
)
from chapterhouse.services import database_unavailable

log = logging.getLogger(__name__)

# Requests carry a URL at most; CHAPTERHOUSE_MAX_BODY_BYTES (this by default) caps them.
MAX_BODY_BYTES = 64 * 1024

# OpenAPI `responses=` entries, so /docs shows the error bodies routes can return.
NOT_FOUND: dict[int | str, dict[str, Any]] = {404: {"model": Error, "description": "Not found"}}
UNAVAILABLE: dict[int | str, dict[str, Any]] = {
    503: {"model": Error, "description": "The database or Redis does not answer"}
}
CONFLICT: dict[int | str, dict[str, Any]] = {
    409: {"model": Error, "description": "Not possible in the job's current state"}
}
INVALID: dict[int | str, dict[str, Any]] = {
    422: {"model": ValidationErrorBody, "description": "Invalid request"}
}
AUTH: dict[int | str, dict[str, Any]] = {
    401: {
        "model": Error,
        "description": "No API key, or a malformed Authorization header (API keys are set)",
        "headers": {"WWW-Authenticate": {"schema": {"type": "string"}}},
    },
    403: {"model": Error, "description": "The API key is not accepted"},
}
LIMITED: dict[int | str, dict[str, Any]] = {
    429: {
        "model": LimitErrorBody,
        "description": "Over a per-client cap, named in `setting` and `limit`",
        "headers": {
            "Retry-After": {
                "description": "Seconds until the rate limit's window ends (rate limit only)",
                "schema": {"type": "integer"},
            }
        },
    }
}


def install_error_handlers(app: FastAPI) -> None:
    """Register the error → status table on `app`."""
    app.add_exception_handler(UnsupportedSiteError, _unsupported_site)
    app.add_exception_handler(InvalidUrlError, _status(422))
    app.add_exception_handler(NotFoundError, _status(404))
    app.add_exception_handler(ConflictError, _status(409))
    app.add_exception_handler(AuthenticationError, _unauthenticated)
    app.add_exception_handler(PermissionDeniedError, _status(403))
    app.add_exception_handler(LimitExceededError, _limited)
    app.add_exception_handler(ServiceUnavailableError, _unavailable)
    app.add_exception_handler(OperationalError, _database_down)
    app.add_exception_handler(InterfaceError, _database_down)
    app.add_exception_handler(DBAPIError, _database_error)
    app.add_exception_handler(RequestValidationError, _invalid_request)
    app.add_exception_handler(Exception, _internal_error)


def _json(status: int, body: Error) -> JSONResponse:
    return JSONResponse(status_code=status, content=body.model_dump(mode="json"))


def _status(status: int) -> Callable[[Request, Exception], JSONResponse]:
    def handler(_request: Request, exc: Exception) -> JSONResponse:
        return _json(status, Error(detail=getattr(exc, "message", str(exc))))

    return handler


def _unsupported_site(_request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, UnsupportedSiteError)
    return _json(422, UnsupportedSiteErrorBody(detail=exc.message, supported_sites=exc.supported))


def _unauthenticated(_request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, AuthenticationError)
    return refusal(exc)


def refusal(exc: AuthenticationError | PermissionDeniedError) -> JSONResponse:
    """The 401 (with its `WWW-Authenticate` challenge) or 403 of a request without access."""
    if isinstance(exc, PermissionDeniedError):
        return _json(403, Error(detail=exc.message))
    response = _json(401, Error(detail=exc.message))
    response.headers["WWW-Authenticate"] = challenge(exc)
    return response


def _limited(_request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, LimitExceededError)
    body = LimitErrorBody(detail=exc.message, setting=exc.setting, limit=exc.limit)
    response = _json(429, body)
    if exc.retry_after is not None:
        response.headers["Retry-After"] = str(exc.retry_after)
    return response


def _unavailable(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, ServiceUnavailableError)
    log.warning("%s %s: %s", request.method, request.url.path, exc.message)
    # A driver's message could quote a connection URL: never its password.
    runtime = getattr(request.app.state, "runtime", None)
    detail = redact(exc.message, runtime.settings if runtime is not None else None)
    return _json(503, Error(detail=detail))


def _database_down(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, SQLAlchemyError)
    # The driver's message can name hosts and users; the log gets it, the client a summary.
    log.warning("%s %s: database error: %s", request.method, request.url.path, exc)
    return _json(503, Error(detail=database_unavailable(exc).message))


def _database_error(request: Request, exc: Exception) -> JSONResponse:
    # Any driver error on a connection the server dropped is an outage; others are our bugs.
    if isinstance(exc, DBAPIError) and exc.connection_invalidated:
        return _database_down(request, exc)
    return _internal_error(request, exc)


def _invalid_request(_request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, RequestValidationError)
    items = [_error_item(error) for error in exc.errors()]
    detail = "; ".join(_describe(error) for error in exc.errors()) or "invalid request"
    return _json(422, ValidationErrorBody(detail=detail, errors=items))


def _internal_error(request: Request, exc: Exception) -> JSONResponse:
    # Starlette re-raises after answering, so uvicorn logs the traceback too; this record
    # names the request and reaches chapterhouse's own log whatever the server does.
    log.error("%s %s failed: %r", request.method, request.url.path, exc, exc_info=exc)
    return _json(500, Error(detail="internal error"))


def _error_item(error: dict[str, Any]) -> ValidationErrorItem:
    # `input` and `ctx` can echo megabytes or hold exceptions; the rest is what clients need.
    return ValidationErrorItem(loc=list(error.get("loc", ())), msg=error["msg"], type=error["type"])


def _describe(error: dict[str, Any]) -> str:
    where = _location(error.get("loc", ()))
    kind = error.get("type")
    if kind == "json_invalid":
        reason = (error.get("ctx") or {}).get("error", "")
        return f"request body is not valid JSON ({reason})" if reason else "body is not JSON"
    if where == "body" and kind == "missing":
        return "request body is required: send a JSON object"
    if where == "body" and isinstance(error.get("input"), bytes):
        return "request body must be JSON sent with Content-Type: application/json"
    if where == "body" and kind in ("model_attributes_type", "dict_type"):
        return "request body must be a JSON object"
    return f"{where}: {error['msg']}" if where else str(error["msg"])


def _location(loc: Sequence[Any]) -> str:
    # ("body", "url") reads better as "url"; ("query", "limit") as "query parameter limit".
    parts = [str(part) for part in loc]
    if len(parts) >= 2 and parts[0] == "body":
        return ".".join(parts[1:])
    if len(parts) >= 2 and parts[0] in ("query", "path", "header", "cookie"):
        return f"{parts[0]} parameter {'.'.join(parts[1:])}"
    return ".".join(parts)


BODILESS = frozenset({"GET", "HEAD", "OPTIONS"})


class BodySizeLimit:
    """Refuse a body over `CHAPTERHOUSE_MAX_BODY_BYTES` with a JSON 413 before a route reads it.

    A declared Content-Length is judged at once. A body without one (chunked) is read here,
    up to the cap, and handed on whole: a route never sees a byte past the cap.
    """

    def __init__(self, app: ASGIApp, max_bytes: int | None = None) -> None:
        self.app = app
        self.max_bytes = max_bytes

    def _limit(self, scope: Scope) -> int:
        if self.max_bytes is not None:
            return self.max_bytes
        # The settings arrive with the app's lifespan, after the middleware stack is built.
        runtime = getattr(getattr(scope.get("app"), "state", None), "runtime", None)
        return runtime.settings.max_body_bytes if runtime is not None else MAX_BODY_BYTES

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Pass the request on unless its body is over the limit."""
        if scope["type"] != "http" or scope["method"] in BODILESS:
            # No route reads a GET's body: nothing to measure.
            await self.app(scope, receive, send)
            return
        limit = self._limit(scope)
        headers = Headers(scope=scope)
        length = headers.get("content-length")
        if length is not None:
            if length.isdigit() and int(length) > limit:
                await self._refuse(limit, scope, receive, send)
                return
            await self.app(scope, receive, send)
            return
        if "transfer-encoding" not in headers:  # no length, not chunked: there is no body
            await self.app(scope, receive, send)
            return
        first, total = [], 0
        while True:
            message = await receive()
            if message["type"] != "http.request":  # the client went away: say so to the app
                first.append(message)
                break
            total += len(message.get("body", b""))
            if total > limit:
                await self._refuse(limit, scope, receive, send)
                return
            first.append(message)
            if not message.get("more_body", False):
                break
        body = b"".join(m.get("body", b"") for m in first if m["type"] == "http.request")
        pending: list[Message] = [{"type": "http.request", "body": body, "more_body": False}]
        if first and first[-1]["type"] != "http.request":
            pending.append(first[-1])

        async def replay() -> Message:
            return pending.pop(0) if pending else await receive()

        await self.app(scope, replay, send)

    async def _refuse(self, limit: int, scope: Scope, receive: Receive, send: Send) -> None:
        detail = f"request body is larger than CHAPTERHOUSE_MAX_BODY_BYTES ({limit} bytes)"
        body = LimitErrorBody(detail=detail, setting="CHAPTERHOUSE_MAX_BODY_BYTES", limit=limit)
        await _json(413, body)(scope, receive, send)
