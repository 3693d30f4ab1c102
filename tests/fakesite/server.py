"""A local stand-in for Royal Road: serves our own fixture pages on 127.0.0.1 and records hits."""

from __future__ import annotations

import re
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from tests.fakesite import royalroad

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


@dataclass
class FakeSite:
    """Fictions served, failures to inject, and every hit recorded."""

    fictions: dict[int, royalroad.FakeFiction] = field(default_factory=dict)
    # path prefix -> HTTP status answered instead of the page
    failures: dict[str, int] = field(default_factory=dict)
    # path prefix -> (status, headers), answered once and then forgotten (a 429, a blip)
    once: dict[str, tuple[int, dict[str, str]]] = field(default_factory=dict)
    # exact path -> HTML served instead of the generated page (a changed layout, say)
    pages: dict[str, str] = field(default_factory=dict)
    # path prefix -> seconds to wait before answering (a slow site)
    slow: dict[str, float] = field(default_factory=dict)
    robots: str = "User-agent: *\nDisallow: /private/\n"
    hits: list[Hit] = field(default_factory=list)
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

    def paths(self, prefix: str = "/fiction") -> list[str]:
        """Paths requested so far that start with `prefix`."""
        with self.lock:
            return [hit.path for hit in self.hits if hit.path.startswith(prefix)]

    def respond(self, path: str) -> tuple[int, dict[str, str], str]:
        """Status, extra headers and body for a path."""
        with self.lock:
            for prefix in list(self.once):
                if path.startswith(prefix):
                    status, headers = self.once.pop(prefix)
                    return status, headers, f"<html><body>error {status}</body></html>"
        status, body = self.render(path)
        return status, {}, body

    def render(self, path: str) -> tuple[int, str]:
        """Status and body for a path."""
        for prefix, status in self.failures.items():
            if path.startswith(prefix):
                return status, f"<html><body>error {status}</body></html>"
        if path in self.pages:
            return 200, self.pages[path]
        if path == "/robots.txt":
            return 200, self.robots
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
        return 404, "<html><body>not found</body></html>"


def serve(site: FakeSite) -> ThreadingHTTPServer:
    """Start serving `site` on a free loopback port, in a daemon thread."""

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            path = self.path.split("?", 1)[0]
            arrived = time.monotonic()
            status, headers, body = site.respond(path)
            with site.lock:
                site.hits.append(Hit(arrived, path, status, self.headers.get("User-Agent", "")))
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
            self.end_headers()
            self.wfile.write(data)

        def log_message(self, format: str, *args: object) -> None:
            pass  # keep test output quiet

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    site.port = server.server_address[1]
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server
