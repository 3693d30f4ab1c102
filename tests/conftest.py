"""Real PostgreSQL and Redis for every test that needs them: a private database and db number."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import uuid
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest
from redis import Redis
from sqlalchemy import text

from chapterhouse.config import Settings
from chapterhouse.db.engine import make_engine
from chapterhouse.db.migrate import upgrade_to_head
from chapterhouse.services import Runtime
from tests.fakesite.server import FakeSite, serve

PG_SERVER = "postgresql://postgres@127.0.0.1:5432"
REDIS_SERVER = "redis://127.0.0.1:6379"
TABLES = "ingestion_jobs, novel_genres, chapters, genres, novel_series, series, novels"
CLAIM_KEY = "chapterhouse:test-run"
REPO_ROOT = Path(__file__).resolve().parent.parent
SHARED_FIXTURES = REPO_ROOT.parent / "shared" / "fixtures"


@pytest.fixture(scope="session")
def pg_url() -> Iterator[str]:
    """A database of our own on the machine's PostgreSQL, migrated to head, dropped at the end."""
    name = f"chapterhouse_test_{os.getpid()}_{uuid.uuid4().hex[:6]}"
    with psycopg.connect(f"{PG_SERVER}/postgres", autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    url = f"postgresql+psycopg://postgres@127.0.0.1:5432/{name}"
    engine = make_engine(Settings(database_url=url))
    upgrade_to_head(engine)
    engine.dispose()
    yield url
    with psycopg.connect(f"{PG_SERVER}/postgres", autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture(scope="session")
def redis_url() -> Iterator[str]:
    """An empty Redis db number claimed for this run (15 down to 1), flushed at the end."""
    for number in range(15, 0, -1):
        client = Redis.from_url(f"{REDIS_SERVER}/{number}")
        if client.dbsize() == 0 and client.set(CLAIM_KEY, os.getpid(), nx=True, ex=3600):
            yield f"{REDIS_SERVER}/{number}"
            client.flushdb()
            client.close()
            return
        client.close()
    pytest.fail("no empty Redis db number between 1 and 15 for the tests")


def _flush(redis_url: str) -> None:
    # Empty the db but keep it claimed, so a concurrent test run never picks the same number.
    client = Redis.from_url(redis_url)
    with client.pipeline(transaction=True) as pipe:
        pipe.flushdb()
        pipe.set(CLAIM_KEY, os.getpid(), ex=3600)
        pipe.execute()
    client.close()


@pytest.fixture
def settings(pg_url: str, redis_url: str, tmp_path: Path) -> Iterator[Settings]:
    """Settings on the private PostgreSQL database and Redis db, both emptied before the test."""
    engine = make_engine(Settings(database_url=pg_url))
    with engine.begin() as conn:
        conn.execute(text(f"TRUNCATE {TABLES} RESTART IDENTITY CASCADE"))
    engine.dispose()
    _flush(redis_url)
    yield Settings(
        database_url=pg_url,
        redis_url=redis_url,
        data_dir=tmp_path / "data",
        download_delay=0,
        request_retries=1,
    )
    _flush(redis_url)


@pytest.fixture
def sqlite_settings(redis_url: str, tmp_path: Path) -> Settings:
    """Settings on a fresh, migrated SQLite file (the zero-setup default)."""
    _flush(redis_url)
    result = Settings(
        database_url=None, redis_url=redis_url, data_dir=tmp_path / "data", download_delay=0
    )
    engine = make_engine(result)
    upgrade_to_head(engine)
    engine.dispose()
    return result


@pytest.fixture(params=["postgresql", "sqlite"])
def any_settings(request: pytest.FixtureRequest) -> Settings:
    """Each storage test runs on PostgreSQL and on SQLite."""
    name = "settings" if request.param == "postgresql" else "sqlite_settings"
    return request.getfixturevalue(name)  # type: ignore[no-any-return]


@pytest.fixture
def runtime(settings: Settings) -> Iterator[Runtime]:
    """Connections on the test services."""
    rt = Runtime(settings)
    yield rt
    rt.close()


@pytest.fixture
def any_runtime(any_settings: Settings) -> Iterator[Runtime]:
    """Connections on PostgreSQL or SQLite (parametrised)."""
    rt = Runtime(any_settings)
    yield rt
    rt.close()


@pytest.fixture
def fake_site() -> Iterator[FakeSite]:
    """A Royal-Road-shaped site on a loopback port, serving our own fixture pages."""
    site = FakeSite()
    server = serve(site)
    yield site
    server.shutdown()
    server.server_close()


@pytest.fixture
def site_settings(settings: Settings, fake_site: FakeSite) -> Settings:
    """Test settings with the fake site's host mapped onto the Royal Road spider."""
    return settings.model_copy(update={"site_hosts": f"{fake_site.host}=royalroad"})


def settings_env(settings: Settings) -> dict[str, str]:
    """The environment that gives a child process (a worker, the CLI) exactly these settings."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("CHAPTERHOUSE_")}
    env.pop("DATABASE_URL", None)
    env.pop("REDIS_URL", None)
    for name, value in settings.model_dump(mode="json").items():
        if value is None:
            continue
        key = (
            name.upper()
            if name in ("database_url", "redis_url")
            else f"CHAPTERHOUSE_{name.upper()}"
        )
        env[key] = json.dumps(value) if isinstance(value, dict | list) else str(value)
    env["CHAPTERHOUSE_LOG_LEVEL"] = "WARNING"
    env["COLUMNS"] = "250"  # rich tables are not cut to 80 columns when output is a pipe
    return env


def run_cli(
    settings: Settings, *args: str, timeout: float = 120
) -> subprocess.CompletedProcess[str]:
    """Run `chapterhouse ARGS` in a child process with these settings."""
    return subprocess.run(
        [sys.executable, "-m", "chapterhouse", *args],
        env=settings_env(settings),
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )
