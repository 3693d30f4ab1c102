"""Which origins and addresses a crawl may reach. Importing this module never imports Scrapy.

Submitted URLs (`crawl/registry.py`) and every request of a crawl (`crawl/safety.py`) are matched
against the same table of `host[:port]` keys, by `host_keys`, and their authority must be a plain
`host[:port]`. Host names are resolved once per crawl by `AddressGuard`, which refuses a host
that reaches a private, loopback, link-local or reserved address unless the operator named it.
"""

from __future__ import annotations

import ipaddress
import re
import socket
import threading
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import TYPE_CHECKING
from urllib.parse import SplitResult, urlsplit

from chapterhouse.errors import UnsafeAddressError

if TYPE_CHECKING:
    from chapterhouse.crawl.site import Site

DEFAULT_PORTS = {"http": 80, "https": 443}
# An authority is exactly `host[:port]`: no user info, no stray characters that one URL parser
# reads as part of the host and another as a separator.
_AUTHORITY = re.compile(r"^(?:\[[0-9a-f:.]+\]|[a-z0-9._-]+)(?::[0-9]{1,5})?$", re.IGNORECASE)
# IPv6 prefixes that carry an IPv4 address inside (NAT64 well-known prefix, RFC 6052).
_NAT64 = ipaddress.ip_network("64:ff9b::/96")


# --- origins ---------------------------------------------------------------------------------


def authority_problem(parts: SplitResult) -> str | None:
    """Why a split http(s) URL's authority is not a plain `host[:port]`, or None when it is."""
    if "@" in parts.netloc:
        return "URLs with a user name or password are not accepted"
    if not _AUTHORITY.match(parts.netloc):
        return f"{parts.netloc[:100]!r} is not a plain host[:port]"
    try:
        parts.port  # noqa: B018 - raises ValueError when out of range
    except ValueError:
        return f"{parts.netloc[:100]!r} has an invalid port"
    return None


def host_keys(scheme: str, host: str, port: int | None) -> tuple[str, ...]:
    """The `host[:port]` spellings an origin matches in a table of site hosts.

    A host listed without a port (a site's own domains) is reached on the scheme's default port
    only; a `host:port` entry on exactly that port.
    """
    name = f"[{host}]" if ":" in host else host
    default = DEFAULT_PORTS.get(scheme)
    if port is None or port == default:
        return (name, f"{name}:{default}")
    return (f"{name}:{port}",)


def site_hosts(site: Site, extra_hosts: Mapping[str, str]) -> list[str]:
    """Every `host[:port]` the site answers on: its domains and the configured mirrors."""
    return [*site.domains, *(host for host, name in extra_hosts.items() if name == site.name)]


def trusted_hosts(extra_hosts: Mapping[str, str], allow_private: Iterable[str]) -> list[str]:
    """Hosts that may resolve to private addresses: IP addresses the operator wrote in
    `CHAPTERHOUSE_SITE_HOSTS` (nothing to rebind), and the names they allowed by name."""
    trusted = {name.strip().lower() for name in allow_private if name.strip()}
    for key in extra_hosts:
        host = urlsplit(f"//{key}").hostname or ""
        try:
            ipaddress.ip_address(host)
        except ValueError:
            continue
        trusted.add(host)
    return sorted(trusted)


# --- addresses -------------------------------------------------------------------------------


def is_public(address: str) -> bool:
    """True for a globally reachable unicast address (IPv4 inside IPv6 judged as IPv4)."""
    ip = ipaddress.ip_address(address.split("%", 1)[0])  # drop an IPv6 zone (fe80::1%eth0)
    if isinstance(ip, ipaddress.IPv6Address):
        inner = ip.ipv4_mapped or ip.sixtofour
        if inner is None and ip in _NAT64:
            inner = ipaddress.IPv4Address(int(ip) & 0xFFFFFFFF)
        if inner is not None and not is_public(str(inner)):
            return False
    return ip.is_global and not ip.is_multicast


Resolve = Callable[[str], Sequence[tuple[int, str]]]


def system_resolve(host: str) -> list[tuple[int, str]]:
    """(family, address) pairs for a host name or IP literal, from the system resolver."""
    found: list[tuple[int, str]] = []
    for family, _, _, _, sockaddr in socket.getaddrinfo(host, None, type=socket.SOCK_STREAM):
        pair = (int(family), str(sockaddr[0]))
        if pair not in found:
            found.append(pair)
    return found


class AddressGuard:
    """Resolves each host once per crawl and refuses hosts that reach non-public addresses."""

    def __init__(self, trusted: Iterable[str] = (), resolve: Resolve = system_resolve) -> None:
        self.trusted = frozenset(host.lower() for host in trusted)
        self._resolve = resolve
        self._known: dict[str, list[tuple[int, str]] | UnsafeAddressError] = {}
        self._lock = threading.Lock()

    def cached(self, host: str) -> list[tuple[int, str]] | None:
        """The checked addresses of a host resolved before; raises when it was refused."""
        with self._lock:
            known = self._known.get(host.lower())
        if isinstance(known, UnsafeAddressError):
            raise known
        return known

    def check(self, host: str) -> list[tuple[int, str]]:
        """Resolve `host` (blocking) and return its addresses; raise UnsafeAddressError.

        A lookup that fails (socket.gaierror) is not remembered: it may work a moment later.
        """
        key = host.lower()
        known = self.cached(key)
        if known is not None:
            return known
        addresses = list(self._resolve(key))
        result: list[tuple[int, str]] | UnsafeAddressError = addresses
        if key not in self.trusted:
            refused = next((a for _, a in addresses if not is_public(a)), None)
            if refused is not None:
                result = UnsafeAddressError(
                    f"{host} resolves to {refused}, a private, loopback, link-local or reserved "
                    "address; add the host to CHAPTERHOUSE_ALLOW_PRIVATE_HOSTS if that is meant"
                )
        with self._lock:
            self._known[key] = result
        if isinstance(result, UnsafeAddressError):
            raise result
        return result
