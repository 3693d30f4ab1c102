"""The yardsticks `benchmarks.http` serves beside the API, with the same uvicorn settings.

    uvicorn --factory benchmarks.http_baselines:bare_app      # an ASGI callable, nothing else
    uvicorn --factory benchmarks.http_baselines:constant_app  # FastAPI, one `async def` GET

Both answer constant JSON: what the server and the framework cost, with no work behind them.
"""

from __future__ import annotations

from fastapi import FastAPI
from starlette.types import Receive, Scope, Send

BODY = b'{"status":"ok"}'
HEADERS = [(b"content-type", b"application/json"), (b"content-length", str(len(BODY)).encode())]


async def _bare(scope: Scope, receive: Receive, send: Send) -> None:
    if scope["type"] == "lifespan":
        while True:
            kind = (await receive())["type"]  # lifespan.startup, then lifespan.shutdown
            await send({"type": f"{kind}.complete"})
            if kind == "lifespan.shutdown":
                return
    await send({"type": "http.response.start", "status": 200, "headers": HEADERS})
    await send({"type": "http.response.body", "body": BODY})


def bare_app() -> object:
    """A bare ASGI app: every request gets the same JSON, no routing, no framework."""
    return _bare


def constant_app() -> FastAPI:
    """A FastAPI app with one `async def` GET returning constant JSON."""
    app = FastAPI()

    @app.get("/constant")
    async def constant() -> dict[str, str]:
        return {"status": "ok"}

    return app
