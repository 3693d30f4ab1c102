"""Only the site's own hosts, on public addresses, are ever fetched: at submission and per request.

The unit tests feed the tricky spellings to the registry (submission) and to the downloader
middleware (every request, redirects included); the e2e tests crawl with a real worker against
the fake site, with a second local server standing in for the host an attacker wants reached.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from typing import Any

import pytest
from fastapi.testclient import TestClient
from scrapy import Request

from chapterhouse.api.app import create_app
from chapterhouse.config import Settings
from chapterhouse.crawl.hosts import AddressGuard, is_public, system_resolve, trusted_hosts
from chapterhouse.crawl.registry import SiteRegistry
from chapterhouse.crawl.safety import GuardedResolver, RefusedRequest, SafetyMiddleware
from chapterhouse.errors import ChapterhouseError, UnsafeAddressError
from tests.conftest import run_cli
from tests.fakesite import royalroad
from tests.fakesite.server import FakeSite, RawAnswer, serve

MIRROR = "127.0.0.1:8765"

# Each one names a host no site answers on, however it is spelled.
HOSTILE_URLS = [
    "http://169.254.169.254/latest/meta-data/",
    "http://localhost:6379/",
    "http://2130706433/fiction/1",
    "http://0x7f.1/fiction/1",
    "http://017700000001/fiction/1",
    "http://127.1/fiction/1",
    "http://[::1]:6379/",
    "http://[::ffff:127.0.0.1]/fiction/1",
    "http://[0:0:0:0:0:ffff:7f00:1]:8765/fiction/1",
    "https://www.royalroad.com@evil.example/fiction/1",
    "https://www.royalroad.com:443@evil.example/fiction/1",
    "https://evil.example#@www.royalroad.com/fiction/1",
    "https://www.royalroad.com.evil.example/fiction/1",
    "https://www.royalroad.com./fiction/1",  # another spelling: not the host we know
    "https://www.royalroad.com:6379/fiction/1",  # the site's host, another port
    "http://127.0.0.1:6379/fiction/1",  # the mirror's address, another port
    "http://127.0.0.1/fiction/1",  # ... and its default one
]


# --- submission ------------------------------------------------------------------------------


@pytest.mark.parametrize("url", HOSTILE_URLS)
def test_submitting_a_url_off_the_sites_is_refused(url: str) -> None:
    registry = SiteRegistry({MIRROR: "royalroad"})
    with pytest.raises(ChapterhouseError) as refused:
        registry.resolve(url)
    assert "supported site" in refused.value.message or "not accepted" in refused.value.message


@pytest.mark.parametrize(
    "url",
    [
        "https://www.royalroad.com\\@evil.example/fiction/1",
        "https://www.royalroad.com%40evil.example/fiction/1",
        "https://user:pass@www.royalroad.com/fiction/1",
    ],
)
def test_an_authority_that_is_not_a_plain_host_is_refused(url: str) -> None:
    with pytest.raises(ChapterhouseError):
        SiteRegistry({MIRROR: "royalroad"}).resolve(url)


@pytest.mark.parametrize(
    ("url", "novel"),
    [
        ("https://www.royalroad.com:443/fiction/7/x", "https://www.royalroad.com/fiction/7/x"),
        (f"http://{MIRROR}/fiction/7/x", f"http://{MIRROR}/fiction/7/x"),
    ],
)
def test_the_sites_own_hosts_are_still_accepted(url: str, novel: str) -> None:
    site, ref = SiteRegistry({MIRROR: "royalroad"}).resolve(url)
    assert site.name == "royalroad" and ref.url == novel


# --- every request of a crawl ----------------------------------------------------------------


def guard_with(table: dict[str, list[str]], trusted: tuple[str, ...] = ()) -> AddressGuard:
    """A guard whose lookups answer from `table` (host -> addresses), for names we don't own."""

    def resolve(host: str) -> list[tuple[int, str]]:
        return [(10 if ":" in address else 2, address) for address in table[host]]

    return AddressGuard(trusted, resolve=resolve)


def middleware(guard: AddressGuard | None = None) -> SafetyMiddleware:
    allowed = ["www.royalroad.com", "royalroad.com", MIRROR]
    guard = guard or guard_with(
        {"www.royalroad.com": ["104.18.0.1"], "127.0.0.1": ["127.0.0.1"]}, trusted=("127.0.0.1",)
    )
    return SafetyMiddleware("Royal Road", allowed, max_bytes=1000, guard=guard)


def fetch(mw: SafetyMiddleware, url: str, **meta: object) -> None:
    asyncio.run(mw.process_request(Request(url, meta=meta)))


@pytest.mark.parametrize("url", [*HOSTILE_URLS, "ftp://www.royalroad.com/fiction/1"])
def test_a_request_off_the_sites_origins_is_refused(url: str) -> None:
    with pytest.raises(RefusedRequest) as refused:
        fetch(middleware(), url)
    assert str(refused.value).startswith("refused: ")


def test_a_refused_request_names_the_host_and_the_site() -> None:
    with pytest.raises(RefusedRequest, match=r"evil\.example is not a host of Royal Road"):
        fetch(middleware(), "https://evil.example/fiction/1/x/chapter/2/y")


def test_a_redirect_off_the_site_is_refused_naming_its_target() -> None:
    with pytest.raises(RefusedRequest, match=r"^refused a redirect to http://169\.254\.169\.254/"):
        fetch(
            middleware(),
            "http://169.254.169.254/latest/",
            redirect_urls=["https://www.royalroad.com/fiction/1"],
        )


def test_requests_to_the_sites_own_origins_pass() -> None:
    mw = middleware()
    for url in (
        "https://www.royalroad.com/fiction/1/x/chapter/2/y",
        "https://www.royalroad.com:443/robots.txt",
        f"http://{MIRROR}/fiction/1",
    ):
        fetch(mw, url)  # raises when refused


@pytest.mark.parametrize(
    "address",
    [
        "127.0.0.1", "10.1.2.3", "172.16.0.1", "192.168.1.1", "169.254.169.254", "100.64.0.1",
        "0.0.0.0", "224.0.0.1", "255.255.255.255", "::1", "::", "fe80::1", "fc00::1",
        "::ffff:127.0.0.1", "::ffff:10.0.0.1", "64:ff9b::7f00:1", "2002:7f00:1::",
        "2002:a9fe:a9fe::1", "ff02::1",
    ],
)  # fmt: skip
def test_a_site_host_resolving_to_a_private_address_is_refused(address: str) -> None:
    # The site's own host, answered by a DNS server that points it inside the network.
    mw = middleware(guard_with({"www.royalroad.com": [address]}))
    with pytest.raises(RefusedRequest) as refused:
        fetch(mw, "https://www.royalroad.com/fiction/1")
    message = str(refused.value)
    assert f"resolves to {address}" in message
    assert "CHAPTERHOUSE_ALLOW_PRIVATE_HOSTS" in message


def test_one_private_address_among_public_ones_is_enough_to_refuse() -> None:
    guard = guard_with({"www.royalroad.com": ["104.18.0.1", "2606:4700::1", "10.0.0.7"]})
    with pytest.raises(UnsafeAddressError, match=r"10\.0\.0\.7"):
        guard.check("www.royalroad.com")


def test_a_refused_host_stays_refused_for_the_crawl() -> None:
    # The first answer is remembered: a rebinding DNS server cannot turn it around later.
    answers = iter([["10.0.0.7"], ["104.18.0.1"]])
    guard = AddressGuard(resolve=lambda host: [(2, next(answers)[0])])
    for _ in range(2):
        with pytest.raises(UnsafeAddressError):
            guard.check("www.royalroad.com")


def test_a_checked_host_keeps_the_addresses_it_was_checked_with() -> None:
    answers = iter([["104.18.0.1"], ["127.0.0.1"]])
    guard = AddressGuard(resolve=lambda host: [(2, next(answers)[0])])
    assert guard.check("www.royalroad.com") == [(2, "104.18.0.1")]
    assert guard.check("www.royalroad.com") == [(2, "104.18.0.1")]


def test_a_host_named_by_the_operator_may_be_private() -> None:
    guard = guard_with({"mirror.lan": ["192.168.1.20"]}, trusted=("mirror.lan",))
    assert guard.check("mirror.lan") == [(2, "192.168.1.20")]


class Receiver:
    """What Twisted's endpoint gives the resolver to report addresses to."""

    def __init__(self) -> None:
        self.addresses: list[Any] = []
        self.complete = False

    def resolutionBegan(self, resolution: object) -> None:  # Twisted's camelCase interface
        pass

    def addressResolved(self, address: Any) -> None:
        self.addresses.append(address)

    def resolutionComplete(self) -> None:
        self.complete = True


def test_the_resolver_gives_twisted_no_address_of_a_refused_host() -> None:
    # Behind the middleware, the connection itself cannot reach a refused host.
    guard = guard_with({"www.royalroad.com": ["10.0.0.7"], "royalroad.com": ["104.18.0.1"]})
    with pytest.raises(UnsafeAddressError):
        guard.check("www.royalroad.com")
    guard.check("royalroad.com")
    resolver = GuardedResolver(reactor=None, guard=guard)
    refused, allowed = Receiver(), Receiver()
    resolver.resolveHostName(refused, "www.royalroad.com", 443)
    resolver.resolveHostName(allowed, "royalroad.com", 443)
    assert refused.complete and refused.addresses == []
    assert allowed.complete
    assert [(a.host, a.port) for a in allowed.addresses] == [("104.18.0.1", 443)]


@pytest.mark.parametrize("host", ["localhost", "2130706433", "0x7f.1", "127.1", "::1"])
def test_the_system_resolver_spellings_of_loopback_are_refused(host: str) -> None:
    # Real lookups: every one of these reaches 127.0.0.1 or ::1 without any DNS server.
    with pytest.raises(UnsafeAddressError):
        AddressGuard().check(host)


def test_public_addresses_are_public() -> None:
    assert all(is_public(a) for a in ("104.18.0.1", "8.8.8.8", "2606:4700::1"))
    assert system_resolve("127.0.0.1") == [(2, "127.0.0.1")]


def test_only_addresses_written_in_site_hosts_are_trusted_without_naming_them() -> None:
    extra = {MIRROR: "royalroad", "[::1]:9000": "royalroad", "localhost:9001": "royalroad"}
    assert trusted_hosts(extra, []) == ["127.0.0.1", "::1"]
    assert trusted_hosts(extra, ["LocalHost "]) == ["127.0.0.1", "::1", "localhost"]


# --- crawls, end to end ----------------------------------------------------------------------


@pytest.fixture
def elsewhere() -> Iterator[FakeSite]:
    """A second local server: the off-site host a page tries to send the crawl to."""
    site = FakeSite()
    server = serve(site)
    yield site
    server.shutdown()
    server.server_close()


@pytest.fixture
def client(site_settings: Settings) -> Iterator[TestClient]:
    with TestClient(create_app(site_settings)) as client:
        yield client


def submit(client: TestClient, url: str) -> int:
    response = client.post("/ingest", json={"url": url})
    assert response.status_code == 202, response.text
    return int(response.json()["job_id"])


def burst(settings: Settings) -> None:
    result = run_cli(settings, "worker", "--burst")
    assert result.returncode == 0, result.stderr[-2000:]


def with_content(page: str, markup: str) -> str:
    """A chapter page with `markup` at the start of its content."""
    opening = '<div class="chapter-inner chapter-content">'
    assert opening in page
    return page.replace(opening, opening + markup, 1)


@pytest.mark.e2e
def test_redirects_off_the_site_are_refused_and_on_the_site_followed(
    client: TestClient, site_settings: Settings, fake_site: FakeSite, elsewhere: FakeSite
) -> None:
    away = f"http://{elsewhere.host}"
    moved = fake_site.add(royalroad.make_fiction(3101, 2))
    fake_site.raw[royalroad.fiction_path(moved)] = RawAnswer(
        status=301, headers={"Location": f"{away}/fiction/3101/moved"}
    )
    refreshed = fake_site.add(royalroad.make_fiction(3102, 2))
    fake_site.pages[royalroad.fiction_path(refreshed)] = (
        f'<html><head><meta http-equiv="refresh" content="0;url={away}/"></head></html>'
    )
    mixed = fake_site.add(royalroad.make_fiction(3103, 3))
    _, two, three = (royalroad.chapter_path(mixed, c) for c in mixed.chapters)
    fake_site.raw[two] = RawAnswer(status=302, headers={"Location": f"{away}{two}"})
    fake_site.raw[three] = RawAnswer(status=302, headers={"Location": "/moved/chapter/3"})
    fake_site.pages["/moved/chapter/3"] = royalroad.chapter_html(mixed, mixed.chapters[2])
    jobs = [submit(client, fake_site.url(f)) for f in (moved, refreshed, mixed)]

    burst(site_settings)

    first, second, third = (client.get(f"/jobs/{job}").json() for job in jobs)
    assert first["status"] == "failed"
    assert f"refused a redirect to {away}/fiction/3101/moved" in first["error"]
    assert f"{elsewhere.host} is not a host of Royal Road" in first["error"]
    assert second["status"] == "failed" and f"refused a redirect to {away}/" in second["error"]
    assert third["status"] == "partial"
    [failed] = third["failed_chapters"]
    assert failed["number"] == 2 and f"refused a redirect to {away}{two}" in failed["error"]
    chapters = client.get(f"/novels/{third['novel_slug']}/chapters").json()["items"]
    assert [c["number"] for c in chapters] == [1, 3]  # the redirect on the site was followed
    assert elsewhere.hits == []  # not a page, not even robots.txt


@pytest.mark.e2e
def test_off_site_chapter_links_and_images_are_never_fetched(
    client: TestClient, site_settings: Settings, fake_site: FakeSite, elsewhere: FakeSite
) -> None:
    away = f"http://{elsewhere.host}"
    fiction = royalroad.make_fiction(3104, 3)
    fiction.cover_url = f"{away}/covers/3104.jpg"
    fake_site.add(fiction)
    off_site = royalroad.chapter_path(fiction, fiction.chapters[1])
    fake_site.pages[royalroad.fiction_path(fiction)] = royalroad.fiction_html(fiction).replace(
        off_site, f"{away}{off_site}"
    )
    pictured = royalroad.chapter_path(fiction, fiction.chapters[2])
    fake_site.pages[pictured] = with_content(
        royalroad.chapter_html(fiction, fiction.chapters[2]),
        f'<p><img src="{away}/art/map.png"><img src="/art/local.png"></p>',
    )
    job = submit(client, fake_site.url(fiction))

    burst(site_settings)

    result = client.get(f"/jobs/{job}").json()
    assert result["status"] == "partial"
    [failed] = result["failed_chapters"]
    assert failed["number"] == 2
    assert f"refused: {elsewhere.host} is not a host of Royal Road" in failed["error"]
    chapter = client.get(f"/novels/{result['novel_slug']}/chapters/3").json()
    # Kept as absolute URLs for the reader's browser; the crawl fetched neither.
    assert f'src="{away}/art/map.png"' in chapter["content"]
    assert f'src="http://{fake_site.host}/art/local.png"' in chapter["content"]
    assert fake_site.paths("/art") == []
    assert elsewhere.hits == []


@pytest.mark.e2e
def test_a_host_name_on_a_private_address_is_fetched_only_once_allowed(
    settings: Settings, fake_site: FakeSite
) -> None:
    fiction = fake_site.add(royalroad.make_fiction(3105, 2))
    named = f"localhost:{fake_site.port}"
    mapped = settings.model_copy(update={"site_hosts": f"{named}=royalroad"})
    with TestClient(create_app(mapped)) as client:
        job = submit(client, f"http://{named}{royalroad.fiction_path(fiction)}")
        burst(mapped)
        refused = client.get(f"/jobs/{job}").json()
        assert refused["status"] == "failed"
        assert "localhost resolves to" in refused["error"]
        assert "CHAPTERHOUSE_ALLOW_PRIVATE_HOSTS" in refused["error"]
        assert fake_site.hits == []

        assert client.post(f"/jobs/{job}/retry").status_code == 202
        burst(mapped.model_copy(update={"allow_private_hosts": "localhost"}))
        assert client.get(f"/jobs/{job}").json()["status"] == "done"
    assert len(fake_site.paths(royalroad.fiction_path(fiction) + "/chapter/")) == 2
