"""What a worker imports before forking work horses: all a crawl needs, nothing it never uses."""

from __future__ import annotations

import json
import subprocess
import sys

from chapterhouse.config import Settings
from chapterhouse.services import Runtime, submit_ingest
from tests.conftest import settings_env
from tests.fakesite import royalroad
from tests.fakesite.server import FakeSite

# A worker preloads the crawl, then a work horse (forked from it) runs a job.
_SCRIPT = """
import json, sys
from chapterhouse.config import get_settings
from chapterhouse.crawl.preload import preload_crawl
settings = get_settings()
preload_crawl(settings)
preloaded = set(sys.modules)
from chapterhouse.crawl.ingest import run_job
status = run_job(settings, int(sys.argv[1]))
print(json.dumps({
    "status": status,
    "imported_by_the_job": sorted(
        m for m in set(sys.modules) - preloaded
        # The crawl installs its reactor; page decoding may load a codec.
        if m != "twisted.internet.reactor" and not m.startswith("encodings.")
    ),
    "unused_loaded": sorted(
        m for m in preloaded
        if m.split(".")[0] == "aiohttp" or m.startswith(("scrapy.contracts", "scrapy.exporters"))
    ),
}))
"""


def test_a_job_after_the_preload_imports_nothing_and_unused_components_are_not_loaded(
    site_settings: Settings, fake_site: FakeSite
) -> None:
    fiction = fake_site.add(royalroad.make_fiction(8101, 3))
    rt = Runtime(site_settings)
    try:
        job_id = submit_ingest(rt, fake_site.url(fiction), enqueue=False).job.id
    finally:
        rt.close()
    result = subprocess.run(
        [sys.executable, "-c", _SCRIPT, str(job_id)],
        env=settings_env(site_settings),
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout.strip().splitlines()[-1])
    assert report["status"] == "done"
    # Each work horse would otherwise import these anew, for every job.
    assert report["imported_by_the_job"] == [], " ".join(report["imported_by_the_job"])
    # Scrapy's remote control (an aiohttp server), contracts and feed exporters: never used.
    assert report["unused_loaded"] == []
