"""`chapterhouse pause`, `resume`, `drain` and the paused state in `queue`."""

from __future__ import annotations

import subprocess

from redis import Redis

from chapterhouse.config import Settings
from tests.conftest import run_cli
from tests.test_cli import assert_one_red_line, running_worker  # noqa: F401 - a fixture


def test_pause_resume_and_queue_show_the_paused_state(settings: Settings) -> None:
    paused = run_cli(settings, "pause")
    assert paused.returncode == 0 and "queue paused" in paused.stdout
    site = run_cli(settings, "pause", "royalroad")
    assert site.returncode == 0 and "www.royalroad.com" in site.stdout

    shown = run_cli(settings, "queue")
    assert "queue paused" in shown.stdout
    assert "paused domains: royalroad.com, www.royalroad.com" in shown.stdout

    assert run_cli(settings, "resume").returncode == 0
    assert run_cli(settings, "resume", "royalroad").returncode == 0
    shown = run_cli(settings, "queue")
    assert "queue running" in shown.stdout and "paused domains" not in shown.stdout


def test_drain_without_jobs_returns_at_once_and_leaves_the_queue_paused(
    settings: Settings,
) -> None:
    result = run_cli(settings, "drain", "--wait", "--timeout", "5")
    assert result.returncode == 0, result.stderr
    assert "drained: no job is running; 0 job(s) stay queued" in result.stdout
    assert Redis.from_url(settings.redis_url).sismember("chapterhouse:paused:queues", "ingestion")


def test_unknown_domain_is_one_red_line(settings: Settings) -> None:
    assert_one_red_line(run_cli(settings, "pause", "example.com"), "'example.com' is neither")


def test_doctor_says_the_queue_is_paused_instead_of_waiting_for_the_probe(
    site_settings: Settings,
    running_worker: subprocess.Popen[bytes],  # noqa: F811
) -> None:
    assert run_cli(site_settings, "pause").returncode == 0
    result = run_cli(site_settings, "doctor", "--probe-timeout", "30")
    assert result.returncode == 1
    assert "✗ probe job: the queue is paused: `chapterhouse resume`" in result.stdout
