"""The one settings object. Nothing else in chapterhouse reads the environment."""

from __future__ import annotations

import json
from functools import lru_cache
from pathlib import Path
from typing import Literal, Protocol
from urllib.parse import urlsplit, urlunsplit

from pydantic import AliasChoices, BaseModel, Field, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict


class SiteLimit(BaseModel):
    """Politeness for one site: seconds between requests, requests in flight at once."""

    interval: float = Field(ge=0)
    concurrency: int = Field(default=1, ge=1)


class Settings(BaseSettings):
    """Every setting chapterhouse knows, read once from the environment (or `.env`)."""

    model_config = SettingsConfigDict(
        env_prefix="CHAPTERHOUSE_",
        env_file=".env",
        extra="ignore",
        frozen=True,
        populate_by_name=True,
    )

    database_url: str | None = Field(
        default=None, validation_alias=AliasChoices("DATABASE_URL", "CHAPTERHOUSE_DATABASE_URL")
    )
    redis_url: str = Field(
        default="redis://127.0.0.1:6379/0",
        validation_alias=AliasChoices("REDIS_URL", "CHAPTERHOUSE_REDIS_URL"),
    )
    data_dir: Path = Path("data")
    queue_name: str = "ingestion"
    api_host: str = "127.0.0.1"
    api_port: int = 8000
    # host[:port]=site pairs, comma separated: extra hosts (mirrors, test servers) for a site.
    site_hosts: str = ""
    user_agent: str = "chapterhouse/0.1 (+https://github.com/chapterhouse/chapterhouse)"
    contact: str = ""
    # None: each site's own politeness default; 0 turns the delay off (benchmarks, local mirrors).
    download_delay: float | None = None
    # Per-site overrides, JSON: {"royalroad": {"interval": 2.0, "concurrency": 1}}
    site_limits: dict[str, SiteLimit] = Field(default_factory=dict)
    backoff_base: float = 5.0  # first cool-down after a 429/503 without Retry-After, doubled after
    backoff_cap: float = 600.0
    request_timeout: float = 30.0
    request_retries: int = 2
    robots_txt_obey: bool = True
    job_timeout: int = 6 * 3600
    heartbeat_interval: float = 10.0  # a running job touches its row this often
    worker_lost_after: float = 60.0  # a job whose heartbeat is older is taken as abandoned
    reconcile_interval: float = 30.0  # workers compare the database with Redis this often
    reconcile_grace: float = 10.0  # a job queued more recently than this is left alone
    max_attempts: int = 3  # a job lost this many times is failed, not requeued
    # A job picked up while its domain is paused is set aside this long (s), then tried again.
    pause_recheck: float = Field(default=60.0, gt=0)
    # On SIGTERM a worker lets its running job finish this long (s), then requeues it.
    shutdown_grace: float = Field(default=60.0, ge=0)
    # Followed novels: checked at most this often, at least this often, and this often when
    # too few chapters show a release rhythm (seconds).
    follow_min_interval: float = Field(default=3600.0, gt=0)
    follow_max_interval: float = Field(default=86400.0, gt=0)
    follow_default_interval: float = Field(default=21600.0, gt=0)
    max_url_length: int = 2048
    log_level: str = "INFO"
    log_format: Literal["text", "json"] = "text"  # json: one object per line, with job_id
    # Live job events (GET /jobs/{id}/events, ingest --wait): row reads apart, and the longest
    # silence before an SSE keep-alive comment, so proxies do not drop an idle stream.
    events_poll_interval: float = Field(default=0.5, gt=0)
    events_keepalive: float = Field(default=15.0, gt=0)
    # Webhooks: empty URL = off. The secret signs each body (HMAC-SHA256) in a header.
    webhook_url: str = ""
    webhook_secret: str = ""
    webhook_timeout: float = Field(default=10.0, gt=0)
    # Seconds before each retry of a failed delivery; one retry per entry (RQ's Retry).
    webhook_retry_intervals: list[int] = Field(default_factory=lambda: [10, 60, 300, 1800, 7200])

    @field_validator("database_url", mode="before")
    @classmethod
    def _empty_is_none(cls, value: object) -> object:
        return value or None

    @field_validator("site_limits", mode="before")
    @classmethod
    def _json_limits(cls, value: object) -> object:
        if isinstance(value, str):
            try:
                return json.loads(value) if value.strip() else {}
            except json.JSONDecodeError as exc:
                raise ValueError(f"CHAPTERHOUSE_SITE_LIMITS is not JSON: {exc}") from None
        return value

    @property
    def effective_database_url(self) -> str:
        """The configured database, or a SQLite file in the data directory."""
        if self.database_url:
            return _sqlalchemy_url(self.database_url)
        return f"sqlite:///{self.data_dir.resolve() / 'chapterhouse.db'}"

    @property
    def extra_site_hosts(self) -> dict[str, str]:
        """`CHAPTERHOUSE_SITE_HOSTS` parsed into {host[:port]: site name}."""
        pairs: dict[str, str] = {}
        for item in self.site_hosts.split(","):
            item = item.strip()
            if not item:
                continue
            host, sep, site = item.partition("=")
            if not sep or not host.strip() or not site.strip():
                raise ValueError(f"CHAPTERHOUSE_SITE_HOSTS entry {item!r} is not host=site")
            pairs[host.strip().lower()] = site.strip().lower()
        return pairs

    def limit_for(self, site: SiteDefaults) -> SiteLimit:
        """The site's politeness: CHAPTERHOUSE_SITE_LIMITS, else its defaults; then the delay."""
        limit = self.site_limits.get(site.name) or SiteLimit(
            interval=site.download_delay, concurrency=site.concurrency
        )
        if self.download_delay is not None:
            limit = SiteLimit(interval=self.download_delay, concurrency=limit.concurrency)
        return limit

    @property
    def full_user_agent(self) -> str:
        """The User-Agent sent to sites: the project, plus the operator's contact when set."""
        if self.contact:
            return f"{self.user_agent} contact: {self.contact}"
        return self.user_agent


class SiteDefaults(Protocol):
    """What `limit_for` reads of a site."""

    @property
    def name(self) -> str: ...

    @property
    def download_delay(self) -> float: ...

    @property
    def concurrency(self) -> int: ...


def _sqlalchemy_url(url: str) -> str:
    # Users paste libpq-style URLs; route them to psycopg 3, the driver we ship.
    for prefix in ("postgres://", "postgresql://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url[len(prefix) :]
    return url


def redact_url(url: str) -> str:
    """The URL with any password replaced by `***`, fit for logs and `doctor`."""
    parts = urlsplit(url)
    if not parts.password:
        return url
    user = parts.username or ""
    host = parts.hostname or ""
    port = f":{parts.port}" if parts.port else ""
    return urlunsplit(parts._replace(netloc=f"{user}:***@{host}{port}"))


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    """Build the settings once per process; call sites receive them as a parameter."""
    return Settings()
