"""Every registered site comes with its own fixture pages and a contract test over real pages,
and no domain is claimed by two sites. Written over the registry, so a new site file is held
to it the moment it is added."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from pathlib import Path
from typing import ClassVar

import pytest

from chapterhouse.crawl.registry import SiteRegistry, discover_sites
from chapterhouse.crawl.site import Site

TESTS_DIR = Path(__file__).resolve().parents[1]


def missing_companions(sites: Iterable[type[Site]], tests_dir: Path) -> list[str]:
    """What each site lacks: fixture pages of its own, a contract test over the real pages."""
    problems = []
    for site in sites:
        folder = tests_dir / "fixtures" / "sites" / site.name
        if not folder.is_dir() or not any(path.is_file() for path in folder.iterdir()):
            problems.append(f"{site.name}: no fixture pages in tests/fixtures/sites/{site.name}/")
        if not (tests_dir / "crawl" / f"test_{site.name}_contract.py").is_file():
            problems.append(
                f"{site.name}: no contract test tests/crawl/test_{site.name}_contract.py"
            )
    return problems


def shared_domains(sites: Iterable[type[Site]]) -> dict[str, list[str]]:
    """Domains claimed by more than one site, with the sites that claim them."""
    owners: dict[str, list[str]] = defaultdict(list)
    for site in sites:
        for domain in site.domains:
            owners[domain.strip().lower()].append(site.name)
    return {domain: names for domain, names in owners.items() if len(names) > 1}


def test_sites_are_registered() -> None:
    names = [site.name for site in discover_sites()]
    assert {"royalroad", "scribblehub"} <= set(names)


def test_every_registered_site_has_fixture_pages_and_a_contract_test() -> None:
    assert missing_companions(discover_sites(), TESTS_DIR) == []


def test_no_two_registered_sites_claim_one_domain() -> None:
    assert shared_domains(discover_sites()) == {}
    SiteRegistry()  # and the registry builds, which refuses a domain claimed twice


# --- the checks above can fail ---------------------------------------------------------------


class Stray(Site):
    """A made-up site, never registered (it lives outside crawl/sites/)."""

    name: ClassVar[str] = "stray"
    title: ClassVar[str] = "Stray"
    domains: ClassVar[tuple[str, ...]] = ("stray.invalid", "WWW.ScribbleHub.com")
    example_url: ClassVar[str] = "https://stray.invalid/novel/1"


def test_a_site_without_fixture_pages_or_contract_test_is_reported(tmp_path: Path) -> None:
    assert missing_companions([Stray], tmp_path) == [
        "stray: no fixture pages in tests/fixtures/sites/stray/",
        "stray: no contract test tests/crawl/test_stray_contract.py",
    ]
    (tmp_path / "fixtures" / "sites" / "stray").mkdir(parents=True)
    assert len(missing_companions([Stray], tmp_path)) == 2  # an empty folder is no fixture
    (tmp_path / "fixtures" / "sites" / "stray" / "novel.html").write_text("<html></html>")
    (tmp_path / "crawl").mkdir()
    (tmp_path / "crawl" / "test_stray_contract.py").write_text("")
    assert missing_companions([Stray], tmp_path) == []


def test_a_domain_claimed_twice_is_reported() -> None:
    scribblehub = next(site for site in discover_sites() if site.name == "scribblehub")
    assert shared_domains([scribblehub, Stray]) == {"www.scribblehub.com": ["scribblehub", "stray"]}


@pytest.mark.parametrize("site", discover_sites(), ids=lambda site: site.name)
def test_each_site_declares_what_sites_lists(site: type[Site]) -> None:
    # `chapterhouse sites` and the README's table show these for every site.
    assert site.title and site.domains and site.example_url and site.limits
    assert site.download_delay > 0 and site.concurrency >= 1
    assert SiteRegistry().resolve(site.example_url)[0].name == site.name
