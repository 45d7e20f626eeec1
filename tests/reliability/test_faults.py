"""Faults against a running service: PostgreSQL stopped and started again under load,
PostgreSQL crashed, and the service itself killed with SIGKILL in the middle of writes.

Each test runs a real ``netregistry serve`` (uvicorn) process on an embedded PostgreSQL
of this module's own, whatever server the rest of the suite uses: stopping and crashing
a server is only fair to one nobody else is using.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

import asyncpg
import httpx
import pytest
from sqlalchemy.engine import make_url

from netregistry.embedded import EmbeddedPostgres
from tests.conftest import free_port

# Settings of the service under test: how long a request may wait for the database.
CONNECT_TIMEOUT = 2.0
POOL_TIMEOUT = 2.0
COMMAND_TIMEOUT = 2.0
# The slowest answer allowed while the database is away or frozen: waiting for a pooled
# connection, for a new one, for the statement and then for its rollback, and a margin
# for a 2-core machine that also runs the load.
FAIL_FAST_BOUND = POOL_TIMEOUT + CONNECT_TIMEOUT + 2 * COMMAND_TIMEOUT + 5.0
RECOVERY_BOUND = 30.0
WRITERS = 6
READERS = 6


@pytest.fixture(scope="module")
def postgres() -> Iterator[EmbeddedPostgres]:
    # Not pytest's tmp_path: the embedded server runs as an unprivileged user that must
    # be able to reach its data directory.
    with tempfile.TemporaryDirectory(prefix="netregistry-faults-") as data_dir:
        server = EmbeddedPostgres(Path(data_dir))
        server.start()
        try:
            yield server
        finally:
            server.stop()


async def _connect(postgres: EmbeddedPostgres, database: str) -> asyncpg.Connection:
    url = make_url(postgres.url(database)).set(drivername="postgresql")
    return await asyncpg.connect(url.render_as_string(hide_password=False))


@pytest.fixture
async def database_url(postgres: EmbeddedPostgres) -> str:
    name = f"nr_faults_{uuid.uuid4().hex[:12]}"
    admin = await _connect(postgres, "postgres")
    try:
        await admin.execute(f'CREATE DATABASE "{name}"')
    finally:
        await admin.close()
    return postgres.url(name)


def _cli() -> str:
    return str(Path(sys.executable).with_name("netregistry"))


@dataclass
class Service:
    """A ``netregistry serve`` process on a database of its own."""

    database_url: str
    data_dir: Path
    port: int = field(default_factory=free_port)
    process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def env(self) -> dict[str, str]:
        return {
            **os.environ,
            "NETREGISTRY_DATABASE_URL": self.database_url,
            "NETREGISTRY_DATA_DIR": str(self.data_dir),
            "NETREGISTRY_SECRET_KEY": "faults-test-secret",
            "NETREGISTRY_MIGRATE_ON_START": "true",
            "NETREGISTRY_WRITE_RATE_LIMIT": "",
            "NETREGISTRY_DB_CONNECT_TIMEOUT": str(CONNECT_TIMEOUT),
            "NETREGISTRY_DB_POOL_TIMEOUT": str(POOL_TIMEOUT),
            "NETREGISTRY_DB_COMMAND_TIMEOUT": str(COMMAND_TIMEOUT),
            "NETREGISTRY_DB_STATEMENT_TIMEOUT_MS": str(int(COMMAND_TIMEOUT * 1000) - 500),
            "NETREGISTRY_LOG_LEVEL": "WARNING",
        }

    def admin_key(self) -> str:
        result = subprocess.run(
            [_cli(), "keys", "create", "--name", "faults", "--admin"],
            env=self.env,
            capture_output=True,
            check=True,
        )
        return result.stdout.decode().strip()

    def spawn(self) -> None:
        with (self.data_dir / "service.log").open("ab") as log:
            self.process = subprocess.Popen(
                [_cli(), "serve", "--port", str(self.port)], env=self.env, stdout=log, stderr=log
            )

    async def start(self) -> None:
        self.spawn()
        await self.wait_ready()

    def alive(self) -> bool:
        return self.process is not None and self.process.poll() is None

    async def wait_ready(self, within: float = RECOVERY_BOUND) -> float:
        """Seconds until /readyz says ready."""
        started = time.monotonic()
        async with httpx.AsyncClient(base_url=self.url, timeout=2) as client:
            while time.monotonic() - started < within:
                assert self.alive(), self.log()
                try:
                    if (await client.get("/readyz")).status_code == 200:
                        return time.monotonic() - started
                except httpx.TransportError:
                    pass
                await asyncio.sleep(0.1)
        raise AssertionError(f"not ready within {within} s\n{self.log()}")

    def kill(self, signum: int = signal.SIGTERM) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(signum)
            try:
                self.process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()

    def log(self) -> str:
        path = self.data_dir / "service.log"
        return path.read_text(errors="replace")[-20_000:] if path.exists() else ""


@pytest.fixture
async def service(database_url: str, tmp_path: Path) -> AsyncIterator[Service]:
    running = Service(database_url, tmp_path)
    await running.start()
    try:
        yield running
    finally:
        running.kill()


@dataclass
class Outcome:
    kind: Literal["read", "write"]
    started: float
    elapsed: float
    status: int | None  # None: no HTTP answer
    error: str | None = None
    city_id: str | None = None
    problem_type: str | None = None
    retry_after: str | None = None


@dataclass
class Load:
    """Writers creating cities and readers listing them, until stopped."""

    client: httpx.AsyncClient
    headers: dict[str, str]
    outcomes: list[Outcome] = field(default_factory=list)
    stopping: asyncio.Event = field(default_factory=asyncio.Event)

    async def _write(self, worker: int) -> None:
        sequence = 0
        while not self.stopping.is_set():
            sequence += 1
            body = {"name": f"Faultcity {worker}-{sequence}", "country_code": "KR"}
            await self._send("write", "POST", "/v1/cities", body)

    async def _read(self) -> None:
        paths = ("/v1/cities?limit=20", "/v1/networks/citynet/members", "/v1/networks")
        sequence = 0
        while not self.stopping.is_set():
            sequence += 1
            await self._send("read", "GET", paths[sequence % len(paths)], None)

    async def _send(
        self, kind: Literal["read", "write"], method: str, path: str, body: object
    ) -> None:
        started = time.monotonic()
        try:
            response = await self.client.request(method, path, json=body, headers=self.headers)
        except httpx.TransportError as error:
            self.outcomes.append(
                Outcome(kind, started, time.monotonic() - started, None, type(error).__name__)
            )
            await asyncio.sleep(0.05)
            return
        outcome = Outcome(kind, started, time.monotonic() - started, response.status_code)
        if response.status_code == 201:
            outcome.city_id = response.json()["id"]
        elif response.status_code >= 400:
            outcome.problem_type = response.json().get("type")
            outcome.retry_after = response.headers.get("retry-after")
            await asyncio.sleep(0.05)  # as a polite client would
        self.outcomes.append(outcome)

    async def run(self) -> None:
        await asyncio.gather(
            *(self._write(worker) for worker in range(WRITERS)),
            *(self._read() for _ in range(READERS)),
        )

    def acknowledged(self) -> set[str]:
        return {outcome.city_id for outcome in self.outcomes if outcome.city_id is not None}


@contextlib.asynccontextmanager
async def under_load(service: Service, warmup: float = 2) -> AsyncIterator[Load]:
    """A network, then writers and readers running for the block (from ``warmup`` seconds
    before it); the load stops when the block ends."""
    headers = {"Authorization": f"Bearer {service.admin_key()}"}
    async with httpx.AsyncClient(base_url=service.url, timeout=60) as client:
        response = await client.post(
            "/v1/networks", json={"slug": "citynet", "name": "CITYNET"}, headers=headers
        )
        assert response.status_code == 201, response.text
        load = Load(client, headers)
        running = asyncio.create_task(load.run())
        await asyncio.sleep(warmup)
        try:
            yield load
        finally:
            load.stopping.set()
            await running


async def _stored_city_ids(postgres: EmbeddedPostgres, database_url: str) -> set[str]:
    connection = await _connect(postgres, make_url(database_url).database or "")
    try:
        rows = await connection.fetch("SELECT id::text FROM members")
    finally:
        await connection.close()
    return {row[0] for row in rows}


async def test_database_restart_under_load_fails_fast_and_recovers_without_restart(
    postgres: EmbeddedPostgres, service: Service, database_url: str
) -> None:
    async with under_load(service) as load:
        await asyncio.to_thread(postgres.stop)
        went_down = time.monotonic()
        await asyncio.sleep(3)
        readiness_while_down = await load.client.get("/readyz")
        coming_back = time.monotonic()
        await asyncio.to_thread(postgres.start)
        recovery = await service.wait_ready()
        recovered = time.monotonic()
        await asyncio.sleep(2)

    assert service.alive(), "the service died"
    stored = await _stored_city_ids(postgres, database_url)

    outcomes = load.outcomes
    down = [o for o in outcomes if went_down < o.started < coming_back]
    after = [o for o in outcomes if o.started > recovered]
    # The fault happened, and every request during it had a 503 problem, quickly.
    assert down, "no request ran while the database was down"
    assert all(o.status == 503 for o in down), {(o.status, o.error) for o in down}
    assert all(o.problem_type == "urn:netregistry:problem:service-unavailable" for o in down)
    assert all(o.retry_after is not None for o in down)
    assert readiness_while_down.status_code == 503
    # Nothing else ever failed: no 500, no hang, no dropped connection.
    assert {o.status for o in outcomes} <= {200, 201, 503}, service.log()
    assert not [o for o in outcomes if o.error is not None]
    slowest = max(o.elapsed for o in outcomes)
    assert slowest < FAIL_FAST_BOUND, f"a request took {slowest:.1f} s"
    # The same process serves again, reads and writes alike.
    assert recovery < RECOVERY_BOUND
    assert {o.status for o in after if o.kind == "write"} == {201}
    assert {o.status for o in after if o.kind == "read"} == {200}
    # Every acknowledged write is stored.
    assert load.acknowledged() <= stored
    assert len(load.acknowledged()) > 10


def _signal(pid: int, signum: signal.Signals) -> None:
    with contextlib.suppress(ProcessLookupError):
        os.kill(pid, signum)


def _postgres_processes(postgres: EmbeddedPostgres) -> list[int]:
    postmaster = int((postgres.pgdata / "postmaster.pid").read_text().split()[0])
    children = subprocess.run(
        ["pgrep", "-P", str(postmaster)], capture_output=True, check=False
    ).stdout.split()
    return [postmaster, *(int(pid) for pid in children)]


async def test_a_frozen_database_is_503_within_the_command_timeout_not_a_hang(
    postgres: EmbeddedPostgres, service: Service, database_url: str
) -> None:
    async with under_load(service, warmup=1) as load:
        # SIGSTOP: the server holds its connections open and answers nothing, the way
        # a hung host or a partitioned network behaves.
        # The postmaster first, so that no backend starts or ends while its siblings are
        # stopped; a backend that ended since pgrep listed it needs no signal.
        frozen = _postgres_processes(postgres)
        froze = time.monotonic()
        try:
            for pid in frozen:
                _signal(pid, signal.SIGSTOP)
            await asyncio.sleep(2 * COMMAND_TIMEOUT + 2)
            readiness_while_frozen = await load.client.get("/readyz")
        finally:
            thawed = time.monotonic()
            for pid in frozen:
                _signal(pid, signal.SIGCONT)
        await service.wait_ready()
        await asyncio.sleep(1)

    stored = await _stored_city_ids(postgres, database_url)

    during = [o for o in load.outcomes if froze < o.started and o.started + o.elapsed < thawed]
    assert during, "no request ended while the database was frozen"
    assert {o.status for o in during} == {503}
    assert readiness_while_frozen.status_code == 503
    slowest = max(o.elapsed for o in load.outcomes)
    assert slowest < FAIL_FAST_BOUND, f"a request took {slowest:.1f} s"
    assert {o.status for o in load.outcomes} <= {200, 201, 503}, service.log()
    assert not [o for o in load.outcomes if o.error is not None]
    assert service.alive()
    assert load.acknowledged() <= stored


async def test_a_postgres_crash_loses_no_acknowledged_write(
    postgres: EmbeddedPostgres, service: Service, database_url: str
) -> None:
    async with under_load(service) as load:
        await asyncio.to_thread(postgres.stop, "immediate")  # no checkpoint: WAL recovery
        await asyncio.sleep(1)
        await asyncio.to_thread(postgres.start)
        await service.wait_ready()

    stored = await _stored_city_ids(postgres, database_url)
    assert len(load.acknowledged()) > 10
    assert load.acknowledged() <= stored
    assert {o.status for o in load.outcomes} <= {200, 201, 503}, service.log()


async def test_sigkill_in_the_middle_of_writes_loses_no_acknowledged_write(
    postgres: EmbeddedPostgres, service: Service, database_url: str
) -> None:
    async with under_load(service) as load:
        service.kill(signal.SIGKILL)
        await asyncio.sleep(0.5)

    acknowledged = load.acknowledged()
    assert len(acknowledged) > 10
    assert acknowledged <= await _stored_city_ids(postgres, database_url)
    # Requests in flight at the kill got no answer; none got a wrong one.
    assert {o.status for o in load.outcomes} <= {200, 201, None}

    # A new process on the same database serves everything that was acknowledged.
    await service.start()
    async with httpx.AsyncClient(base_url=service.url, timeout=30) as client:
        for city_id in sorted(acknowledged)[:50]:
            assert (await client.get(f"/v1/cities/{city_id}")).status_code == 200


async def test_the_real_server_bounds_the_request_head(service: Service) -> None:
    async with httpx.AsyncClient(base_url=service.url, timeout=30) as client:
        over_the_limit = await client.get("/v1/networks", headers={"X-Pad": "a" * 20_000})
        assert over_the_limit.status_code == 431
        assert "x-request-id" in over_the_limit.headers
        # Far over it, the connection itself refuses to buffer the head.
        absurd = await client.get("/v1/networks", headers={"X-Pad": "a" * 200_000})
        assert absurd.status_code == 400
        assert (await client.get("/v1/networks")).status_code == 200
