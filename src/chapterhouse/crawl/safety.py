"""The crawl's side of `crawl/hosts.py`: Scrapy's resolver, a downloader middleware, size caps.

- every request, redirects included, must go to an origin of the crawl's own site (its
  domains on the scheme's default port, or a `CHAPTERHOUSE_SITE_HOSTS` entry for it);
- the addresses a host resolves to must be public unless the operator named the host. The
  check runs in the DNS resolver Scrapy connects with, so the addresses checked are the
  addresses used: a DNS server answering differently the second time (rebinding) gains nothing;
- a page larger than `CHAPTERHOUSE_MAX_PAGE_BYTES` (as sent, or once decompressed) is
  abandoned, and the failure names the setting.

Nothing else is fetched: chapter images and covers keep their absolute URLs and are never
downloaded.
"""

from __future__ import annotations

import asyncio
import logging
import socket
from collections.abc import Iterable, Sequence
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from scrapy.downloadermiddlewares.httpcompression import HttpCompressionMiddleware
from scrapy.exceptions import DownloadCancelledError, IgnoreRequest
from scrapy.resolver import HostResolution
from twisted.internet.address import IPv4Address, IPv6Address
from twisted.internet.interfaces import IHostnameResolver
from twisted.internet.threads import deferToThreadPool
from zope.interface import implementer

from chapterhouse.crawl.hosts import (
    DEFAULT_PORTS,
    AddressGuard,
    authority_problem,
    host_keys,
    site_hosts,
    trusted_hosts,
)
from chapterhouse.errors import UnsafeAddressError

if TYPE_CHECKING:
    from scrapy.crawler import Crawler
    from scrapy.http import Request, Response

    from chapterhouse.config import Settings
    from chapterhouse.crawl.site import Site

log = logging.getLogger(__name__)


@implementer(IHostnameResolver)
class GuardedResolver:
    """Scrapy's DNS resolver (TWISTED_DNS_RESOLVER): hands Twisted only checked addresses."""

    def __init__(self, reactor: Any, guard: AddressGuard) -> None:
        self.reactor = reactor
        self.guard = guard

    @classmethod
    def from_crawler(cls, crawler: Crawler, reactor: Any) -> GuardedResolver:
        """Build from the crawler's settings (see `guarded_settings`)."""
        return cls(reactor, AddressGuard(crawler.settings.getlist("CHAPTERHOUSE_TRUSTED_HOSTS")))

    def install_on_reactor(self) -> None:
        """Become the reactor's name resolver, the one every connection asks."""
        self.reactor.installNameResolver(self)

    def resolveHostName(
        self,
        resolutionReceiver: Any,  # an IResolutionReceiver
        hostName: str,
        portNumber: int = 0,
        addressTypes: Sequence[type[Any]] | None = None,
        transportSemantics: str = "TCP",
    ) -> Any:
        """Resolve, check, and report the addresses; a refused host yields none (no connection)."""
        resolution = HostResolution(hostName)
        resolutionReceiver.resolutionBegan(resolution)

        def deliver(addresses: list[tuple[int, str]]) -> None:
            for family, address in addresses:
                kind = IPv6Address if family == socket.AF_INET6 else IPv4Address
                if addressTypes is None or kind in addressTypes:
                    resolutionReceiver.addressResolved(kind("TCP", address, portNumber))

        def refused(failure: Any) -> None:
            # A refused host normally never gets here (the middleware refused its request
            # first); a failed lookup ends as Twisted's own DNS error, retried like one.
            if failure.check(UnsafeAddressError):
                log.warning("no connection to %s: %s", hostName, failure.value.message)

        try:
            known = self.guard.cached(hostName)
        except UnsafeAddressError as exc:
            log.warning("no connection to %s: %s", hostName, exc.message)
            known = []
        if known is not None:
            deliver(known)
            resolutionReceiver.resolutionComplete()
        else:
            pool = self.reactor.getThreadPool()
            done = deferToThreadPool(self.reactor, pool, self.guard.check, hostName)
            done.addCallbacks(deliver, refused).addCallback(
                lambda _: resolutionReceiver.resolutionComplete()
            )
        return resolution


# --- the downloader middleware ----------------------------------------------------------------


class RefusedRequest(IgnoreRequest):
    """A request the crawl would not send; its message says why, for the job or the chapter."""


class SafetyMiddleware:
    """Scrapy downloader middleware: only the site's own origins, only public addresses.

    It runs before robots.txt (which would otherwise fetch an off-site host's robots.txt) and
    sees every request again after a redirect, since Scrapy schedules the redirected request
    anew. It also names the size cap when Scrapy abandons an oversized page.
    """

    def __init__(
        self,
        site_title: str,
        allowed: Iterable[str],
        max_bytes: int,
        *,
        trusted: Iterable[str] = (),
        guard: AddressGuard | None = None,
    ) -> None:
        self.site_title = site_title
        self.allowed = frozenset(host.lower() for host in allowed)
        self.max_bytes = max_bytes
        self.trusted = list(trusted)
        self._guard = guard

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> SafetyMiddleware:
        """Build from the crawler's settings (see `guarded_settings`)."""
        settings = crawler.settings
        return cls(
            settings.get("CHAPTERHOUSE_SITE_TITLE", "the site"),
            settings.getlist("CHAPTERHOUSE_ALLOWED_HOSTS"),
            settings.getint("DOWNLOAD_MAXSIZE"),
            trusted=settings.getlist("CHAPTERHOUSE_TRUSTED_HOSTS"),
        )

    @property
    def guard(self) -> AddressGuard:
        """The resolver's guard, so a host is looked up once and connected to as checked."""
        if self._guard is None:
            # Asked at the first request: Scrapy installs its resolver after making us.
            from twisted.internet import reactor

            resolver = getattr(reactor, "nameResolver", None)
            self._guard = (
                resolver.guard
                if isinstance(resolver, GuardedResolver)
                else AddressGuard(self.trusted)
            )
        return self._guard

    def refusal(self, url: str) -> str | None:
        """Why `url` may not be fetched by this crawl (its origin), or None when it may."""
        parts = urlsplit(url)
        scheme = parts.scheme.lower()
        if scheme not in DEFAULT_PORTS:
            return f"{url[:200]} is not an http(s) URL"
        problem = authority_problem(parts)
        if problem is not None:
            return problem
        host = (parts.hostname or "").lower()
        if not any(key in self.allowed for key in host_keys(scheme, host, parts.port)):
            return f"{parts.netloc} is not a host of {self.site_title}"
        return None

    async def process_request(self, request: Request) -> None:
        """Refuse a request to another origin, or to a host on a non-public address."""
        reason = self.refusal(request.url)
        if reason is None:
            host = urlsplit(request.url).hostname or ""
            try:
                if self.guard.cached(host) is None:
                    await asyncio.to_thread(self.guard.check, host)
            except UnsafeAddressError as exc:
                reason = exc.message
            except OSError:
                pass  # the lookup failed: the download fails the usual way (and is retried)
        if reason is None:
            return
        redirects = request.meta.get("redirect_urls")
        if redirects:
            raise RefusedRequest(f"refused a redirect to {request.url[:200]}: {reason}")
        raise RefusedRequest(f"refused: {reason}")

    def process_exception(self, request: Request, exception: Exception) -> None:
        """Say which cap a page abandoned for its size hit (Scrapy cancels it silently)."""
        if isinstance(exception, DownloadCancelledError) and _is_size_cancel(exception):
            raise RefusedRequest(too_large(self.max_bytes)) from exception


class BoundedDecompressionMiddleware(HttpCompressionMiddleware):
    """Scrapy's decompression, with its size refusal naming our setting (a gzip bomb, say)."""

    def process_response(
        self, request: Request, response: Response, spider: Any = None
    ) -> Request | Response:
        """Decompress; a body that outgrows DOWNLOAD_MAXSIZE is refused naming the cap."""
        try:
            return super().process_response(request, response)
        except IgnoreRequest as exc:
            # The only IgnoreRequest decompression raises is for a body over DOWNLOAD_MAXSIZE.
            raise RefusedRequest(too_large(self._max_size, decompressed=True)) from exc


def too_large(max_bytes: int, *, decompressed: bool = False) -> str:
    """The failure reason of a page over the size cap."""
    how = " once decompressed" if decompressed else ""
    return f"the page is larger than CHAPTERHOUSE_MAX_PAGE_BYTES ({max_bytes} bytes){how}"


def _is_size_cancel(exception: Exception) -> bool:
    # Scrapy cancels a download for its size with "... larger than download max size (N) ..."
    # when the length was announced, and with no message when it was found while streaming.
    message = str(exception)
    return not message or "max size" in message


# --- wiring ----------------------------------------------------------------------------------

_COMPRESSION = "scrapy.downloadermiddlewares.httpcompression.HttpCompressionMiddleware"


def guarded_settings(settings: Settings, site: Site, config: dict[str, Any]) -> dict[str, Any]:
    """`config` (Scrapy settings) with the origin, address and size checks of this module."""
    extra = settings.extra_site_hosts
    middlewares = dict(config.get("DOWNLOADER_MIDDLEWARES") or {})
    middlewares.update(
        {
            # Before robots.txt (100), so an off-site host is not even asked for its robots.txt.
            "chapterhouse.crawl.safety.SafetyMiddleware": 25,
            _COMPRESSION: None,
            "chapterhouse.crawl.safety.BoundedDecompressionMiddleware": 590,
        }
    )
    return {
        **config,
        "DOWNLOADER_MIDDLEWARES": middlewares,
        "TWISTED_DNS_RESOLVER": "chapterhouse.crawl.safety.GuardedResolver",
        "DOWNLOAD_MAXSIZE": settings.max_page_bytes,
        "DOWNLOAD_WARNSIZE": settings.max_page_bytes // 2,
        "CHAPTERHOUSE_SITE_TITLE": site.title,
        "CHAPTERHOUSE_ALLOWED_HOSTS": site_hosts(site, extra),
        "CHAPTERHOUSE_TRUSTED_HOSTS": trusted_hosts(extra, settings.private_hosts_allowed),
    }
