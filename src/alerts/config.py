"""Settings: the one place the environment is read."""

from __future__ import annotations

import secrets
from functools import cached_property
from pathlib import Path
from typing import Annotated, Literal
from urllib.parse import urlsplit

from pydantic import Field, field_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

from alerts.errors import ConfigError

PROJECT_ROOT = Path(__file__).resolve().parents[2]
DEV_SECRET_FILE = "secret_key"  # noqa: S105 - a file name, not a secret


class Settings(BaseSettings):
    """Typed configuration built once at the edge and passed to web, worker and CLI."""

    model_config = SettingsConfigDict(env_file=".env", extra="ignore", frozen=True)

    environment: Literal["development", "production", "test"] = "development"
    var_dir: Path = PROJECT_ROOT / "var"
    database_url: str = ""
    redis_url: str = "redis://127.0.0.1:6379/0"
    queue_name: str = "arq:queue"
    smtp_url: str = ""
    smtp_timeout: float = 30.0
    base_url: str = "http://127.0.0.1:8080"
    secret_key: str = ""
    mail_from: str = "Stay in the loop <alerts@localhost>"
    organisation_name: str = "Stay in the loop"
    organisation_address: str = "Geneva, Switzerland"
    list_id: str = ""
    host: str = "127.0.0.1"
    port: int = 8080

    templates_dir: Path = PROJECT_ROOT / "templates"
    feeds_dir: Path = PROJECT_ROOT / "feeds"
    migrations_dir: Path = PROJECT_ROOT / "migrations"

    cors_origins: Annotated[tuple[str, ...], NoDecode] = ()
    trusted_proxies: int = 0
    max_body_bytes: int = 16 * 1024

    signup_ip_limit: int = 20
    signup_ip_window_seconds: int = 3600
    confirmation_limit: int = 3
    confirmation_window_hours: int = 24

    confirm_token_days: int = 7
    link_token_days: int = 90
    mail_requeue_after_seconds: int = 120

    outbox_enabled: bool | None = Field(default=None)

    smtp_pool_size: int = 4
    smtp_rate_per_second: int = 0
    smtp_rate_per_hour: int = 0
    send_batch_size: int = 200
    send_lease_seconds: int = 120
    send_parallelism: int = 2
    # Every worker looks this often for sending editions it has no sender for, and joins them.
    send_join_seconds: float = 2.0
    max_hard_bounces: int = 3
    send_retry_schedule: Annotated[tuple[int, ...], NoDecode] = (60, 300, 1800, 7200)

    feed_allowed_hosts: Annotated[tuple[str, ...], NoDecode] = ()
    feed_user_agent: str = "StayInTheLoop/0.1 (feed reader; self-hosted alerts service)"
    feed_max_bytes: int = 5 * 1024 * 1024
    feed_concurrency: int = 10
    feed_fetch_interval_seconds: int = 3600
    feed_batch_size: int = 100

    argon2_time_cost: int = Field(default=3, ge=1)
    argon2_memory_cost: int = Field(default=65536, ge=1024)

    @field_validator("cors_origins", mode="before")
    @classmethod
    def _split_origins(cls, value: object) -> object:
        if isinstance(value, str):
            return tuple(o.strip().rstrip("/") for o in value.split(",") if o.strip())
        return value

    @field_validator("feed_allowed_hosts", mode="before")
    @classmethod
    def _split_hosts(cls, value: object) -> object:
        if isinstance(value, str):
            return tuple(h.strip().lower() for h in value.split(",") if h.strip())
        return value

    @field_validator("send_retry_schedule", mode="before")
    @classmethod
    def _split_schedule(cls, value: object) -> object:
        if isinstance(value, str):
            return tuple(int(v) for v in value.split(",") if v.strip())
        return value

    @field_validator("base_url")
    @classmethod
    def _check_base_url(cls, value: str) -> str:
        parts = urlsplit(value)
        if parts.scheme not in ("http", "https") or not parts.netloc:
            raise ValueError("BASE_URL must be an absolute http(s) URL")
        return value.rstrip("/")

    @cached_property
    def db_url(self) -> str:
        """Return the database URL, defaulting to a SQLite file under the var directory."""
        if self.database_url:
            url = self.database_url
            if url.startswith("postgresql://") or url.startswith("postgres://"):
                url = "postgresql+asyncpg://" + url.split("://", 1)[1]
            elif url.startswith("sqlite:///"):
                url = "sqlite+aiosqlite:///" + url.removeprefix("sqlite:///")
            return url
        return f"sqlite+aiosqlite:///{self.var_dir / 'alerts.db'}"

    @cached_property
    def secret(self) -> str:
        """Return the signing secret; generate one under var/ in development only."""
        if self.secret_key:
            if len(self.secret_key) < 32:
                raise ConfigError("SECRET_KEY must be at least 32 characters long")
            return self.secret_key
        if self.environment == "production":
            raise ConfigError("SECRET_KEY is required in production; refusing to start")
        path = self.var_dir / DEV_SECRET_FILE
        if path.exists():
            return path.read_text().strip()
        self.var_dir.mkdir(parents=True, exist_ok=True)
        key = secrets.token_urlsafe(48)
        path.write_text(key)
        path.chmod(0o600)
        return key

    @property
    def outbox(self) -> bool:
        """Tell whether mail is caught in the local outbox instead of sent by SMTP."""
        return not self.smtp_url

    @property
    def outbox_page(self) -> bool:
        """Tell whether the /outbox page is served (never in production)."""
        if self.outbox_enabled is not None:
            return self.outbox_enabled and self.environment != "production"
        return self.environment != "production"

    @property
    def site_host(self) -> str:
        """Return the host name of BASE_URL, used in Message-IDs and List-Id."""
        return urlsplit(self.base_url).hostname or "localhost"

    @property
    def effective_list_id(self) -> str:
        """Return the List-Id value (RFC 2919)."""
        return self.list_id or f"Stay in the loop <loop.{self.site_host}>"

    @property
    def secure_cookies(self) -> bool:
        """Tell whether cookies need the Secure flag."""
        return self.base_url.startswith("https://")

    def check(self) -> None:
        """Raise ConfigError when the settings cannot run a service."""
        _ = self.secret
        if self.environment == "production" and self.outbox:
            raise ConfigError("SMTP_URL is required in production")
