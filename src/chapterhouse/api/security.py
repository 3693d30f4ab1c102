"""API keys, client identity and security headers, shared by the API and the RQ dashboard."""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
from collections.abc import Sequence

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from chapterhouse.errors import AuthenticationError, PermissionDeniedError

REALM = "chapterhouse"

# The API answers JSON only: nothing may load, run or frame anything from it.
API_CSP = "default-src 'none'; frame-ancestors 'none'; base-uri 'none'; form-action 'none'"
# /docs: Swagger UI, served from this origin (no CDN) with its bootstrap in a file, so no
# inline script runs; its components set inline styles and draw icons as data: SVGs.
DOCS_CSP = (
    "default-src 'none'; script-src 'self'; style-src 'self' 'unsafe-inline'; "
    "img-src 'self' data:; connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; "
    "form-action 'none'"
)

# rq-dashboard: its pages end in an inline script (allowed by a per-response nonce, so an
# injected one is not) and build their HTML with underscore's `_.template`, which compiles
# templates with `new Function`: hence 'unsafe-eval'. Its assets come from this origin.
DASHBOARD_CSP = (
    "default-src 'self'; script-src 'self' 'nonce-{nonce}' 'unsafe-eval'; "
    "style-src 'self' 'unsafe-inline'; img-src 'self' data:; object-src 'none'; "
    "frame-ancestors 'none'; base-uri 'none'; form-action 'self'"
)


def key_label(key: str) -> str:
    """A client id for a key: a short hash, so the key itself is never stored or logged."""
    return "key:" + hashlib.sha256(key.encode()).hexdigest()[:16]


def bearer_token(authorization: str | None) -> str:
    """The key of an `Authorization: Bearer <key>` header; AuthenticationError otherwise."""
    if not authorization or not authorization.strip():
        raise AuthenticationError("an API key is required: send Authorization: Bearer <key>")
    scheme, _, token = authorization.strip().partition(" ")
    token = token.strip()
    if scheme.lower() != "bearer" or not token or " " in token:
        raise AuthenticationError("malformed Authorization header: expected Bearer <key>")
    return token


def basic_password(authorization: str) -> str | None:
    """The password of an `Authorization: Basic` header (how browsers send a key), if any."""
    scheme, _, encoded = authorization.strip().partition(" ")
    if scheme.lower() != "basic":
        return None
    try:
        decoded = base64.b64decode(encoded.strip(), validate=True).decode()
    except (binascii.Error, UnicodeDecodeError):
        return None
    _user, sep, password = decoded.partition(":")
    return password if sep and password else None


def matching_key(token: str, keys: Sequence[str]) -> str | None:
    """The configured key equal to `token`, compared in constant time, or None.

    Digests make every comparison the same length, and every key is compared, so the time
    taken says nothing about how much of a key was right or which key matched.
    """
    presented = hashlib.sha256(token.encode()).digest()
    found = None
    for key in keys:
        if hmac.compare_digest(presented, hashlib.sha256(key.encode()).digest()):
            found = key
    return found


def authorize(authorization: str | None, keys: Sequence[str]) -> str:
    """The key a request presents, when it is one of `keys`.

    AuthenticationError (401) without a well-formed bearer key; PermissionDeniedError (403)
    for a key that is not one of them.
    """
    key = matching_key(bearer_token(authorization), keys)
    if key is None:
        raise PermissionDeniedError("this API key is not accepted")
    return key


def challenge(exc: AuthenticationError) -> str:
    """The `WWW-Authenticate` value that goes with a 401 (RFC 6750)."""
    if exc.message.startswith("malformed"):
        return f'Bearer realm="{REALM}", error="invalid_request"'
    return f'Bearer realm="{REALM}"'


def _raw(policy: str) -> tuple[tuple[bytes, bytes], ...]:
    return ((b"content-security-policy", policy.encode()), (b"x-content-type-options", b"nosniff"))


API_HEADERS = _raw(API_CSP)
DOCS_HEADERS = _raw(DOCS_CSP)


class SecurityHeaders:
    """Give every HTTP response a Content-Security-Policy and `nosniff`.

    JSON and metrics get a policy that allows nothing; the docs page the one it needs.
    """

    def __init__(self, app: ASGIApp, docs_path: str = "/docs") -> None:
        self.app = app
        self.docs_path = docs_path

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Add the headers as the response starts, unless a route set its own policy."""
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        added = DOCS_HEADERS if scope["path"] == self.docs_path else API_HEADERS

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                # Raw header pairs: on every response, this is the cheap way to add two.
                headers = list(message.get("headers", ()))
                present = {name.lower() for name, _ in headers}
                headers.extend(pair for pair in added if pair[0] not in present)
                message["headers"] = headers
            await send(message)

        await self.app(scope, receive, send_with_headers)
