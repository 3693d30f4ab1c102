"""Import, once in the worker, every module a crawl would import in each work horse.

RQ forks a work horse per job, and nothing a horse imports survives it. Scrapy imports most of
its components (downloader handlers, middlewares, extensions, the scheduler) only when a
crawler starts, by dotted path: each job paid ~1 s of CPU for them, which is most of a follow
check's cost. Imported here, before the first fork, every horse inherits them. Nothing is
instantiated and no reactor is installed: only modules are loaded.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Iterator
from typing import Any

from chapterhouse.config import Settings

log = logging.getLogger(__name__)

_DOTTED = re.compile(r"^[A-Za-z_]\w*(\.[A-Za-z_]\w*)+$")
# Installing a reactor in the worker would break the horses (each installs its own).
_REACTOR = "twisted.internet.reactor"
# Components only `scrapy check` and feed exports load; a crawl of ours uses neither.
_NEVER_LOADED = frozenset({"SPIDER_CONTRACTS", "FEED_EXPORTERS", "FEED_STORAGES"})


def preload_crawl(settings: Settings) -> int:
    """Import the crawl's modules and the Scrapy components its settings name; return a count."""
    import ctypes.util  # noqa: F401  (the store process ties its life to the crawl's)
    import multiprocessing.popen_fork  # noqa: F401  (how the store process is forked)
    import sys

    from scrapy.settings import Settings as ScrapySettings
    from scrapy.utils.misc import load_object

    import chapterhouse.crawl.check
    import chapterhouse.crawl.ingest  # noqa: F401
    from chapterhouse.crawl.registry import SiteRegistry
    from chapterhouse.crawl.runner import scrapy_settings
    from chapterhouse.db.engine import make_engine

    # Making an engine loads the database driver (~80 modules for psycopg); nothing connects.
    make_engine(settings).dispose()

    registry = SiteRegistry(settings.extra_site_hosts, settings.max_url_length)
    paths: set[str] = set()
    for site in registry.sites.values():
        paths.update(_object_paths(ScrapySettings(scrapy_settings(settings, site)).copy_to_dict()))
    loaded = 0
    for path in sorted(paths):
        if path.startswith(_REACTOR) or path.startswith("twisted.internet.asyncioreactor"):
            continue
        try:
            load_object(path)
            loaded += 1
        except Exception as exc:  # an optional component (S3, FTP, HTTP/2) may lack its library
            log.debug("not preloaded: %s (%s)", path, exc)
    assert _REACTOR not in sys.modules, "preloading installed a reactor"
    return loaded


def _object_paths(config: dict[str, Any]) -> Iterator[str]:
    """Dotted paths a crawl loads: plain values, and the enabled entries of component dicts.

    A component dict is Scrapy's `X_BASE` merged with `X`, where `None` switches one off: a
    switched-off component is never imported by a crawl, so it is not preloaded either.
    """
    for name, value in config.items():
        if name in _NEVER_LOADED or name.removesuffix("_BASE") in _NEVER_LOADED:
            continue
        if isinstance(value, str) and _DOTTED.match(value):
            yield value
        elif isinstance(value, dict) and not name.endswith("_BASE"):
            merged = {**(config.get(f"{name}_BASE") or {}), **value}
            for key, item in merged.items():
                if item is None:
                    continue
                if isinstance(key, str) and _DOTTED.match(key):
                    yield key
                if isinstance(item, str) and _DOTTED.match(item):
                    yield item
