"""A local stand-in for the sites: serves our own fixture pages on 127.0.0.1 and records hits.

Each site's pages come from its own render function, tried in turn (`FakeSite.renderers`);
a new site adds its module and one entry there.
"""

from __future__ import annotations

import re
import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from http.cookies import SimpleCookie
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qsl

from tests.fakesite import ao3, royalroad, scribblehub

FICTION = re.compile(r"^/fiction/(\d+)(?:/[^/]+)?/?$")
CHAPTER = re.compile(r"^/fiction/(\d+)/[^/]+/chapter/(\d+)(?:/[^/]*)?/?$")
FEED = re.compile(r"^/fiction/syndication/(\d+)/?$")


@dataclass
class Hit:
    """One request the site received."""

    at: float
    path: str
    status: int
    user_agent: str = ""
    method: str = "GET"
    form: dict[str, str] = field(default_factory=dict)  # a POST's url-encoded body
    cookies: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class FakeRequest:
    """What a site's render function sees of a request."""

    method: str
    path: str
    form: dict[str, str] = field(default_factory=dict)
    cookies: dict[str, str] = field(default_factory=dict)
    query: str = ""  # AO3 pages depend on it (view_full_work, view_adult, page)


@dataclass(frozen=True)
class RawAnswer:
    """An answer sent as is: any status, headers and bytes (a redirect, a binary page). A
    callable body is streamed chunk by chunk with no Content-Length (a page that never ends)."""

    body: bytes | Callable[[], Iterable[bytes]] = b""
    status: int = 200
    headers: dict[str, str] = field(default_factory=lambda: {"Content-Type": "text/html"})


@dataclass
class FakeSite:
    """Fictions served, failures to inject, and every hit recorded."""

    fictions: dict[int, royalroad.FakeFiction] = field(default_factory=dict)
    series: dict[int, scribblehub.FakeSeries] = field(default_factory=dict)
    archive: ao3.FakeArchive = field(default_factory=ao3.FakeArchive)  # AO3 works and series
    # path prefix -> HTTP status answered instead of the page
    failures: dict[str, int] = field(default_factory=dict)
    # path prefix -> (status, headers), answered once and then forgotten (a 429, a blip)
    once: dict[str, tuple[int, dict[str, str]]] = field(default_factory=dict)
    # exact path -> HTML served instead of the generated page (a changed layout, say)
    pages: dict[str, str] = field(default_factory=dict)
    # path prefix -> seconds to wait before answering (a slow site)
    slow: dict[str, float] = field(default_factory=dict)
    # exact path -> bytes answered as they are, before anything else (hostile pages, redirects)
    raw: dict[str, RawAnswer] = field(default_factory=dict)
    robots: str = "User-agent: *\nDisallow: /private/\n"
    hits: list[Hit] = field(default_factory=list)
    in_flight: int = 0  # requests being answered now
    most_in_flight: int = 0  # the most ever answered at once
    port: int = 0
    lock: threading.Lock = field(default_factory=threading.Lock)

    @property
    def host(self) -> str:
        """host:port, for CHAPTERHOUSE_SITE_HOSTS."""
        return f"127.0.0.1:{self.port}"

    def add(self, fiction: royalroad.FakeFiction) -> royalroad.FakeFiction:
        """Serve this fiction from now on."""
        self.fictions[fiction.id] = fiction
        return fiction

    def url(self, fiction: royalroad.FakeFiction) -> str:
        """The fiction's page on this server."""
        return f"http://{self.host}{royalroad.fiction_path(fiction)}"

    def add_series(self, series: scribblehub.FakeSeries) -> scribblehub.FakeSeries:
        """Serve this Scribble Hub series from now on."""
        self.series[series.id] = series
        return series

    def series_url(self, series: scribblehub.FakeSeries) -> str:
        """The series page on this server."""
        return f"http://{self.host}{scribblehub.series_path(series)}"

    def paths(self, prefix: str = "/fiction") -> list[str]:
        """Paths requested so far that start with `prefix`."""
        with self.lock:
            return [hit.path for hit in self.hits if hit.path.startswith(prefix)]

    def respond(self, request: FakeRequest) -> tuple[int, dict[str, str], str]:
        """Status, extra headers and body for a request."""
        path = request.path
        with self.lock:
            for prefix in list(self.once):
                if path.startswith(prefix):
                    status, headers = self.once.pop(prefix)
                    return status, headers, f"<html><body>error {status}</body></html>"
        # A renderer may add headers as a third item (AO3's redirect to its login page).
        status, body, *headers = self.render(request)
        return status, headers[0] if headers else {}, body

    def render(self, request: FakeRequest) -> tuple[int, str]:
        """Status and body for a request: injected answers first, then each site's pages."""
        path = request.path
        for prefix, status in self.failures.items():
            if path.startswith(prefix):
                return status, f"<html><body>error {status}</body></html>"
        if path in self.pages:
            return 200, self.pages[path]
        if path == "/robots.txt":
            return 200, self.robots
        for renderer in self.renderers():
            answer = renderer(request)
            if answer is not None:
                return answer
        return 404, "<html><body>not found</body></html>"

    def renderers(self) -> list[Callable[[FakeRequest], tuple[int, str] | None]]:
        """One render function per site; each answers None for paths that are not its own."""
        return [self._royalroad, self._ao3, self._scribblehub]

    def _ao3(self, request: FakeRequest) -> tuple[int, str, dict[str, str]] | None:
        if request.method != "GET":
            return None
        answer = self.archive.respond(request.path, request.query)
        return None if answer is None else (answer[0], answer[2], answer[1])

    def _scribblehub(self, request: FakeRequest) -> tuple[int, str] | None:
        return scribblehub.render(
            self.series, request.method, request.path, request.form, request.cookies
        )

    def _royalroad(self, request: FakeRequest) -> tuple[int, str] | None:
        path = request.path
        if request.method != "GET":
            return None
        if match := FEED.match(path):
            fiction = self.fictions.get(int(match[1]))
            if fiction is None:
                return 404, "<html><body>no such fiction</body></html>"
            return 200, royalroad.feed_xml(fiction)
        if match := CHAPTER.match(path):
            fiction = self.fictions.get(int(match[1]))
            for chapter in fiction.chapters if fiction else []:
                if chapter.id == int(match[2]):
                    return 200, royalroad.chapter_html(fiction, chapter)  # type: ignore[arg-type]
            return 404, "<html><body>no such chapter</body></html>"
        if match := FICTION.match(path):
            fiction = self.fictions.get(int(match[1]))
            # Royal Road answers a missing fiction with its "404" page and HTTP 200.
            return 200, royalroad.fiction_html(fiction) if fiction else royalroad.not_found_html()
        return None


def serve(site: FakeSite) -> ThreadingHTTPServer:
    """Start serving `site` on a free loopback port, in a daemon thread."""

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            self.answer("GET")

        def do_POST(self) -> None:
            self.answer("POST")

        def answer(self, method: str) -> None:
            path = self.path.split("?", 1)[0]
            arrived = time.monotonic()
            length = int(self.headers.get("Content-Length") or 0)
            body_in = self.rfile.read(length).decode("utf-8") if length else ""
            form = dict(parse_qsl(body_in, keep_blank_values=True)) if method == "POST" else {}
            jar = SimpleCookie(self.headers.get("Cookie") or "")
            cookies = {name: morsel.value for name, morsel in jar.items()}
            agent = self.headers.get("User-Agent", "")
            if path in site.raw:
                self.send_raw(site.raw[path], Hit(arrived, path, site.raw[path].status, agent))
                return
            query = self.path.partition("?")[2]
            status, headers, body = site.respond(FakeRequest(method, path, form, cookies, query))
            with site.lock:
                site.hits.append(Hit(arrived, path, status, agent, method, form, cookies))
                site.in_flight += 1
                site.most_in_flight = max(site.most_in_flight, site.in_flight)
            try:
                for prefix, seconds in site.slow.items():
                    if path.startswith(prefix):
                        time.sleep(seconds)
                data = body.encode("utf-8")
                self.send_response(status)
                for name, value in headers.items():
                    self.send_header(name, value)
                kind = "application/rss+xml" if FEED.match(path) else "text/html"
                self.send_header("Content-Type", f"{kind}; charset=utf-8")
                self.send_header("Content-Length", str(len(data)))
                # As HTTP/1.0 servers say: without it, Twisted pools the connection this server
                # closes, and a POST that reuses it first fails ("closed cleanly", never retried).
                self.send_header("Connection", "close")
                self.end_headers()
            finally:
                # Counted out before the body goes: no client can have its answer earlier.
                with site.lock:
                    site.in_flight -= 1
            self.wfile.write(data)

        def send_raw(self, raw: RawAnswer, hit: Hit) -> None:
            with site.lock:
                site.hits.append(hit)
            self.send_response(raw.status)
            for name, value in {"Connection": "close", **raw.headers}.items():
                self.send_header(name, value)
            if isinstance(raw.body, bytes):
                self.send_header("Content-Length", str(len(raw.body)))
            # Without a length (HTTP/1.0), the body ends when the connection closes.
            self.end_headers()
            try:
                for chunk in [raw.body] if isinstance(raw.body, bytes) else raw.body():
                    self.wfile.write(chunk)
            except (BrokenPipeError, ConnectionResetError):
                pass  # the client stopped reading, as it should with a page too large

        def log_message(self, format: str, *args: object) -> None:
            pass  # keep test output quiet

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    site.port = server.server_address[1]
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server
