"""The one settings object. Nothing else in chapterhouse reads the environment."""

from __future__ import annotations

import json
import re
from functools import lru_cache
from pathlib import Path
from typing import Literal, Protocol
from urllib.parse import parse_qsl, unquote, urlsplit, urlunsplit

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

    # Both URLs may hold passwords: out of the repr, and through redact() wherever shown.
    database_url: str | None = Field(
        default=None,
        validation_alias=AliasChoices("DATABASE_URL", "CHAPTERHOUSE_DATABASE_URL"),
        repr=False,
    )
    redis_url: str = Field(
        default="redis://127.0.0.1:6379/0",
        validation_alias=AliasChoices("REDIS_URL", "CHAPTERHOUSE_REDIS_URL"),
        repr=False,
    )
    data_dir: Path = Path("data")
    queue_name: str = "ingestion"
    api_host: str = "127.0.0.1"
    api_port: int = 8000
    # uvicorn processes `serve` and `up` run, each with its own connections (one per core).
    api_workers: int = Field(default=1, ge=1)
    # host[:port]=site pairs, comma separated: extra hosts (mirrors, test servers) for a site.
    site_hosts: str = ""
    # Host names (comma separated) a crawl may reach on private, loopback or link-local
    # addresses; IP addresses written in site_hosts need no entry here.
    allow_private_hosts: str = ""
    # Caps on what one crawl takes in: bytes of one page (as sent or once decompressed), and
    # chapters of one novel (the first ones in reading order; the job ends partial).
    max_page_bytes: int = Field(default=16 * 1024 * 1024, gt=0)
    max_chapters: int = Field(default=20000, gt=0)
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
    webhook_secret: str = Field(default="", repr=False)
    webhook_timeout: float = Field(default=10.0, gt=0)
    # Seconds before each retry of a failed delivery; one retry per entry (RQ's Retry).
    webhook_retry_intervals: list[int] = Field(default_factory=lambda: [10, 60, 300, 1800, 7200])
    # Access (README "Security"): comma-separated bearer keys; empty leaves the API open.
    # Secrets are kept out of the settings' repr, so printing them shows none.
    api_keys: str = Field(default="", repr=False)
    public_reads: bool = True  # with keys set: false makes every read need a key too
    metrics_token: str = Field(default="", repr=False)  # a key only /metrics accepts
    # Abuse limits per client (its API key, else its IP address); 0 turns a limit off.
    ingest_rate_limit: int = Field(default=60, ge=0)  # POST /ingest per window
    ingest_rate_window: int = Field(default=60, gt=0)  # seconds
    max_active_jobs_per_client: int = Field(default=100, ge=0)
    max_body_bytes: int = Field(default=64 * 1024, gt=0)

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

    @property
    def private_hosts_allowed(self) -> list[str]:
        """`CHAPTERHOUSE_ALLOW_PRIVATE_HOSTS` split on commas, lower-cased."""
        return [h.strip().lower() for h in self.allow_private_hosts.split(",") if h.strip()]

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

    @property
    def api_key_list(self) -> list[str]:
        """`CHAPTERHOUSE_API_KEYS` split on commas; empty means no authentication."""
        return [key.strip() for key in self.api_keys.split(",") if key.strip()]

    @property
    def secrets(self) -> list[str]:
        """Every secret value configured, for `redact` to blank out wherever text is shown."""
        values = [*self.api_key_list, self.metrics_token, self.webhook_secret]
        for url in (self.database_url or "", self.redis_url):
            parts = urlsplit(url)
            values += [parts.password or "", *_query_passwords(parts.query)]
        # Percent-encoded and plain spellings both; the longest first, so none is half replaced.
        spellings = {s for value in values if value for s in (value, unquote(value))}
        return sorted(spellings, key=len, reverse=True)


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
    if parts.query and _query_passwords(parts.query):
        parts = parts._replace(query=_PASSWORD_PARAM.sub(r"\1***", parts.query))
    if "@" not in parts.netloc:
        return urlunsplit(parts)
    userinfo, _, hostport = parts.netloc.rpartition("@")
    user, sep, _password = userinfo.partition(":")
    return urlunsplit(parts._replace(netloc=f"{user}:***@{hostport}" if sep else parts.netloc))


# `user:password@` inside any URL in a text, and `?password=` (redis-py reads it there too).
_URL_PASSWORD = re.compile(r"(://[^/\s:@]*:)[^@\s/]+@")
_PASSWORD_PARAM = re.compile(r"((?:^|[?&;])password=)[^&;#\s]*", re.IGNORECASE)


def _query_passwords(query: str) -> list[str]:
    return [value for key, value in parse_qsl(query) if key.lower() == "password" and value]


def redact(text: str, settings: Settings | None = None) -> str:
    """The text with URL passwords, and every secret `settings` hold, replaced by `***`.

    The one redaction used by `doctor`, the logs and error messages.
    """
    text = _PASSWORD_PARAM.sub(r"\1***", _URL_PASSWORD.sub(r"\1***@", text))
    for secret in settings.secrets if settings is not None else ():
        # Very short secrets would blank out ordinary words; the URL patterns still catch them.
        if len(secret) >= 4:
            text = text.replace(secret, "***")
    return text


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    """Build the settings once per process; call sites receive them as a parameter."""
    return Settings()
