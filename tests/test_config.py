"""Settings: defaults for one machine, refusals for production."""

from __future__ import annotations

from pathlib import Path

import pytest

from alerts.config import Settings
from alerts.errors import ConfigError


def test_development_generates_and_keeps_a_secret(tmp_path: Path) -> None:
    first = Settings(var_dir=tmp_path, _env_file=None).secret  # type: ignore[call-arg]
    second = Settings(var_dir=tmp_path, _env_file=None).secret  # type: ignore[call-arg]
    assert first == second
    assert len(first) >= 32
    assert (tmp_path / "secret_key").stat().st_mode & 0o077 == 0


def test_production_refuses_to_start_without_a_secret_or_smtp(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="SECRET_KEY"):
        Settings(environment="production", var_dir=tmp_path, _env_file=None).check()  # type: ignore[call-arg]
    with pytest.raises(ConfigError, match="SMTP_URL"):
        Settings(  # type: ignore[call-arg]
            environment="production", secret_key="s" * 40, var_dir=tmp_path, _env_file=None
        ).check()
    assert not (tmp_path / "secret_key").exists()


def test_database_url_defaults_to_sqlite_and_accepts_plain_postgres(tmp_path: Path) -> None:
    assert Settings(var_dir=tmp_path, _env_file=None).db_url.startswith(  # type: ignore[call-arg]
        f"sqlite+aiosqlite:///{tmp_path}"
    )
    pg = Settings(database_url="postgresql://u@db/alerts", _env_file=None)  # type: ignore[call-arg]
    assert pg.db_url == "postgresql+asyncpg://u@db/alerts"


def test_environment_variables_are_read(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CORS_ORIGINS", "https://a.example, https://b.example/")
    monkeypatch.setenv("BASE_URL", "https://loop.example/")
    settings = Settings(_env_file=None)  # type: ignore[call-arg]
    assert settings.cors_origins == ("https://a.example", "https://b.example")
    assert settings.base_url == "https://loop.example"
    assert settings.secure_cookies


def test_bad_base_url_is_refused() -> None:
    with pytest.raises(ValueError, match="BASE_URL"):
        Settings(base_url="loop.example", _env_file=None)  # type: ignore[call-arg]
