"""Settings: every knob of the service, read once from ``NETREGISTRY_*`` variables."""

from __future__ import annotations

import difflib
import ipaddress
import os
import secrets
from functools import lru_cache
from pathlib import Path
from typing import Any, Literal, get_args, get_origin
from urllib.parse import urlsplit

from limits import parse_many
from pydantic import Field, SecretStr, ValidationError, field_validator, model_validator
from pydantic.fields import FieldInfo
from pydantic_settings import BaseSettings, SettingsConfigDict
from pydantic_settings import SettingsError as SourceError

PREFIX = "NETREGISTRY_"
DATA_DIR_NAME = ".netregistry"

# Variables of the test suite and the fuzzing campaign, not of the service.
_TOOLING_VARIABLES = frozenset(
    {"NETREGISTRY_TEST_DATABASE_URL", "NETREGISTRY_FUZZ_EXAMPLES", "NETREGISTRY_FUZZ_SEED"}
)
# Values never repeated in an error message: they may hold a password.
_SECRET_FIELDS = frozenset({"database_url", "secret_key", "redis_url"})


def find_data_dir(start: Path | None = None) -> Path:
    """The registry's data directory when ``NETREGISTRY_DATA_DIR`` is unset.

    The nearest ``.netregistry`` holding a registry in the working directory or one of its
    parents (as git finds ``.git``), so a command run from a sub-folder opens the same
    registry as ``make run``; else ``.netregistry`` in the working directory.
    """
    here = (start or Path.cwd()).resolve()
    for folder in (here, *here.parents):
        candidate = folder / DATA_DIR_NAME
        if (candidate / "pgdata").is_dir() or (candidate / "secret_key").is_file():
            return candidate
    return here / DATA_DIR_NAME


class Settings(BaseSettings):
    """The service's configuration; unknown or malformed values fail at start-up."""

    model_config = SettingsConfigDict(env_prefix=PREFIX, extra="ignore", frozen=True)

    database_url: str | None = Field(
        default=None,
        description="PostgreSQL URL (postgresql+asyncpg://...). Unset: an embedded server.",
    )
    data_dir: Path = Field(
        default_factory=find_data_dir,
        description=(
            "Where the embedded PostgreSQL and the generated secret key live. Unset: the "
            "nearest .netregistry in the working directory or its parents, else ./.netregistry."
        ),
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
    redis_url: str | None = Field(
        default=None,
        description=(
            "Redis shared by every worker and instance for the write rate limit "
            "(redis://host:6379/0). Unset: each process counts on its own."
        ),
    )
    cors_origins: list[str] = Field(default=["*"])
    embed_origins: list[str] = Field(
        default=[],
        description=(
            "Origins (scheme://host[:port]) whose pages may frame the embeddable member "
            "list (/embed/...), listed in its frame-ancestors; empty: none may."
        ),
    )
    public_url: str | None = Field(
        default=None,
        description=(
            "The service's public URL (https://registry.example.org, no trailing slash), "
            "the base of Link headers. Unset: links are relative. Never the Host header."
        ),
        examples=["https://registry.example.org"],
    )
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
    max_open_streams: int = Field(
        default=100,
        ge=1,
        le=10_000,
        description="Open change streams (GET /v1/changes/stream) per process; more are 503.",
    )
    stream_heartbeat_seconds: float = Field(
        default=15.0,
        gt=0,
        le=300,
        description="Seconds between heartbeat comments on an idle change stream.",
    )
    webhook_allowed_addresses: list[str] = Field(
        default=[],
        description=(
            "Networks (CIDR, e.g. 10.0.0.0/8 or 127.0.0.1/32) that webhook targets may "
            "resolve to although they are private, loopback or otherwise not public. "
            "Empty: only public addresses."
        ),
    )
    webhook_retry_seconds: float = Field(
        default=24 * 3600.0,
        gt=0,
        description=(
            "How long deliveries to a failing webhook are retried before the subscription "
            "is disabled."
        ),
    )
    webhook_first_retry_seconds: float = Field(
        default=5.0,
        gt=0,
        description="The first retry's delay; each next one doubles, with jitter.",
    )
    webhook_longest_retry_seconds: float = Field(
        default=3600.0,
        gt=0,
        description="The longest delay between two retries.",
    )
    webhook_timeout_seconds: float = Field(
        default=10.0,
        gt=0,
        le=60,
        description="Seconds a webhook receiver has to answer a delivery.",
    )
    webhook_lease_seconds: float = Field(
        default=30.0,
        ge=1,
        description=(
            "How long an instance holds a subscription's deliveries without renewing: "
            "another instance takes over once it lapses."
        ),
    )
    request_head_timeout: float = Field(
        default=10.0,
        gt=0,
        description=(
            "Seconds a client has to send a request line and headers, from the connection "
            "or the previous response; then it is closed."
        ),
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
        description="Open connections per process; beyond it new ones get 503 and are closed.",
    )
    keep_alive_timeout: float = Field(
        default=5.0,
        gt=0,
        description="Seconds an idle keep-alive connection stays open.",
    )
    read_cache: bool = Field(
        default=True,
        description=(
            "Answer public reads from a per-process cache of encoded responses, dropped "
            "when PostgreSQL notifies a change (true/false, on/off)."
        ),
    )
    read_cache_bytes: int = Field(
        default=64 * 1024 * 1024,
        ge=64 * 1024,
        description="Memory the read cache may hold per process, in bytes (least recently "
        "used answers go first).",
    )
    direct_reads: bool = Field(
        default=True,
        description=(
            "Answer the hottest public reads (member lists, holders, stats, cities, "
            "organizations) without the framework, on a pool of raw connections of their "
            "own (true/false, on/off); off: every read goes through FastAPI."
        ),
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
                f"{PREFIX}DB_COMMAND_TIMEOUT ({self.db_command_timeout:g} s) must exceed "
                f"{PREFIX}DB_STATEMENT_TIMEOUT_MS ({statement:g} s)"
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

    @field_validator("webhook_allowed_addresses")
    @classmethod
    def _networks_of_addresses(cls, value: list[str]) -> list[str]:
        for network in value:
            try:
                ipaddress.ip_network(network, strict=False)
            except ValueError:
                raise ValueError(
                    f"{network!r} is not a network; use CIDR, e.g. 127.0.0.1/32 or 10.0.0.0/8"
                ) from None
        return value

    @field_validator("data_dir")
    @classmethod
    def _absolute(cls, value: Path) -> Path:
        # Absolute once: every process and message names the same directory.
        return value.expanduser().resolve()

    @field_validator("embed_origins")
    @classmethod
    def _origins(cls, value: list[str]) -> list[str]:
        for origin in value:
            parts = urlsplit(origin)
            if (
                parts.scheme not in ("http", "https")
                or not parts.netloc
                or origin != f"{parts.scheme}://{parts.netloc}"
                or parts.username
                or any(character in origin for character in "'\";, *\t\r\n")
            ):
                raise ValueError(
                    f"{origin!r} is not an origin; give scheme and host (and port) only, "
                    "e.g. https://partner.example.org"
                )
        return value

    @field_validator("public_url")
    @classmethod
    def _public_origin(cls, value: str | None) -> str | None:
        if not value:
            return None
        parts = urlsplit(value)
        if parts.scheme not in ("http", "https") or not parts.netloc:
            raise ValueError(
                "must be an http:// or https:// URL, e.g. https://registry.example.org"
            )
        if parts.query or parts.fragment or parts.username or parts.password:
            raise ValueError(
                "must be a scheme, host and optional path only, e.g. https://registry.example.org"
            )
        if any(character in value for character in '<>" \t\r\n'):
            raise ValueError("must not contain spaces, quotes or angle brackets")
        return value.rstrip("/")

    @field_validator("redis_url")
    @classmethod
    def _redis_scheme(cls, value: str | None) -> str | None:
        if not value:
            return None
        if not value.startswith(("redis://", "rediss://", "unix://")):
            raise ValueError(
                "must start with redis://, rediss:// or unix://, e.g. redis://127.0.0.1:6379/0"
            )
        return value

    @field_validator("database_url")
    @classmethod
    def _asyncpg_only(cls, value: str | None) -> str | None:
        if value is not None and not value.startswith("postgresql+asyncpg://"):
            raise ValueError(
                "must start with postgresql+asyncpg://, "
                "e.g. postgresql+asyncpg://netregistry:secret@db:5432/netregistry"
            )
        return value

    @property
    def embedded(self) -> bool:
        """True when the service runs its own PostgreSQL."""
        return self.database_url is None

    def describe_registry(self) -> str:
        """Which registry this is, for people: the server URL without its password, or
        the embedded server's data directory."""
        if self.database_url is None:
            return f"embedded PostgreSQL in {self.data_dir}"
        from sqlalchemy.engine import make_url

        return make_url(self.database_url).render_as_string(hide_password=True)

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


class SettingsError(Exception):
    """A ``NETREGISTRY_*`` variable the service cannot use; one line per problem."""


def load_settings() -> Settings:
    """Settings from the environment, refusing unknown variables and unusable values with
    a message that names the variable and what it accepts."""
    environ = os.environ
    known = {PREFIX + name.upper() for name in Settings.model_fields}
    problems = [
        _unknown_variable(name, known)
        for name in sorted(environ)
        if name.startswith(PREFIX) and name not in known and name not in _TOOLING_VARIABLES
    ]
    if problems:
        raise SettingsError("\n".join(problems))
    try:
        return Settings()
    except ValidationError as error:
        raise SettingsError("\n".join(_describe(item) for item in error.errors())) from None
    except SourceError as error:
        field = str(error).split('"')[1] if '"' in str(error) else ""
        variable = PREFIX + field.upper()
        accepted = _accepted(field) or "the form the README's Configuration shows"
        raise SettingsError(f"{variable} cannot be read; use {accepted}") from None


@lru_cache
def get_settings() -> Settings:
    """The process-wide settings, read from the environment once."""
    return load_settings()


def _unknown_variable(name: str, known: set[str]) -> str:
    closest = difflib.get_close_matches(name, sorted(known), n=1, cutoff=0.6)
    hint = f"; did you mean {closest[0]}?" if closest else " (see the README's Configuration)"
    return f"{name} is not a netregistry setting{hint}"


def _describe(error: Any) -> str:
    """One line for one validation error, naming the variable and what it accepts."""
    location = error.get("loc") or ()
    message = str(error["msg"]).removeprefix("Value error, ")
    if not location:  # a rule across fields: its message names the variables
        return message
    field = str(location[0])
    given = "" if field in _SECRET_FIELDS else f"={error.get('input')!s}"
    accepted = _accepted(field)
    if error.get("type") == "value_error" or accepted is None:
        return f"{PREFIX}{field.upper()}{given}: {message}"
    return f"{PREFIX}{field.upper()}{given} is not accepted; use {accepted}"


def _accepted(field: str) -> str | None:
    """What a field accepts, in words, when its type says it."""
    info: FieldInfo | None = Settings.model_fields.get(field)
    if info is None:
        return None
    annotation = info.annotation
    if get_origin(annotation) is Literal:
        return "one of " + ", ".join(str(value) for value in get_args(annotation))
    if get_origin(annotation) is list:
        return 'a JSON list, e.g. ["https://partner.example.org"]'
    arguments = set(get_args(annotation)) or {annotation}
    if bool in arguments:
        return "true or false"
    if int in arguments or float in arguments:
        kind = "a whole number" if int in arguments else "a number"
        bounds = [
            f"{word} {getattr(item, attribute)}"
            for item in info.metadata
            for attribute, word in (("ge", "at least"), ("gt", "above"), ("le", "at most"))
            if getattr(item, attribute, None) is not None
        ]
        return kind + (f" {' and '.join(bounds)}" if bounds else "")
    return None
