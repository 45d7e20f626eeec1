"""The ``netregistry`` command line."""

from __future__ import annotations

import asyncio
import json
import os
import sys
import threading
import uuid
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Annotated, NoReturn, TypeVar

import typer
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession

from netregistry import migrations, serving
from netregistry.config import PREFIX, Settings, SettingsError, get_settings
from netregistry.db import create_sessionmaker, open_database
from netregistry.embedded import EmbeddedPostgres
from netregistry.errors import NetregistryError
from netregistry.kit.logging import configure_logging

app = typer.Typer(
    help="netregistry: the membership registry of city networks.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
)
keys_app = typer.Typer(help="Create, list and revoke API keys.", no_args_is_help=True)
app.add_typer(keys_app, name="keys")

T = TypeVar("T")


@app.callback()
def main() -> None:
    try:
        settings = get_settings()
    except SettingsError as error:
        _fail(str(error), code=2)
    configure_logging(settings.log_level, json=settings.log_json)


def _fail(message: str, *, code: int = 1) -> NoReturn:
    for line in message.splitlines():
        typer.secho(f"error: {line}", err=True, fg=typer.colors.RED)
    raise typer.Exit(code)


def _say_registry(settings: Settings) -> None:
    """Name the registry a command works on (stderr: stdout may carry an export)."""
    typer.echo(f"registry: {settings.describe_registry()}", err=True)


def _in_transaction(work: Callable[[AsyncSession], Awaitable[T]]) -> T:
    """Run ``work`` in one transaction on the configured (or embedded) database."""

    settings = get_settings()
    _say_registry(settings)

    async def run() -> T:
        async with (
            open_database(settings) as engine,
            create_sessionmaker(engine).begin() as session,
        ):
            return await work(session)

    try:
        return asyncio.run(run())
    except NetregistryError as error:
        typer.secho(f"error: {error.detail}", err=True, fg=typer.colors.RED)
        raise typer.Exit(1) from error


@app.command()
def serve(
    host: Annotated[str, typer.Option(help="Address to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port to listen on.")] = 8000,
    workers: Annotated[int, typer.Option(min=1, help="Worker processes.")] = 1,
    demo: Annotated[bool, typer.Option("--demo", help="Load the demo data first.")] = False,
) -> None:
    """Run the HTTP service (on the embedded PostgreSQL unless a database is named)."""
    settings = get_settings()
    try:
        sock = serving.bind(host, port)
    except serving.StartupError as error:
        _fail(str(error))
    _say_registry(settings)
    embedded: EmbeddedPostgres | None = None
    stopped: threading.Event | None = None
    try:
        with serving.stop_signals_raise():
            if settings.embedded:
                embedded = EmbeddedPostgres(settings.data_dir)
                embedded.start()
                asyncio.run(embedded.ensure_database())
                # The workers share this process's server; they neither start nor migrate it.
                settings = settings.model_copy(update={"database_url": embedded.url()})
            settings.resolve_secret_key()  # created once here, before workers start
            migrate = settings.migrate_on_start or (
                settings.migrate_on_start is None and embedded is not None
            )
            asyncio.run(_prepare(settings, migrate=migrate, demo=demo))
            settings = settings.model_copy(update={"migrate_on_start": False})
            if workers > 1:
                os.environ[f"{PREFIX}DATABASE_URL"] = str(settings.database_url)
                os.environ[f"{PREFIX}DATA_DIR"] = str(settings.data_dir)
                os.environ[f"{PREFIX}MIGRATE_ON_START"] = "false"
            stopped = serving.announce_when_ready(
                host, port, typer.echo, _banner(settings, host, port, embedded is not None)
            )
            serving.run(settings, sock, workers=workers)
    except serving.Stopped:
        pass
    except serving.StartupError as error:
        _fail(str(error))
    finally:
        if stopped is not None:
            stopped.set()
        sock.close()
        if embedded is not None:
            embedded.stop()


def _banner(settings: Settings, host: str, port: int, embedded: bool) -> list[str]:
    shown = f"[{host}]" if ":" in host else host
    url = f"http://{shown}:{port}"
    registry = (
        f"embedded PostgreSQL in {settings.data_dir}"
        if embedded
        else (settings.describe_registry())
    )
    command = _command_name()
    return [
        "",
        f"netregistry is ready on {url}",
        f"  API docs      {url}/docs",
        f"  registry      {registry}",
        f"  create a key  {command} keys create --name me --admin",
        "  stop          Ctrl+C",
        "",
    ]


def _command_name() -> str:
    """How the user can call this command again: relative to the working directory
    when it lives below it (``.venv/bin/netregistry``), else its name."""
    program = Path(sys.argv[0]) if sys.argv and sys.argv[0] else Path("netregistry")
    try:
        return str(program.resolve().relative_to(Path.cwd()))
    except ValueError:
        return program.name


async def _prepare(settings: Settings, *, migrate: bool, demo: bool) -> None:
    from netregistry.demo import load_demo

    async with open_database(settings.model_copy(update={"migrate_on_start": False})) as engine:
        if migrate:
            await migrations.upgrade(engine)
        else:
            await _require_current_schema(engine)
        if demo:
            async with create_sessionmaker(engine).begin() as session:
                await load_demo(session)


async def _require_current_schema(engine: AsyncEngine) -> None:
    """Refuse to serve a database whose schema is not this version's."""
    current, head = await migrations.current_revision(engine), migrations.head_revision()
    if current == head:
        return
    if current is not None and not migrations.is_known_revision(current):
        raise serving.StartupError(
            f"the database's schema ({current}) is newer than this netregistry knows "
            f"(its newest is {head}): run a newer netregistry against it"
        )
    state = "has no netregistry schema yet" if current is None else f"is at {current}"
    raise serving.StartupError(
        f"the database {state}, this netregistry needs {head}: run `netregistry migrate` "
        f"first, or start with {PREFIX}MIGRATE_ON_START=true"
    )


@app.command()
def migrate() -> None:
    """Upgrade the database schema to the newest migration."""

    settings = get_settings()
    _say_registry(settings)

    async def run() -> None:
        async with open_database(settings) as engine:
            await migrations.upgrade(engine)
            typer.echo(f"schema at {await migrations.current_revision(engine)}")

    asyncio.run(run())


@app.command()
def demo() -> None:
    """Load the facts of the seed articles (CITYNET, Metropolis). Safe to run twice."""
    from netregistry.demo import load_demo

    created = _in_transaction(load_demo)
    typer.echo(f"demo data loaded ({created} records created)")


@app.command()
def openapi(
    output: Annotated[
        Path | None, typer.Option("--output", "-o", help="Write here instead of stdout.")
    ] = None,
) -> None:
    """Print the OpenAPI contract generated from the application."""
    from netregistry.app import create_app

    document = json.dumps(create_app(Settings()).openapi(), indent=2, ensure_ascii=False) + "\n"
    if output is None:
        typer.echo(document, nl=False)
    else:
        output.write_text(document)


@app.command("export")
def export_command(
    network: Annotated[str | None, typer.Option(help="One network's slug; default all.")] = None,
    format: Annotated[str, typer.Option(help="json, ndjson or csv (a zip).")] = "json",
    as_of: Annotated[
        str | None, typer.Option("--as-of", help="The state on this day (YYYY-MM-DD).")
    ] = None,
    output: Annotated[
        Path | None, typer.Option("--output", "-o", help="Write here instead of stdout.")
    ] = None,
    schema: Annotated[
        bool, typer.Option("--schema", help="Print the JSON Schema of the json format.")
    ] = False,
) -> None:
    """Export the registry (or one network) as GET /v1/export does."""
    from datetime import date as Date

    from netregistry.exports.lifecycle import open_export
    from netregistry.exports.records import json_schema
    from netregistry.exports.service import ExportRequest

    if schema:
        document = json.dumps(json_schema(), indent=2, ensure_ascii=False) + "\n"
        _write(document.encode(), output)
        return
    if format not in ("json", "ndjson", "csv"):
        raise typer.BadParameter("json, ndjson or csv", param_hint="--format")
    day = Date.fromisoformat(as_of) if as_of else None
    request = ExportRequest(format, network, day)  # type: ignore[arg-type]

    settings = get_settings()
    _say_registry(settings)

    async def run() -> None:
        async with (
            open_database(settings) as engine,
            open_export(engine, request) as export,
        ):
            sink = output.open("wb") if output else sys.stdout.buffer
            try:
                async for chunk in export.chunks():
                    sink.write(chunk)
            finally:
                if output:
                    sink.close()

    try:
        asyncio.run(run())
    except NetregistryError as error:
        typer.secho(f"error: {error.detail}", err=True, fg=typer.colors.RED)
        raise typer.Exit(1) from error


@app.command("import")
def import_command(
    file: Annotated[
        Path, typer.Argument(exists=True, dir_okay=False, help="A json or ndjson export.")
    ],
) -> None:
    """Import an export into an empty registry: all of it, or nothing."""
    from netregistry.exports.importer import import_records, read_records

    async def work(session: AsyncSession) -> str:
        return str(await import_records(session, read_records(file)))

    typer.echo(f"imported {_in_transaction(work)}")


def _write(content: bytes, output: Path | None) -> None:
    if output is None:
        sys.stdout.buffer.write(content)
    else:
        output.write_bytes(content)


@keys_app.command("create")
def keys_create(
    name: Annotated[str, typer.Option(help="Who the key is for, e.g. citynet-secretariat.")],
    admin: Annotated[bool, typer.Option("--admin", help="May write everything.")] = False,
    network: Annotated[
        list[str] | None, typer.Option(help="A network slug the key may write to (repeatable).")
    ] = None,
) -> None:
    """Create a key and print its token: shown once, stored only as a hash."""
    from netregistry.auth.service import ApiKeyService

    async def work(session: AsyncSession) -> tuple[uuid.UUID, str]:
        issued = await ApiKeyService(session).create(name, admin=admin, networks=network or [])
        return issued.key.id, issued.token

    key_id, token = _in_transaction(work)
    typer.echo(f"key id: {key_id}", err=True)
    typer.echo("token (shown once, keep it secret):", err=True)
    typer.echo(token)


@keys_app.command("list")
def keys_list() -> None:
    """List keys (never their tokens)."""
    from netregistry.auth.service import ApiKeyService

    async def work(session: AsyncSession) -> list[str]:
        return [
            "\t".join(
                [
                    str(listed.key.id),
                    listed.key.name,
                    listed.key.prefix + "…",
                    listed.describe_scope(),
                    listed.key.created_at.isoformat(),
                    f"revoked {listed.key.revoked_at.isoformat()}"
                    if listed.key.revoked_at
                    else "active",
                ]
            )
            for listed in await ApiKeyService(session).list_keys()
        ]

    for line in _in_transaction(work):
        typer.echo(line)


@keys_app.command("revoke")
def keys_revoke(key_id: Annotated[uuid.UUID, typer.Argument(help="The key's id.")]) -> None:
    """Revoke a key: it is refused from the next request on."""
    from netregistry.auth.service import ApiKeyService

    async def work(session: AsyncSession) -> None:
        await ApiKeyService(session).revoke(key_id)

    _in_transaction(work)
    typer.echo(f"revoked {key_id}")
