"""Recording a submission on PostgreSQL in one statement (asyncpg): the API's `POST /ingest`.

The same decisions as `services.submit_ingest` makes through the ORM, which SQLite keeps
using: an active job of the novel is returned as is; a client at its cap on active jobs is
refused; otherwise a queued job is inserted with its RQ id, and committed before we answer.
One statement instead of five, and one for a whole burst of submissions (the API batches
them), after the burst's advisory locks (`db/locks.py`), which keep other processes deciding
on the same novels or clients waiting; the API's tests hold both paths to the same answers.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import asyncpg
import orjson

from chapterhouse.crawl.site import NovelRef
from chapterhouse.db.locks import LOCK_SQL, submission_keys
from chapterhouse.db.models import JobStatus

# One row per submission ($1..$7, arrays of the same length, novel keys distinct), in one
# statement: the novel's active job if it has one; else a new queued job, unless its client is
# at the cap ($8, 0: none) counting the jobs this batch gives it before; $9 the active statuses.
SUBMIT_SQL = """
WITH q AS (
    SELECT * FROM unnest(
        $1::text[], $2::text[], $3::text[], $4::text[], $5::bool[], $6::text[], $7::text[]
    ) WITH ORDINALITY AS q(novel_key, client, site, site_novel_id, is_novel, url, site_name, i)
), act AS (
    SELECT q.i, (
        SELECT id FROM ingestion_jobs j
        WHERE j.novel_key = q.novel_key AND j.status = ANY($9::text[])
        ORDER BY id LIMIT 1
    ) AS active_id
    FROM q
), load AS (
    SELECT c.client, (
        SELECT count(*) FROM ingestion_jobs j
        WHERE j.client = c.client AND j.status = ANY($9::text[])
    ) AS n
    FROM (SELECT DISTINCT client FROM q WHERE $8 > 0 AND client IS NOT NULL) c
), cand AS (
    SELECT q.*, coalesce(l.n, 0) + row_number() OVER (PARTITION BY q.client ORDER BY q.i) - 1
           AS before
    FROM q JOIN act USING (i) LEFT JOIN load l ON l.client = q.client
    WHERE act.active_id IS NULL
), made AS (
    INSERT INTO ingestion_jobs (
        id, url, site, novel_key, novel_id, status, chapters_done, attempts, failed_chapters,
        stats, rq_job_id, cancel_requested, client, created_at, updated_at
    )
    SELECT s.id, s.url, s.site_name, s.novel_key,
           (SELECT id FROM novels n WHERE s.is_novel AND n.site = s.site
            AND n.site_novel_id = s.site_novel_id),
           'queued', 0, 0, '[]', '{}', 'ingest-' || s.id, false, s.client,
           statement_timestamp(), statement_timestamp()
    FROM (
        SELECT c.*, nextval(pg_get_serial_sequence('ingestion_jobs', 'id'))::int AS id
        FROM (SELECT * FROM cand WHERE $8 <= 0 OR client IS NULL OR before < $8 ORDER BY i) c
    ) s
    RETURNING *
)
SELECT q.i, 'created' AS outcome, to_jsonb(m)::text AS job,
       (SELECT slug FROM novels WHERE id = m.novel_id) AS novel_slug, NULL::bigint AS active
FROM q JOIN made m ON m.novel_key = q.novel_key
UNION ALL
SELECT a.i, 'active', to_jsonb(j)::text, (SELECT slug FROM novels WHERE id = j.novel_id), NULL
FROM act a JOIN ingestion_jobs j ON j.id = a.active_id
UNION ALL
SELECT c.i, 'capped', NULL, NULL, c.before
FROM cand c WHERE NOT ($8 <= 0 OR c.client IS NULL OR c.before < $8)
"""

# The batch's advisory locks, and this transaction's statements planned for their own values.
# A plan cached once for any values (PostgreSQL's after five runs on a connection) is made from
# the sizes known then: on a fresh install, an empty jobs table, so it scans the table for every
# submission, slower with each job, until the next ANALYZE. Planning anew is a fraction of a
# millisecond a batch.
LOCK_AND_PLAN_SQL = f"SELECT set_config('plan_cache_mode', 'force_custom_plan', true), ({LOCK_SQL})"

MARK_FAILED_SQL = """
UPDATE ingestion_jobs SET status = $2, error = $3, finished_at = statement_timestamp(),
       updated_at = statement_timestamp()
WHERE id = ANY($1::int[])
"""


@dataclass(frozen=True, slots=True)
class Submission:
    """A URL resolved to its site and novel, and who submitted it (None: the CLI)."""

    site_name: str
    ref: NovelRef
    client: str | None


@dataclass(frozen=True, slots=True)
class Recorded:
    """What a submission led to: `created`, `active` (job returned as is) or `capped`."""

    outcome: str
    job: dict[str, Any]  # the job's columns, `novel_slug` added; `{"active": n}` when capped


async def record_submissions(
    conn: asyncpg.Connection, submissions: list[Submission], *, cap: int
) -> list[Recorded]:
    """What each submission leads to, in order, decided as if they came one after another.

    A novel submitted twice gets one job: the later submission finds it active.
    """
    # The statement takes each novel once; later submissions of a novel follow the first.
    firsts: dict[str, int] = {}
    distinct: list[Submission] = []
    for submission in submissions:
        if submission.ref.key not in firsts:
            firsts[submission.ref.key] = len(distinct)
            distinct.append(submission)
    async with conn.transaction():
        # Held to the commit: another process's submission of these novels or clients waits.
        # Clients are locked only for their cap: with none, one client's batches run side by side.
        clients = [s.client for s in distinct] if cap > 0 else []
        keys = submission_keys((s.ref.key for s in distinct), clients)
        await conn.fetchrow(LOCK_AND_PLAN_SQL, keys)
        rows = await conn.fetch(
            SUBMIT_SQL,
            [s.ref.key for s in distinct],
            [s.client for s in distinct],
            [s.ref.site for s in distinct],
            [s.ref.site_novel_id for s in distinct],
            [s.ref.kind == "novel" for s in distinct],  # a series is no novel: its id may be one's
            [s.ref.url for s in distinct],
            [s.site_name for s in distinct],
            cap,
            list(JobStatus.ACTIVE),
        )
    decided: dict[int, Recorded] = {}
    for row in rows:
        if row["outcome"] == "capped":
            decided[row["i"]] = Recorded("capped", {"active": row["active"]})
            continue
        job: dict[str, Any] = orjson.loads(row["job"])
        job["novel_slug"] = row["novel_slug"]
        decided[row["i"]] = Recorded(row["outcome"], job)
    answers: list[Recorded] = []
    seen: set[str] = set()
    for submission in submissions:
        key = submission.ref.key
        answer = decided[firsts[key] + 1]  # WITH ORDINALITY counts from 1
        if key in seen and answer.outcome == "created":
            answer = Recorded("active", answer.job)
        seen.add(key)
        answers.append(answer)
    return answers


async def mark_failed(conn: asyncpg.Connection, job_ids: list[int], error: str) -> None:
    """End jobs that could not be queued, with the reason."""
    await conn.execute(MARK_FAILED_SQL, job_ids, JobStatus.FAILED, error)
