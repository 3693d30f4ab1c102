"""Maps URLs to sites. Every module in `crawl/sites/` is imported and its Site subclasses kept."""

from __future__ import annotations

import importlib
import pkgutil
from urllib.parse import SplitResult, urlsplit

from chapterhouse.crawl import sites as sites_package
from chapterhouse.crawl.hosts import authority_problem, host_keys
from chapterhouse.crawl.site import NovelRef, Site
from chapterhouse.errors import InvalidUrlError, UnknownDomainError, UnsupportedSiteError


def discover_sites() -> list[type[Site]]:
    """Import every site module and return the Site subclasses they define, by name."""
    found: dict[str, type[Site]] = {}
    for module_info in pkgutil.iter_modules(sites_package.__path__):
        module = importlib.import_module(f"{sites_package.__name__}.{module_info.name}")
        for value in vars(module).values():
            if (
                isinstance(value, type)
                and issubclass(value, Site)
                and value is not Site
                and value.__module__ == module.__name__
                and getattr(value, "name", None)
            ):
                if value.name in found:
                    raise RuntimeError(f"two sites are named {value.name!r}")
                found[value.name] = value
    return [found[name] for name in sorted(found)]


class SiteRegistry:
    """Domain → site lookup, with extra hosts (mirrors, test servers) from the settings."""

    def __init__(self, extra_hosts: dict[str, str] | None = None, max_url_length: int = 2048):
        self.sites: dict[str, Site] = {cls.name: cls() for cls in discover_sites()}
        self.max_url_length = max_url_length
        self._by_host: dict[str, Site] = {}
        for site in self.sites.values():
            for domain in site.domains:
                if domain in self._by_host:
                    raise RuntimeError(f"{domain} is claimed by two sites")
                self._by_host[domain] = site
        for host, name in (extra_hosts or {}).items():
            if name not in self.sites:
                raise ValueError(f"CHAPTERHOUSE_SITE_HOSTS names unknown site {name!r}")
            self._by_host[host] = self.sites[name]

    def get(self, name: str) -> Site:
        """The site registered under `name`."""
        return self.sites[name]

    def domains_for(self, name: str) -> list[str]:
        """The domains meant by a site name (`royalroad`) or by one domain (`www.royalroad.com`)."""
        key = name.strip().lower()
        if key in self.sites:
            site = self.sites[key]
            return sorted(host for host, owner in self._by_host.items() if owner is site)
        if key in self._by_host:
            return [key]
        known = sorted({*self.sites, *self._by_host})
        raise UnknownDomainError(
            f"{name[:100]!r} is neither a supported site nor one of its domains; known: "
            + ", ".join(known)
        )

    def resolve(self, url: str) -> tuple[Site, NovelRef]:
        """Validate a submitted URL and resolve it to its site and canonical novel."""
        parts = self._split(url)
        # The same host[:port] matching as every request of the crawl (crawl/safety.py).
        keys = host_keys(parts.scheme, (parts.hostname or "").lower(), parts.port)
        netloc = keys[0]  # a default port is dropped
        site = next((self._by_host[key] for key in keys if key in self._by_host), None)
        if site is None:
            raise UnsupportedSiteError(netloc, [s.title for s in self.sites.values()])
        clean = parts._replace(netloc=netloc, query="", fragment="")
        return site, site.novel_ref(clean)

    def _split(self, url: str) -> SplitResult:
        if not isinstance(url, str) or not url.strip():
            raise InvalidUrlError("url must be a non-empty string")
        url = url.strip()
        if len(url) > self.max_url_length:
            raise InvalidUrlError(f"url is longer than {self.max_url_length} characters")
        try:
            parts = urlsplit(url)
            parts.port  # noqa: B018 - raises ValueError on a bad port
        except ValueError as exc:
            raise InvalidUrlError(f"{url[:100]!r} is not a valid URL: {exc}") from None
        if parts.scheme.lower() not in ("http", "https"):
            raise InvalidUrlError(f"{url[:100]!r} is not an http(s) URL")
        if not parts.hostname:
            raise InvalidUrlError(f"{url[:100]!r} has no host")
        problem = authority_problem(parts)  # user info, stray characters around the host
        if problem is not None:
            raise InvalidUrlError(problem)
        return parts._replace(scheme=parts.scheme.lower())
