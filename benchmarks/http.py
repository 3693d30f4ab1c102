"""HTTP benchmark: `POST /ingest` and the library reads under load, beside their yardsticks.

    .venv/bin/python -m benchmarks.http [--duration S] [--connections N] [--workers N] [--quick]

Everything runs on loopback and is torn down at the end: a private PostgreSQL database, a
private Redis db number, the API as `chapterhouse serve`, the two baselines of
`benchmarks.http_baselines` and, when it is installed, scrapyd, all under the same uvicorn
settings. wrk loads each in turn from one run, so the ratios hold on a noisy machine.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shlex
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from importlib.util import find_spec
from pathlib import Path

import httpx
from redis import Redis
from sqlalchemy import Engine, text
from tests.fakesite import royalroad

from benchmarks.common import child_env, private_postgres, private_redis, progress, table
from benchmarks.seed import analyze, insert_novel
from chapterhouse.config import Settings
from chapterhouse.db.engine import make_engine

SUBMIT_GOAL_VS_SCRAPYD = 2.5  # POST /ingest req/s at least this many times scrapyd's
SUBMIT_P99_MS = 50.0
READ_GOAL_VS_CONSTANT = 0.40  # each read at least this share of the constant endpoint's req/s
READ_P99_MS = 20.0
CHAPTERS = 1_000  # in the novel whose chapters are read at random
NOVELS = 200  # in the library `GET /novels` lists, 20 to a page
GENRES = ("Action", "Adventure", "Comedy", "Drama", "Fantasy", "Horror", "Mystery", "Romance")
# Submissions name real Royal Road URLs: nothing is fetched, as no worker runs meanwhile.
SUBMIT_URL = "https://www.royalroad.com/fiction/{id}/bench"

# One done() for every row: wrk's summary and each thread's counts, as JSON, to a file.
DONE_LUA = r"""
local threads = {}
local counter = 0
function setup(thread)
  counter = counter + 1
  thread:set("tid", counter)
  table.insert(threads, thread)
end
function done(summary, latency, requests)
  local accepted, ids = 0, {}
  for _, t in ipairs(threads) do
    accepted = accepted + (t:get("accepted") or 0)
    for _, id in ipairs(t:get("ids") or {}) do ids[#ids + 1] = id end
  end
  local e = summary.errors
  local f = io.open(OUT, "w")
  f:write(string.format(
    '{"requests": %d, "duration_us": %d, "errors": %d, "non_2xx": %d, ' ..
    '"p50_us": %d, "p99_us": %d, "accepted": %d, "ids": [%s]}',
    summary.requests, summary.duration, e.connect + e.read + e.write + e.timeout, e.status,
    latency:percentile(50), latency:percentile(99), accepted, table.concat(ids, ",")))
  f:close()
end
"""

# POST /ingest: a new Royal Road fiction id per request; the job ids of the 202s are kept.
SUBMIT_LUA = r"""
function init(args)
  n, accepted, ids = 0, 0, {}
  base = BASE + tid * 10000000
end
function request()
  n = n + 1
  local body = '{"url": "' .. string.format(URL, base + n) .. '"}'
  return wrk.format("POST", "/ingest", {["Content-Type"] = "application/json"}, body)
end
function response(status, headers, body)
  if status == 202 then
    accepted = accepted + 1
    ids[#ids + 1] = string.match(body, '"job_id":%s*(%d+)')
  end
end
"""

# scrapyd's schedule.json: form data; it answers 200 with "status": "ok" when it queued.
SCRAPYD_LUA = r"""
function init(args)
  accepted = 0
end
wrk.method = "POST"
wrk.body = "project=bench&spider=bench"
wrk.headers["Content-Type"] = "application/x-www-form-urlencoded"
function response(status, headers, body)
  if string.find(body, '"status": "ok"', 1, true) then accepted = accepted + 1 end
end
"""

# A chapter at random from the stored novel.
CHAPTER_LUA = r"""
function init(args)
  math.randomseed(tid * 7919)
end
function request()
  return wrk.format("GET", string.format(PATH, math.random(1, CHAPTERS)))
end
"""

SCRAPYD_CONF = """\
[scrapyd]
bind_address = 127.0.0.1
http_port = {port}
# The launcher stays idle: jobs are queued and never started, as our worker-less submit.
poll_interval = 3600
logs_dir = {root}/logs
dbs_dir = {root}/dbs
eggs_dir = {root}/eggs
"""
SCRAPY_CFG = "[settings]\ndefault = benchproject.settings\nbench = benchproject.settings\n"
SPIDER = 'import scrapy\n\n\nclass Bench(scrapy.Spider):\n    name = "bench"\n'


@dataclass(frozen=True, slots=True)
class Load:
    """What wrk measured for one row."""

    label: str
    requests: int
    seconds: float
    errors: int  # connect, read, write errors and timeouts
    non_2xx: int
    p50_ms: float
    p99_ms: float
    accepted: int  # 202s (submit) or "status": "ok" (scrapyd); 0 where not counted
    ids: list[int]  # job ids of the 202s (submit)

    @property
    def rate(self) -> float:
        """Requests answered per second."""
        return self.requests / self.seconds


def free_port() -> int:
    """A loopback port nobody listens on right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def uvicorn_args(workers: int) -> list[str]:
    """The server settings `chapterhouse serve` uses, for the baselines."""
    return [
        "--workers", str(workers),
        "--loop", "uvloop",
        "--http", "httptools",
        "--no-access-log",
        "--log-level", "warning",
    ]  # fmt: skip


@contextmanager
def server(
    label: str, command: list[str], ready: str, *, env: dict[str, str], cwd: Path
) -> Iterator[str]:
    """Run `command` in a process group of its own until `ready` (a URL) answers; yield it."""
    log = tempfile.TemporaryFile("w+")  # noqa: SIM115 - closed in the finally below
    proc = subprocess.Popen(
        command, env=env, cwd=cwd, stdout=log, stderr=subprocess.STDOUT, start_new_session=True
    )
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                if httpx.get(ready, timeout=5).status_code < 500:
                    break
            except httpx.TransportError:
                pass
            if proc.poll() is not None or time.monotonic() > deadline:
                log.seek(0)
                raise RuntimeError(f"{label} did not start:\n{log.read()[-3000:]}")
            time.sleep(0.2)
        yield ready
    finally:
        try:
            os.killpg(proc.pid, signal.SIGTERM)
            proc.wait(timeout=30)
        except (ProcessLookupError, subprocess.TimeoutExpired):
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
        log.close()


def base_env(workdir: Path) -> dict[str, str]:
    """The benchmark's environment for a child, with the repository importable."""
    return child_env(Settings(data_dir=workdir / "data"))


def run_wrk(
    label: str,
    url: str,
    script: str,
    *,
    connections: int,
    threads: int,
    duration: float,
    workdir: Path,
    **constants: str | int,
) -> Load:
    """Load `url` with wrk for `duration` seconds; `script` plus DONE_LUA, `constants` as Lua."""
    out = workdir / f"wrk-{time.monotonic_ns()}.json"
    header = "".join(f"{name} = {json.dumps(value)}\n" for name, value in constants.items())
    lua = workdir / f"{out.stem}.lua"
    lua.write_text(f"OUT = {json.dumps(str(out))}\n{header}{script}{DONE_LUA}")
    command = [
        "wrk", "-t", str(threads), "-c", str(connections), "-d", f"{duration:g}s",
        "--timeout", "10s", "-s", str(lua), url,
    ]  # fmt: skip
    subprocess.run(command, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    data = json.loads(out.read_text())
    return Load(
        label=label,
        requests=data["requests"],
        seconds=data["duration_us"] / 1e6,
        errors=data["errors"],
        non_2xx=data["non_2xx"],
        p50_ms=data["p50_us"] / 1000,
        p99_ms=data["p99_us"] / 1000,
        accepted=data["accepted"],
        ids=[int(i) for i in data["ids"]],
    )


# --- state ------------------------------------------------------------------------------------


def seed_library(engine: Engine) -> str:
    """The stored library: NOVELS novels with genres, one with CHAPTERS chapters; its slug."""
    origin = "https://www.royalroad.com"
    big = royalroad.make_fiction(500_001, CHAPTERS)
    insert_novel(engine, big, origin)
    for i in range(NOVELS - 1):
        insert_novel(engine, royalroad.make_fiction(500_002 + i, 0), origin, chapters=0)
    with engine.begin() as conn:
        for name in GENRES:
            conn.execute(
                text("INSERT INTO genres (slug, name) VALUES (:slug, :name)"),
                {"slug": name.lower(), "name": name},
            )
        # Three genres per novel, as listings show them.
        conn.execute(
            text(
                "INSERT INTO novel_genres (novel_id, genre_id) "
                "SELECT n.id, g.id FROM novels n JOIN genres g "
                "ON (n.id + g.id) % :count < 3"
            ),
            {"count": len(GENRES)},
        )
    analyze(engine)
    return f"{big.slug}-{big.id}"


@dataclass(frozen=True, slots=True)
class Durability:
    """What the database and Redis hold for the 202s answered."""

    accepted: int  # 202 answers counted by wrk
    ids: int  # distinct job ids in them
    rows: int  # of those, rows in ingestion_jobs, status queued
    rq_jobs: int  # of those, RQ jobs waiting on the ingestion queue
    total_rows: int  # every row in ingestion_jobs (answers wrk cut off at the end included)
    total_queued: int  # every job on the RQ queue


def check_durability(engine: Engine, redis_url: str, queue: str, loads: list[Load]) -> Durability:
    """Look up every accepted job: its row, and its RQ job on the queue."""
    ids = sorted({i for load in loads for i in load.ids})
    with engine.connect() as conn:
        rows = conn.execute(
            text("SELECT count(*) FROM ingestion_jobs WHERE id = ANY(:ids) AND status = 'queued'"),
            {"ids": ids},
        ).scalar_one()
        total_rows = conn.execute(text("SELECT count(*) FROM ingestion_jobs")).scalar_one()
    redis = Redis.from_url(redis_url)
    try:
        waiting = {job.decode() for job in redis.lrange(f"rq:queue:{queue}", 0, -1)}
        rq_jobs = sum(1 for i in ids if f"ingest-{i}" in waiting)
    finally:
        redis.close()
    return Durability(
        accepted=sum(load.accepted for load in loads),
        ids=len(ids),
        rows=rows,
        rq_jobs=rq_jobs,
        total_rows=total_rows,
        total_queued=len(waiting),
    )


# --- the run ------------------------------------------------------------------------------------


@contextmanager
def scrapyd_server(workdir: Path) -> Iterator[str | None]:
    """scrapyd with an eggless project and an idle launcher; None when it is not installed."""
    if find_spec("scrapyd") is None:
        yield None
        return
    root = workdir / "scrapyd"
    (root / "benchproject" / "spiders").mkdir(parents=True)
    port = free_port()
    (root / "scrapyd.conf").write_text(SCRAPYD_CONF.format(port=port, root=root))
    (root / "scrapy.cfg").write_text(SCRAPY_CFG)
    (root / "benchproject" / "__init__.py").write_text("")
    (root / "benchproject" / "settings.py").write_text(
        'BOT_NAME = "bench"\nSPIDER_MODULES = ["benchproject.spiders"]\n'
    )
    (root / "benchproject" / "spiders" / "__init__.py").write_text(SPIDER)
    base = f"http://127.0.0.1:{port}"
    env = base_env(workdir)
    env["PYTHONPATH"] = f"{root}{os.pathsep}{env['PYTHONPATH']}"
    with server(
        "scrapyd", [sys.executable, "-m", "scrapyd"], f"{base}/daemonstatus.json", env=env, cwd=root
    ):
        # The first schedule.json lists the project's spiders in a subprocess; it is cached.
        answer = httpx.post(f"{base}/schedule.json", data={"project": "bench", "spider": "bench"})
        if answer.json().get("status") != "ok":
            raise RuntimeError(f"scrapyd refused the schedule: {answer.text}")
        yield f"{base}/schedule.json"


def main() -> int:
    """Run the benchmark and print its report."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--duration", type=float, default=10.0, help="seconds of load per row")
    parser.add_argument("--warmup", type=float, default=2.0, help="seconds before each row")
    parser.add_argument("--connections", type=int, default=32)
    parser.add_argument("--threads", type=int, default=2, help="wrk threads")
    parser.add_argument(
        "--workers", type=int, default=2, help="uvicorn processes of every server (ours too)"
    )
    parser.add_argument("--quick", action="store_true", help="3 s rows, 1 s warm-up")
    args = parser.parse_args()
    if args.quick:
        args.duration, args.warmup = 3.0, 1.0
    if shutil.which("wrk") is None:
        print("wrk is not installed: apt-get install wrk", file=sys.stderr)
        return 2
    load = {"connections": args.connections, "threads": args.threads}

    with ExitStack() as stack:
        workdir = Path(
            stack.enter_context(tempfile.TemporaryDirectory(prefix="chapterhouse-http-"))
        )
        db_url = stack.enter_context(private_postgres())
        redis_url = stack.enter_context(private_redis())
        settings = Settings(
            database_url=db_url,
            redis_url=redis_url,
            data_dir=workdir / "data",
            api_workers=args.workers,
            # One client sends everything: its rate is counted but out of reach, and the cap on
            # its active jobs (100 by default) is off, as nothing runs them meanwhile.
            ingest_rate_limit=1_000_000_000,
            max_active_jobs_per_client=0,
            log_level="WARNING",
        )
        engine = make_engine(settings)
        stack.callback(engine.dispose)
        progress("seeding the library")
        slug = seed_library(engine)

        progress("starting the servers")
        env = base_env(workdir)
        uvicorn = [sys.executable, "-m", "uvicorn", "--factory", "--host", "127.0.0.1"]
        port = free_port()
        bare = stack.enter_context(
            server(
                "bare ASGI app",
                [*uvicorn, "--port", str(port), *uvicorn_args(args.workers),
                 "benchmarks.http_baselines:bare_app"],
                f"http://127.0.0.1:{port}/",
                env=env,
                cwd=workdir,
            )
        )  # fmt: skip
        port = free_port()
        constant = stack.enter_context(
            server(
                "constant FastAPI app",
                [*uvicorn, "--port", str(port), *uvicorn_args(args.workers),
                 "benchmarks.http_baselines:constant_app"],
                f"http://127.0.0.1:{port}/constant",
                env=env,
                cwd=workdir,
            )
        )  # fmt: skip
        scrapyd = stack.enter_context(scrapyd_server(workdir))
        port = free_port()
        ours = stack.enter_context(
            server(
                "chapterhouse serve",
                [sys.executable, "-m", "chapterhouse", "serve", "--port", str(port)],
                f"http://127.0.0.1:{port}/health",
                env=child_env(settings),
                cwd=workdir,
            )
        ).removesuffix("/health")

        def measure(label: str, url: str, script: str = "", **constants: str | int) -> Load:
            progress(f"{label}: {args.warmup:g} s warm-up, {args.duration:g} s measured")
            warm = run_wrk(
                label, url, script, duration=args.warmup, workdir=workdir, **load, **constants
            )
            warmups.append(warm)
            return run_wrk(
                label, url, script, duration=args.duration, workdir=workdir, **load, **constants
            )

        warmups: list[Load] = []
        rows: dict[str, Load] = {}
        rows["bare"] = measure("bare ASGI app, constant JSON", bare)
        rows["constant"] = measure("FastAPI async GET, constant JSON", constant)
        if scrapyd is not None:
            rows["scrapyd"] = measure("scrapyd schedule.json (enqueue only)", scrapyd, SCRAPYD_LUA)
        rows["submit"] = measure(
            "POST /ingest", ours, SUBMIT_LUA, BASE=1_000_000, URL=SUBMIT_URL.format(id="%d")
        )
        rows["chapter"] = measure(
            "GET /novels/{slug}/chapters/{n}",
            ours,
            CHAPTER_LUA,
            PATH=f"/novels/{slug}/chapters/%d",
            CHAPTERS=CHAPTERS,
        )
        rows["novels"] = measure("GET /novels", f"{ours}/novels")

        progress("checking every accepted submission")
        submits = [rows["submit"], *(w for w in warmups if w.label == "POST /ingest")]
        durable = check_durability(engine, redis_url, settings.queue_name, submits)
    report(rows, durable, args)
    return 0


def report(rows: dict[str, Load], durable: Durability, args: argparse.Namespace) -> None:
    """Print the figures, the goals and how the run was made."""
    constant, scrapyd = rows["constant"], rows.get("scrapyd")

    def versus(key: str) -> str:
        if key == "submit":
            return f"{rows[key].rate / scrapyd.rate:.2f}x scrapyd" if scrapyd else "-"
        if key in ("chapter", "novels"):
            return f"{rows[key].rate / constant.rate:.0%} of FastAPI"
        return ""

    print(f"HTTP at {args.connections} connections, {args.duration:g} s per row, "
          f"{args.workers} uvicorn worker(s) per server, wrk -t{args.threads}")  # fmt: skip
    print(
        table(
            ["row", "req/s", "p50 ms", "p99 ms", "errors", "non-2xx", "vs"],
            [
                [
                    load.label,
                    f"{load.rate:,.0f}",
                    f"{load.p50_ms:.2f}",
                    f"{load.p99_ms:.2f}",
                    str(load.errors),
                    str(load.non_2xx),
                    versus(key),
                ]
                for key, load in rows.items()
            ],
        )
    )
    if scrapyd is None:
        print("scrapyd is not installed: no scrapyd row (pip install -e '.[bench]')")
    print()
    print(
        f"Durability: {durable.accepted:,} submissions answered 202 ({durable.ids:,} job ids); "
        f"{durable.rows:,} of them have their queued row in ingestion_jobs and "
        f"{durable.rq_jobs:,} their RQ job on the queue "
        f"(all rows: {durable.total_rows:,}, all queued RQ jobs: {durable.total_queued:,})"
    )
    print()
    submit, chapter, novels = rows["submit"], rows["chapter"], rows["novels"]
    goals = [
        [
            f"POST /ingest req/s >= {SUBMIT_GOAL_VS_SCRAPYD:g}x scrapyd's",
            versus("submit"),
            "-" if scrapyd is None else _ok(submit.rate >= SUBMIT_GOAL_VS_SCRAPYD * scrapyd.rate),
        ],
        [
            f"POST /ingest p99 <= {SUBMIT_P99_MS:g} ms",
            f"{submit.p99_ms:.1f} ms",
            _ok(submit.p99_ms <= SUBMIT_P99_MS),
        ],
        [
            "every 202 has its row and its RQ job",
            f"{min(durable.rows, durable.rq_jobs):,} / {durable.accepted:,}",
            _ok(durable.accepted == durable.ids == durable.rows == durable.rq_jobs > 0),
        ],
    ]
    for load in (chapter, novels):
        goals.append(
            [
                f"{load.label} req/s >= {READ_GOAL_VS_CONSTANT:.0%} of FastAPI's constant GET",
                f"{load.rate / constant.rate:.0%}",
                _ok(load.rate >= READ_GOAL_VS_CONSTANT * constant.rate),
            ]
        )
        goals.append(
            [
                f"{load.label} p99 <= {READ_P99_MS:g} ms",
                f"{load.p99_ms:.1f} ms",
                _ok(load.p99_ms <= READ_P99_MS),
            ]
        )
    failures = [load.label for load in rows.values() if load.errors or load.non_2xx]
    goals.append(
        ["no errors, no non-2xx answers", ", ".join(failures) or "none", _ok(not failures)]
    )
    print(table(["goal", "figure", "met"], goals))
    print()
    print(f"{platform.node()}: {os.cpu_count()} CPUs, Python {platform.python_version()}")
    print("command: " + shlex.join([sys.executable, "-m", "benchmarks.http", *sys.argv[1:]]))


def _ok(passed: bool) -> str:
    return "yes" if passed else "NO"


if __name__ == "__main__":
    sys.exit(main())
