"""`chapterhouse follow / unfollow / following`, run as a user runs them."""

from __future__ import annotations

import subprocess

from chapterhouse.config import Settings
from chapterhouse.services import Runtime
from tests.conftest import run_cli
from tests.factories import make_chapter, make_novel


def assert_one_red_line(result: subprocess.CompletedProcess[str], text: str) -> None:
    assert result.returncode == 1
    assert "Traceback" not in result.stderr + result.stdout
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(lines) == 1 and lines[0].startswith("error:") and text in lines[0], result.stderr


def test_follow_list_and_unfollow(settings: Settings, runtime: Runtime) -> None:
    with runtime.sessions() as session:
        novel = make_novel(session, "cli-tale", title="The CLI Tale")
        make_chapter(session, novel, 1)
        session.commit()

    followed = run_cli(settings, "follow", "cli-tale")
    assert followed.returncode == 0, followed.stderr
    assert "following cli-tale; next check 20" in followed.stdout and "UTC" in followed.stdout

    listing = run_cli(settings, "following")
    assert listing.returncode == 0, listing.stderr
    assert "The CLI Tale" in listing.stdout and "6.0 h" in listing.stdout
    assert "1 followed novel(s)" in listing.stdout

    unfollowed = run_cli(settings, "unfollow", "cli-tale")
    assert unfollowed.returncode == 0 and "no longer following cli-tale" in unfollowed.stdout
    assert "0 followed novel(s)" in run_cli(settings, "following").stdout


def test_following_an_unknown_novel_is_one_red_line(settings: Settings) -> None:
    assert_one_red_line(run_cli(settings, "follow", "nope"), "no novel has slug 'nope'")
    assert_one_red_line(run_cli(settings, "unfollow", "nope"), "no novel has slug 'nope'")
