"""Submissions decided in two processes at once still give one job per novel and hold the cap.

Each API worker (and the CLI) decides on its own connection. Here one connection holds its
decision uncommitted while another process's submission comes in: the second must wait for the
first's commit and see its job, never insert a second one.
"""

from __future__ import annotations

import asyncio
import threading

import asyncpg

from chapterhouse.config import Settings
from chapterhouse.db.aio import asyncpg_dsn
from chapterhouse.db.jobs import set_job
from chapterhouse.db.models import JobStatus
from chapterhouse.db.submit import Recorded, Submission, record_submissions
from chapterhouse.services import Runtime, SubmitResult, retry_job, submit_ingest

URL = "https://www.royalroad.com/fiction/4242/held"
WAIT = 0.5  # long enough for an unlocked submission to have finished


def submission(runtime: Runtime, url: str, client: str | None = None) -> Submission:
    site, ref = runtime.registry.resolve(url)
    return Submission(site.name, ref, client)


async def _held_then(
    runtime: Runtime, first: Submission, second: Submission, *, cap: int = 0
) -> tuple[Recorded, bool, Recorded]:
    """`first` decided and held uncommitted on one connection while `second` comes on another."""
    dsn = asyncpg_dsn(runtime.settings)
    one, two = await asyncpg.connect(dsn), await asyncpg.connect(dsn)
    try:
        async with one.transaction():
            held = await record_submissions(one, [first], cap=cap)
            other = asyncio.create_task(record_submissions(two, [second], cap=cap))
            await asyncio.sleep(WAIT)
            waited = not other.done()
        return held[0], waited, (await other)[0]
    finally:
        await one.close()
        await two.close()


def held_then(
    runtime: Runtime, first: Submission, second: Submission, *, cap: int = 0
) -> tuple[Recorded, bool, Recorded]:
    return asyncio.run(_held_then(runtime, first, second, cap=cap))


def test_the_same_novel_from_two_api_processes_gets_one_job(runtime: Runtime) -> None:
    first, waited, second = held_then(
        runtime, submission(runtime, URL, "a"), submission(runtime, URL, "b")
    )
    assert first.outcome == "created"
    assert waited  # the second process waited for the first's commit
    assert second.outcome == "active" and second.job["id"] == first.job["id"]


def test_a_clients_cap_holds_across_api_processes(runtime: Runtime) -> None:
    first, waited, second = held_then(
        runtime,
        submission(runtime, URL, "greedy"),
        submission(runtime, "https://www.royalroad.com/fiction/4243/other", "greedy"),
        cap=1,
    )
    assert first.outcome == "created"
    assert waited
    assert second.outcome == "capped" and second.job == {"active": 1}


def test_other_novels_and_clients_do_not_wait(runtime: Runtime) -> None:
    _, waited, second = held_then(
        runtime,
        submission(runtime, URL, "a"),
        submission(runtime, "https://www.royalroad.com/fiction/4243/other", "b"),
    )
    assert not waited and second.outcome == "created"


def test_the_cli_waits_for_an_api_process_deciding_on_the_same_novel(
    settings: Settings, runtime: Runtime
) -> None:
    results: list[SubmitResult] = []

    async def scenario() -> tuple[Recorded, bool]:
        one = await asyncpg.connect(asyncpg_dsn(settings))
        try:
            async with one.transaction():
                held = await record_submissions(one, [submission(runtime, URL)], cap=0)
                cli = threading.Thread(
                    target=lambda: results.append(submit_ingest(runtime, URL, enqueue=False))
                )
                cli.start()
                await asyncio.sleep(WAIT)
                waited = cli.is_alive()
            await asyncio.to_thread(cli.join, 30)
            return held[0], waited
        finally:
            await one.close()

    held, waited = asyncio.run(scenario())
    assert waited
    assert [r.created for r in results] == [False]
    assert results[0].job.id == held.job["id"]


def test_a_retry_waits_for_an_api_process_deciding_on_the_same_novel(
    settings: Settings, runtime: Runtime
) -> None:
    failed = submit_ingest(runtime, URL, enqueue=False).job.id
    with runtime.sessions() as session:
        set_job(session, failed, status=JobStatus.FAILED, error="boom")
    results: list[SubmitResult] = []

    async def scenario() -> tuple[Recorded, bool]:
        one = await asyncpg.connect(asyncpg_dsn(settings))
        try:
            async with one.transaction():
                held = await record_submissions(one, [submission(runtime, URL)], cap=0)
                retry = threading.Thread(target=lambda: results.append(retry_job(runtime, failed)))
                retry.start()
                await asyncio.sleep(WAIT)
                waited = retry.is_alive()
            await asyncio.to_thread(retry.join, 30)
            return held[0], waited
        finally:
            await one.close()

    held, waited = asyncio.run(scenario())
    assert held.outcome == "created" and waited
    # The novel's new job is returned; the failed one is not queued beside it.
    assert [(r.created, r.job.id) for r in results] == [(False, held.job["id"])]


def test_without_a_cap_one_clients_submissions_do_not_wait_for_each_other(
    runtime: Runtime,
) -> None:
    # A client is locked only to hold its cap: with none (0), its batches run side by side.
    _, waited, second = held_then(
        runtime,
        submission(runtime, URL, "importer"),
        submission(runtime, "https://www.royalroad.com/fiction/4243/other", "importer"),
        cap=0,
    )
    assert not waited and second.outcome == "created"


def test_submissions_never_scan_the_jobs_table_planned_while_it_was_empty(
    runtime: Runtime,
) -> None:
    # A fresh install: the jobs table analysed empty, then a burst of submissions on one
    # connection. A plan cached from those first runs would read every job for each new one.
    def batch(start: int, size: int) -> list[Submission]:
        return [
            submission(runtime, f"https://www.royalroad.com/fiction/{n}/burst")
            for n in range(start, start + size)
        ]

    async def seq_scans(conn: asyncpg.Connection) -> int:
        await conn.execute("SELECT pg_stat_force_next_flush()")
        return await conn.fetchval(
            "SELECT seq_scan FROM pg_stat_user_tables WHERE relname = 'ingestion_jobs'"
        )

    async def scenario() -> tuple[int, int]:
        conn = await asyncpg.connect(asyncpg_dsn(runtime.settings))
        try:
            await conn.execute("ANALYZE ingestion_jobs")
            for i in range(10):  # PostgreSQL may settle on one plan for all after five
                await record_submissions(conn, batch(10_000 + i, 1), cap=0)
            await record_submissions(conn, batch(20_000, 3000), cap=0)
            before = await seq_scans(conn)
            for i in range(5):
                await record_submissions(conn, batch(30_000 + i, 1), cap=0)
            return before, await seq_scans(conn)
        finally:
            await conn.close()

    before, after = asyncio.run(scenario())
    assert after == before
