"""Settings: every knob of the service, read once from ``NETREGISTRY_*`` variables."""

from __future__ import annotations

import os
import secrets
from functools import lru_cache
from pathlib import Path
from typing import Literal

from limits import parse_many
from pydantic import Field, SecretStr, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict


class Settings(BaseSettings):
    """The service's configuration; unknown or malformed values fail at start-up."""

    model_config = SettingsConfigDict(env_prefix="NETREGISTRY_", extra="ignore", frozen=True)

    database_url: str | None = Field(
        default=None,
        description="PostgreSQL URL (postgresql+asyncpg://...). Unset: an embedded server.",
    )
    data_dir: Path = Field(
        default=Path(".netregistry"),
        description="Where the embedded PostgreSQL and the generated secret key live.",
    )
    secret_key: SecretStr | None = Field(
        default=None,
        description="Signs pagination cursors. Unset: generated once and kept in data_dir.",
    )
    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = "INFO"
    log_json: bool = True
    max_body_bytes: int = Field(default=1024 * 1024, ge=1024)
    max_header_bytes: int = Field(
        default=16 * 1024,
        ge=1024,
        description="Limit on the request line and header fields together; beyond it, 431.",
    )
    write_rate_limit: str | None = Field(
        default="300/minute",
        description=(
            "Writes each API key may send, as '<count>/<second|minute|hour|day>' "
            "(moving window, counted per process). Unset or empty: no limit."
        ),
        examples=["300/minute", "10/second;1000/hour"],
    )
    cors_origins: list[str] = Field(default=["*"])
    cache_max_age: int = Field(default=30, ge=0, description="Cache-Control max-age on reads.")
    idempotency_ttl_hours: int = Field(default=24, ge=24)
    db_pool_size: int = Field(default=10, ge=1, le=200)
    db_max_overflow: int = Field(default=10, ge=0, le=200)
    db_pool_timeout: float = Field(
        default=5.0, gt=0, description="Seconds to wait for a connection."
    )
    db_connect_timeout: float = Field(default=5.0, gt=0)
    db_statement_timeout_ms: int = Field(default=30_000, ge=0)
    db_command_timeout: float = Field(
        default=35.0,
        gt=0,
        description=(
            "Seconds to wait for the server's answer to one statement before the request "
            "fails with 503: the bound when the server stops answering (the statement "
            "timeout is the server's own and needs a server that runs)."
        ),
    )
    max_concurrent_exports: int = Field(
        default=4,
        ge=1,
        description="Exports streaming at once per process (each holds a connection).",
    )
    max_concurrent_imports: int = Field(
        default=2,
        ge=1,
        description="CSV member-list imports running at once per process; more wait, then 503.",
    )
    changes_page_max_bytes: int = Field(
        default=4 * 1024 * 1024,
        ge=64 * 1024,
        description="A change-feed page stops early once its entries reach this many bytes.",
    )
    request_head_timeout: float = Field(
        default=10.0,
        gt=0,
        description="Seconds a client has to send a request line and headers; then closed.",
    )
    request_body_min_rate: int = Field(
        default=1024,
        ge=1,
        description="Bytes per second a request body must average (after the head timeout); "
        "a slower body is cut with 408.",
    )
    max_connections: int = Field(
        default=1000,
        ge=1,
        description="Open connections per process; beyond it new ones are refused at once.",
    )
    keep_alive_timeout: float = Field(
        default=5.0,
        gt=0,
        description="Seconds an idle keep-alive connection stays open.",
    )
    migrate_on_start: bool | None = Field(
        default=None,
        description="Run migrations when the service starts. Unset: only on the embedded server.",
    )

    @model_validator(mode="after")
    def _command_outlasts_statement(self) -> Settings:
        # The client must not give up before the server's own timeout: that would turn
        # every legitimately slow statement into a 503.
        statement = self.db_statement_timeout_ms / 1000
        if statement and self.db_command_timeout <= statement:
            raise ValueError(
                f"db_command_timeout ({self.db_command_timeout} s) must exceed "
                f"db_statement_timeout_ms ({statement:g} s)"
            )
        return self

    @field_validator("write_rate_limit")
    @classmethod
    def _rate_limit_notation(cls, value: str | None) -> str | None:
        if not value:
            return None
        try:
            parse_many(value)
        except ValueError as error:
            raise ValueError(f"not a rate such as '300/minute': {error}") from error
        return value

    @field_validator("database_url")
    @classmethod
    def _asyncpg_only(cls, value: str | None) -> str | None:
        if value is not None and not value.startswith("postgresql+asyncpg://"):
            raise ValueError("must start with postgresql+asyncpg://")
        return value

    @property
    def embedded(self) -> bool:
        """True when the service runs its own PostgreSQL."""
        return self.database_url is None

    def resolve_secret_key(self) -> bytes:
        """The cursor-signing key: the configured one, else one kept in ``data_dir``."""
        if self.secret_key is not None:
            return self.secret_key.get_secret_value().encode()
        path = self.data_dir / "secret_key"
        if not path.exists():
            self.data_dir.mkdir(parents=True, exist_ok=True)
            # Written whole under another name, then renamed: a reader never sees it empty,
            # and of two processes racing, one key wins for both.
            draft = path.with_name(f".secret_key.{os.getpid()}")
            draft.touch(mode=0o600)
            draft.write_text(secrets.token_urlsafe(32))
            if not path.exists():
                draft.replace(path)
            else:
                draft.unlink()
        key = path.read_text().strip()
        if not key:
            raise ValueError(f"{path} is empty: delete it or set NETREGISTRY_SECRET_KEY")
        return key.encode()


@lru_cache
def get_settings() -> Settings:
    """The process-wide settings, read from the environment once."""
    return Settings()
