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
from starlette.types import ASGIApp, Receive, Scope, Send

from chapterhouse.api.schemas import (
    Error,
    UnsupportedSiteErrorBody,
    ValidationErrorBody,
    ValidationErrorItem,
)
from chapterhouse.errors import (
    ConflictError,
    InvalidUrlError,
    NotFoundError,
    ServiceUnavailableError,
    UnsupportedSiteError,
)
from chapterhouse.services import database_unavailable

log = logging.getLogger(__name__)

# Requests carry a URL at most; a body this large is refused before it is read.
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


def install_error_handlers(app: FastAPI) -> None:
    """Register the error → status table on `app`."""
    app.add_exception_handler(UnsupportedSiteError, _unsupported_site)
    app.add_exception_handler(InvalidUrlError, _status(422))
    app.add_exception_handler(NotFoundError, _status(404))
    app.add_exception_handler(ConflictError, _status(409))
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


def _unavailable(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, ServiceUnavailableError)
    log.warning("%s %s: %s", request.method, request.url.path, exc.message)
    return _json(503, Error(detail=exc.message))


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


class BodySizeLimit:
    """Answer a declared oversize body with a JSON 413 before anything reads it.

    Routes also set FastAPI's `max_body_size`, which catches chunked bodies; but for a
    too-large Content-Length, Starlette's limiter answers in plain text, hence this.
    """

    def __init__(self, app: ASGIApp, max_bytes: int = MAX_BODY_BYTES) -> None:
        self.app = app
        self.max_bytes = max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Pass the request on unless its Content-Length is over the limit."""
        if scope["type"] == "http":
            length = Headers(scope=scope).get("content-length", "")
            if length.isdigit() and int(length) > self.max_bytes:
                detail = f"request body is larger than {self.max_bytes} bytes"
                await _json(413, Error(detail=detail))(scope, receive, send)
                return
        await self.app(scope, receive, send)
