"""Benchmark: a mixed workload against a real server over HTTP, for a bounded time.

By default the benchmark starts its own server, exactly as an operator would: it creates
a fresh database on the PostgreSQL named by ``--database-url`` (default
``$NETREGISTRY_DATABASE_URL``, else the local ``postgres@127.0.0.1:5432``), runs
``netregistry migrate`` and ``netregistry keys create --admin`` against it, then
``netregistry serve`` (uvicorn, ``--workers``) on a free port, and drops the database at
the end. ``--embedded`` uses the embedded PostgreSQL in a temporary directory instead.
The server runs with ``NETREGISTRY_WRITE_RATE_LIMIT=1000000/minute`` so that the
per-key write limiter is not what is measured. With ``--url http://host:port
--api-key <admin token>`` it targets a server that already runs (then its rate limit
applies: a 429 counts as an error) and seeds networks named ``load-<random>-…`` there,
which it leaves behind.

Seeding goes through the API: ``--networks`` networks, ``--cities`` cities, memberships
(some ended, partial dates, two categories), a chair handed over a few times and an
executive role with several holders. Then ``--concurrency`` clients, each its own
``httpx.AsyncClient`` on one keep-alive HTTP/1.1 connection, send requests back to back
for ``--duration`` seconds (after ``--warmup`` seconds not counted):

* 90 % reads: the member list (today, and ``as_of`` a past day), role holders (today and
  past), the city list searched by ``q`` and filtered by ``country``, one city by id;
* 10 % writes: create a city, create a membership, PATCH a city with ``If-Match``, hand a
  role over. Each client writes only its own cities and hands over its own one-seat role
  on ever later days, so no write can legitimately conflict: every 409, 412 or 429 is an
  error, as is any 5xx, transport error or timeout, or any other unexpected status.

It reports per operation and in total: requests, throughput, p50/p90/p99/max latency and
errors by status, and the CPU seconds the client, the server and PostgreSQL (when local)
used. It exits 1 when there was any error: zero errors at the stated concurrency is the
bar. Client and server share this machine's cores: the figures are the whole system's.

    make bench-load
    .venv/bin/python -m bench.load --concurrency 64 --duration 30
    .venv/bin/python -m bench.load --workers 2 --pool-size 20
    .venv/bin/python -m bench.load --url http://127.0.0.1:8000 --api-key nr_...
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import datetime as dt
import os
import random
import signal
import socket
import subprocess
import sys
import tempfile
import time
import uuid
from collections import Counter, defaultdict
from collections.abc import AsyncIterator, Awaitable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import asyncpg
import httpx
from sqlalchemy.engine import make_url

from netregistry.config import Settings

DEFAULT_DATABASE_URL = "postgresql+asyncpg://postgres@127.0.0.1:5432/postgres"
RATE_LIMIT = "1000000/minute"
COUNTRIES = ["KR", "JP", "CN", "IN", "ID", "TH", "VN", "PH", "MY", "LK", "FR", "BR", "ZA", "US"]
SYLLABLES = ["se", "ul", "yo", "ko", "ha", "ma", "ban", "kok", "su", "ra", "ba", "ya", "lo", "n"]
PAST_DAYS = ["1995-06-30", "2005-01-01", "2013-11-05", "2018-03-15", "2022-12-31"]

# The workload: operation -> weight (per cent). Reads first, then writes.
READS = {
    "members": 20,
    "members as_of": 15,
    "holders": 8,
    "holders as_of": 7,
    "cities q": 10,
    "cities country": 10,
    "city by id": 20,
}
WRITES = {
    "create city": 3,
    "create membership": 3,
    "patch city": 2,
    "handover": 2,
}


def city_name(rng: random.Random) -> str:
    return "".join(rng.choice(SYLLABLES) for _ in range(rng.randint(2, 4))).title()


def partial_date(rng: random.Random, year: int) -> str:
    return rng.choice([f"{year}", f"{year}-{rng.randint(1, 12):02d}", f"{year}-03-01"])


# --- the server ----------------------------------------------------------------------------------


def netregistry_command() -> list[str]:
    """The ``netregistry`` console script of this environment."""
    script = Path(sys.executable).with_name("netregistry")
    return [str(script)] if script.exists() else [sys.executable, "-m", "netregistry"]


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


@dataclass
class Server:
    """A server under test: its URL, an admin key, and (when started here) its process."""

    url: str
    api_key: str
    process: subprocess.Popen[bytes] | None = None
    settings: dict[str, str] = field(default_factory=dict)
    postgres_marker: str | None = None  # see _serves()


def _run(command: list[str], env: dict[str, str]) -> str:
    done = subprocess.run(command, env=env, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise SystemExit(f"{' '.join(command)} failed:\n{done.stderr[-2000:]}")
    return done.stdout


def _asyncpg_dsn(url: str) -> str:
    return make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)


async def _admin_sql(url: str, sql: str) -> None:
    connection = await asyncpg.connect(_asyncpg_dsn(url))
    try:
        await connection.execute(sql)
    finally:
        await connection.close()


@contextlib.asynccontextmanager
async def started_server(args: argparse.Namespace) -> AsyncIterator[Server]:
    """A fresh database (or embedded server), migrated, with an admin key, served."""
    with tempfile.TemporaryDirectory(prefix="netregistry-load-") as data_dir:
        env = {
            **os.environ,
            "NETREGISTRY_DATA_DIR": data_dir,
            "NETREGISTRY_SECRET_KEY": uuid.uuid4().hex,
            "NETREGISTRY_WRITE_RATE_LIMIT": RATE_LIMIT,
            "NETREGISTRY_LOG_LEVEL": args.server_log_level,
            "NETREGISTRY_MIGRATE_ON_START": "false",
        }
        for option, variable in (
            ("pool_size", "NETREGISTRY_DB_POOL_SIZE"),
            ("max_overflow", "NETREGISTRY_DB_MAX_OVERFLOW"),
        ):
            if getattr(args, option) is not None:
                env[variable] = str(getattr(args, option))
        database: str | None = None
        if args.embedded:
            env.pop("NETREGISTRY_DATABASE_URL", None)
        else:
            database = f"nr_bench_load_{uuid.uuid4().hex[:10]}"
            env["NETREGISTRY_DATABASE_URL"] = (
                make_url(args.database_url)
                .set(database=database)
                .render_as_string(hide_password=False)
            )
            await _admin_sql(args.database_url, f'CREATE DATABASE "{database}"')
        try:
            command = netregistry_command()
            _run([*command, "migrate"], env)
            token = _run([*command, "keys", "create", "--name", "bench-load", "--admin"], env)
            port = free_port()
            log = Path(data_dir) / "server.log"
            serve = ["serve", "--host", "127.0.0.1", "--port", str(port)]
            process = spawn([*command, *serve, "--workers", str(args.workers)], env, log)
            server = Server(f"http://127.0.0.1:{port}", token.strip().splitlines()[-1], process)
            server.settings = server_settings(env, args.workers)
            server.postgres_marker = database or str(Path(data_dir) / "pgdata")
            try:
                await wait_ready(server, log)
                yield server
            finally:
                stop(process, Path(data_dir))
        finally:
            if database is not None:
                await _admin_sql(
                    args.database_url, f'DROP DATABASE IF EXISTS "{database}" WITH (FORCE)'
                )


def spawn(command: list[str], env: dict[str, str], log: Path) -> subprocess.Popen[bytes]:
    """Start the server in its own process group, its output to ``log``."""
    with log.open("wb") as sink:
        return subprocess.Popen(
            command, env=env, stdout=sink, stderr=subprocess.STDOUT, start_new_session=True
        )


def tail(log: Path) -> str:
    return log.read_text(errors="replace")[-3000:]


def server_settings(env: dict[str, str], workers: int) -> dict[str, str]:
    """The settings that matter for throughput, as the server reads them."""
    fields = Settings.model_fields

    def value(name: str) -> str:
        return env.get(f"NETREGISTRY_{name.upper()}", str(fields[name].default))

    return {
        "workers": str(workers),
        "db_pool_size": value("db_pool_size"),
        "db_max_overflow": value("db_max_overflow"),
        "db_pool_timeout": value("db_pool_timeout") + " s",
        "write_rate_limit": value("write_rate_limit"),
        "log_level": value("log_level"),
        "database": "embedded" if "NETREGISTRY_DATABASE_URL" not in env else "named",
    }


async def wait_ready(server: Server, log: Path, within: float = 90) -> None:
    deadline = time.monotonic() + within
    async with httpx.AsyncClient(base_url=server.url, timeout=2) as client:
        while time.monotonic() < deadline:
            assert server.process is not None
            if server.process.poll() is not None:
                raise SystemExit(f"the server exited:\n{tail(log)}")
            with contextlib.suppress(httpx.TransportError):
                if (await client.get("/readyz")).status_code == 200:
                    return
            await asyncio.sleep(0.2)
    raise SystemExit(f"the server was not ready within {within} s:\n{tail(log)}")


def stop(process: subprocess.Popen[bytes], data_dir: Path) -> None:
    """Stop the server as an operator would: SIGTERM to uvicorn, which stops its workers
    and then (``finally``) its embedded PostgreSQL. Only if that hangs, SIGKILL its
    process group, and fast-shut-down an embedded PostgreSQL left behind."""
    if process.poll() is None:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()
    with contextlib.suppress(OSError, ValueError, IndexError):
        postmaster = int((data_dir / "pgdata" / "postmaster.pid").read_text().split()[0])
        os.kill(postmaster, signal.SIGINT)  # fast shutdown
        for _ in range(100):
            os.kill(postmaster, 0)  # raises once it is gone
            time.sleep(0.1)


# --- CPU accounting (Linux /proc) ---------------------------------------------------------------


def _proc_stat(pid: int) -> tuple[int, float] | None:
    """(parent pid, CPU seconds) of a process."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except (OSError, IndexError):
        return None
    ticks = os.sysconf("SC_CLK_TCK")
    return int(fields[1]), (int(fields[11]) + int(fields[12])) / ticks


def _processes() -> Iterator[tuple[int, str]]:
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            with contextlib.suppress(OSError):
                yield int(entry.name), (entry / "comm").read_text().strip()


def _serves(pid: int, marker: str | None) -> bool:
    """True for a PostgreSQL process of this benchmark: a backend of its database, or the
    embedded server's postmaster (its command line names the data directory)."""
    if marker is None:
        return False
    with contextlib.suppress(OSError):
        return marker in Path(f"/proc/{pid}/cmdline").read_bytes().decode(errors="replace")
    return False


def _machine_busy() -> float:
    """CPU seconds all cores spent busy since boot (every process, other jobs too)."""
    try:
        ticks = [int(v) for v in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
    except (OSError, ValueError):
        return float("nan")
    idle = ticks[3] + (ticks[4] if len(ticks) > 4 else 0)
    return (sum(ticks[:8]) - idle) / os.sysconf("SC_CLK_TCK")


Snapshot = dict[tuple[str, int], float]  # ("client" | "machine" | kind, pid) -> CPU s


def cpu_snapshot(server: Server) -> Snapshot:
    """CPU used so far by this client, each process of the server, each PostgreSQL process
    serving it (the backends of its database, or the whole embedded server), and the
    machine as a whole."""
    usage = {("client", 0): time.process_time(), ("machine", 0): _machine_busy()}
    stats = {pid: (comm, _proc_stat(pid)) for pid, comm in _processes()}
    ours = {
        pid
        for pid, (comm, _) in stats.items()
        if comm in ("postgres", "postmaster") and _serves(pid, server.postgres_marker)
    }
    tree = ours | ({server.process.pid} if server.process is not None else set())
    for _ in range(4):  # uvicorn -> workers, embedded postmaster -> its backends
        tree |= {pid for pid, (_, stat) in stats.items() if stat and stat[0] in tree}
    for pid, (comm, stat) in stats.items():
        if stat is None:
            continue
        if comm in ("postgres", "postmaster") and (pid in tree or pid in ours):
            usage["postgres", pid] = stat[1]
        elif pid in tree:
            usage["server", pid] = stat[1]
    return usage


def cpu_spent(before: Snapshot, after: Snapshot) -> dict[str, float]:
    """CPU seconds between two snapshots, by consumer. A process that exited meanwhile (a
    pool's overflow connection) took its time with it: "postgres" is a lower bound, and
    "machine" includes whatever else runs here."""
    spent = dict.fromkeys(("client", "server", "postgres", "machine"), 0.0)
    for (kind, pid), seconds in after.items():
        spent[kind] += seconds - before.get((kind, pid), 0.0)
    return spent


# --- seeding -------------------------------------------------------------------------------------


@dataclass
class Dataset:
    networks: list[str]
    cities: list[str]
    roles: list[tuple[str, str]]  # (network, role)


async def gather_limited(calls: list[Awaitable[Any]], limit: int = 16) -> list[Any]:
    gate = asyncio.Semaphore(limit)

    async def run(call: Awaitable[Any]) -> Any:
        async with gate:
            return await call

    return await asyncio.gather(*(run(call) for call in calls))


async def expect(response: Awaitable[httpx.Response], status: int = 201) -> dict[str, Any]:
    answered = await response
    if answered.status_code != status:
        raise SystemExit(
            f"seeding: {answered.request.url} -> {answered.status_code} {answered.text}"
        )
    body: dict[str, Any] = answered.json()
    return body


async def seed(client: httpx.AsyncClient, args: argparse.Namespace) -> Dataset:
    """Networks, cities, memberships, a chair handed over and an executive, via the API."""
    rng = random.Random(args.seed)
    prefix = "load" if args.url is None else f"load-{uuid.uuid4().hex[:6]}"
    networks = [f"{prefix}-{n}" for n in range(args.networks)]
    for slug in networks:
        await expect(client.post("/v1/networks", json={"slug": slug, "name": slug.upper()}))
    cities = await gather_limited(
        [
            expect(
                client.post(
                    "/v1/cities",
                    json={
                        "name": city_name(rng),
                        "country_code": rng.choice(COUNTRIES),
                        "population": rng.randint(10_000, 20_000_000),
                    },
                )
            )
            for _ in range(args.cities)
        ]
    )
    ids = [city["id"] for city in cities]
    membership_calls = []
    members: dict[str, list[str]] = {}
    for n, slug in enumerate(networks):
        share = max(0.2, 0.8 - 0.25 * n)  # the first network is the biggest
        members[slug] = [city for city in ids if rng.random() < share]
        for city in members[slug]:
            start = rng.randint(1987, 2012)
            body: dict[str, Any] = {
                "member_id": city,
                "category": "full" if rng.random() < 0.65 else "associate",
                "start_date": partial_date(rng, start) if start > 1987 else None,
            }
            if rng.random() < 0.15:  # an ended membership, and a later one
                body["end_date"] = str(start + rng.randint(1, 5))
                later = {**body, "start_date": str(start + 8), "end_date": None}
                later["category"] = "full"
                membership_calls.append((slug, later))
            membership_calls.append((slug, body))
    await gather_limited(
        [
            expect(client.post(f"/v1/networks/{slug}/memberships", json=b))
            for slug, b in membership_calls
        ]
    )
    roles = []
    for slug in networks:
        # Members since the records began, ongoing: eligible for any tenure.
        steady = [
            b["member_id"]
            for s, b in membership_calls
            if s == slug and b["start_date"] is None and "end_date" not in b
        ]
        await expect(
            client.post(
                f"/v1/networks/{slug}/roles",
                json={"slug": "chair", "name": "Chair", "max_holders": 1},
            )
        )
        await expect(
            client.post(
                f"/v1/networks/{slug}/roles",
                json={"slug": "executive", "name": "Executive", "max_holders": 12},
            )
        )
        roles += [(slug, "chair"), (slug, "executive")]
        chairs = rng.sample(steady, min(len(steady), 5))
        for year, city in zip(range(2001, 2030, 4), chairs, strict=False):
            await expect(
                client.post(
                    f"/v1/networks/{slug}/roles/chair/handover",
                    json={"member_id": city, "date": f"{year}-11-05"},
                )
            )
        await gather_limited(
            [
                expect(
                    client.post(
                        f"/v1/networks/{slug}/tenures",
                        json={"role": "executive", "member_id": city, "start_date": "2010"},
                    )
                )
                for city in rng.sample(steady, min(len(steady), 10))
            ]
        )
    return Dataset(networks, ids, roles)


# --- the workload --------------------------------------------------------------------------------


@dataclass
class Tally:
    """What one operation kind measured."""

    latencies: list[float] = field(default_factory=list)  # seconds
    errors: Counter[str] = field(default_factory=Counter)
    samples: dict[str, str] = field(default_factory=dict)  # one response per error kind


@dataclass
class Run:
    tallies: dict[str, Tally] = field(default_factory=lambda: defaultdict(Tally))
    counting: bool = False


class Client:
    """One simulated user: a keep-alive connection, its own cities and its own role."""

    def __init__(
        self, number: int, http: httpx.AsyncClient, data: Dataset, run: Run, seed: int
    ) -> None:
        self.number = number
        self.http = http
        self.data = data
        self.run = run
        self.rng = random.Random(seed * 1000 + number)
        self.own: dict[str, str] = {}  # city id -> its ETag
        self.open_memberships: list[tuple[str, str]] = []  # (network, city) not yet written
        self.role = f"load-{number}"
        self.holder: str | None = None
        self.day = dt.date(2000, 1, 1)
        operations = {**READS, **WRITES}
        self.kinds = list(operations)
        self.weights = list(operations.values())

    async def setup(self) -> None:
        """The client's one-seat role (it needs no membership) and a first city."""
        network = self.data.networks[0]
        await expect(
            self.http.post(
                f"/v1/networks/{network}/roles",
                json={
                    "slug": self.role,
                    "name": f"Load {self.number}",
                    "max_holders": 1,
                    "requires_membership": False,
                },
            )
        )
        for _ in range(2):
            await self.create_city()

    async def loop(self, deadline: float) -> None:
        while time.monotonic() < deadline:
            kind = self.rng.choices(self.kinds, self.weights)[0]
            await getattr(self, "op_" + kind.replace(" ", "_"))(kind)

    async def timed(
        self,
        kind: str,
        method: str,
        path: str,
        expected: int = 200,
        **options: Any,
    ) -> httpx.Response | None:
        started = time.perf_counter()
        try:
            response = await self.http.request(method, path, **options)
        except httpx.HTTPError as error:
            self.record(kind, started, type(error).__name__, repr(error))
            return None
        problem = None if response.status_code == expected else str(response.status_code)
        self.record(kind, started, problem, response.text[:300])
        return response if problem is None else None

    def record(self, kind: str, started: float, problem: str | None, detail: str) -> None:
        if not self.run.counting:
            return
        tally = self.run.tallies[kind]
        tally.latencies.append(time.perf_counter() - started)
        if problem is not None:
            tally.errors[problem] += 1
            tally.samples.setdefault(problem, detail)

    # reads

    def network(self) -> str:
        return self.rng.choice(self.data.networks)

    async def op_members(self, kind: str) -> None:
        await self.timed(kind, "GET", f"/v1/networks/{self.network()}/members")

    async def op_members_as_of(self, kind: str) -> None:
        params = {"as_of": self.rng.choice(PAST_DAYS)}
        await self.timed(kind, "GET", f"/v1/networks/{self.network()}/members", params=params)

    async def op_holders(self, kind: str) -> None:
        network, role = self.rng.choice(self.data.roles)
        await self.timed(kind, "GET", f"/v1/networks/{network}/roles/{role}/holders")

    async def op_holders_as_of(self, kind: str) -> None:
        network, role = self.rng.choice(self.data.roles)
        params = {"as_of": self.rng.choice(PAST_DAYS)}
        await self.timed(kind, "GET", f"/v1/networks/{network}/roles/{role}/holders", params=params)

    async def op_cities_q(self, kind: str) -> None:
        query = "".join(self.rng.choice(SYLLABLES) for _ in range(2))
        await self.timed(kind, "GET", "/v1/cities", params={"q": query, "limit": "20"})

    async def op_cities_country(self, kind: str) -> None:
        params = {"country": self.rng.choice(COUNTRIES), "network": self.network()}
        await self.timed(kind, "GET", "/v1/cities", params=params)

    async def op_city_by_id(self, kind: str) -> None:
        await self.timed(kind, "GET", f"/v1/cities/{self.rng.choice(self.data.cities)}")

    # writes: only the client's own cities and role, so none may conflict

    async def create_city(self, kind: str = "create city") -> None:
        body = {
            "name": f"{city_name(self.rng)} {self.number}",
            "country_code": self.rng.choice(COUNTRIES),
            "population": self.rng.randint(10_000, 5_000_000),
        }
        response = await self.timed(kind, "POST", "/v1/cities", 201, json=body)
        if response is not None:
            city = response.json()["id"]
            self.own[city] = response.headers["etag"]
            self.open_memberships += [(network, city) for network in self.data.networks]
            self.rng.shuffle(self.open_memberships)

    async def op_create_city(self, kind: str) -> None:
        await self.create_city(kind)

    async def op_create_membership(self, kind: str) -> None:
        if not self.open_memberships:
            await self.create_city()
            return
        network, city = self.open_memberships.pop()
        body = {
            "member_id": city,
            "category": "full",
            "start_date": f"{self.rng.randint(1990, 2024)}",
        }
        await self.timed(kind, "POST", f"/v1/networks/{network}/memberships", 201, json=body)

    async def op_patch_city(self, kind: str) -> None:
        city = self.rng.choice(list(self.own))
        response = await self.timed(
            kind,
            "PATCH",
            f"/v1/cities/{city}",
            json={"population": self.rng.randint(10_000, 5_000_000)},
            headers={"If-Match": self.own[city]},
        )
        if response is not None:
            self.own[city] = response.headers["etag"]

    async def op_handover(self, kind: str) -> None:
        city = self.rng.choice([c for c in self.own if c != self.holder])
        self.day += dt.timedelta(days=1)
        body = {"member_id": city, "date": self.day.isoformat()}
        path = f"/v1/networks/{self.data.networks[0]}/roles/{self.role}/handover"
        if await self.timed(kind, "POST", path, 201, json=body) is not None:
            self.holder = city


async def drive(
    server: Server, headers: dict[str, str], data: Dataset, args: argparse.Namespace
) -> tuple[Run, float, dict[str, float]]:
    """Run the clients for warm-up plus duration; return what was counted, its wall time
    and the CPU seconds spent meanwhile."""
    base_url = server.url
    run = Run()
    limits = httpx.Limits(max_connections=1, max_keepalive_connections=1)
    timeout = httpx.Timeout(args.timeout)
    async with contextlib.AsyncExitStack() as stack:
        clients = []
        for number in range(args.concurrency):
            http = await stack.enter_async_context(
                httpx.AsyncClient(
                    base_url=base_url, headers=headers, limits=limits, timeout=timeout
                )
            )
            clients.append(Client(number, http, data, run, args.seed))
        await gather_limited([client.setup() for client in clients])
        warm_until = time.monotonic() + args.warmup
        await asyncio.gather(*(client.loop(warm_until) for client in clients))
        run.counting = True
        cpu_before = cpu_snapshot(server)
        started = time.monotonic()
        await asyncio.gather(*(client.loop(started + args.duration) for client in clients))
        elapsed = time.monotonic() - started
        cpu_after = cpu_snapshot(server)
        run.counting = False
    cpu = cpu_spent(cpu_before, cpu_after)
    if server.process is None:  # not ours to measure
        cpu = {"client": cpu["client"], "machine": cpu["machine"]}
    return run, elapsed, cpu


# --- the report ----------------------------------------------------------------------------------


def percentile(ordered: list[float], share: float) -> float:
    """Nearest-rank percentile of sorted values, in milliseconds."""
    if not ordered:
        return float("nan")
    rank = max(0, min(len(ordered) - 1, round(share * len(ordered) + 0.5) - 1))
    return ordered[rank] * 1000


def report(run: Run, elapsed: float, cpu: dict[str, float], args: argparse.Namespace) -> int:
    columns = ("requests", "req/s", "p50 ms", "p90 ms", "p99 ms", "max ms")
    header = f"{'operation':18} {columns[0]:>9}" + "".join(f" {c:>8}" for c in columns[1:])
    header += "  errors"
    print(header)
    print("-" * len(header))
    total = Tally()
    for kind in [*READS, *WRITES]:
        tally = run.tallies.get(kind, Tally())
        total.latencies += tally.latencies
        total.errors += tally.errors
        print(line(kind, tally, elapsed))
    print("-" * len(header))
    reads = sum(len(run.tallies[k].latencies) for k in READS if k in run.tallies)
    print(line("total", total, elapsed))
    count = len(total.latencies)
    print(
        f"\n{count} requests in {elapsed:.1f} s ({reads / max(count, 1):.0%} reads) at "
        f"concurrency {args.concurrency}; errors: {sum(total.errors.values())}"
    )
    print(
        "CPU seconds during the run: "
        + ", ".join(f"{name} {seconds:.1f}" for name, seconds in cpu.items())
        + f" (of {os.cpu_count()} cores x {elapsed:.1f} s = {(os.cpu_count() or 1) * elapsed:.0f},"
        " shared by client, server, PostgreSQL and anything else running here)"
    )
    for kind, tally in run.tallies.items():
        for problem, sample in tally.samples.items():
            print(f"  {kind}: first {problem}: {sample}")
    return 1 if total.errors else 0


def line(kind: str, tally: Tally, elapsed: float) -> str:
    ordered = sorted(tally.latencies)
    errors = ", ".join(f"{status}: {n}" for status, n in sorted(tally.errors.items())) or "0"
    figures = [
        len(ordered) / elapsed,
        percentile(ordered, 0.5),
        percentile(ordered, 0.9),
        percentile(ordered, 0.99),
        ordered[-1] * 1000 if ordered else float("nan"),
    ]
    return f"{kind:18} {len(ordered):>9}" + "".join(f" {f:>8.1f}" for f in figures) + f"  {errors}"


# --- main ----------------------------------------------------------------------------------------


async def benchmark(args: argparse.Namespace) -> int:
    async with contextlib.AsyncExitStack() as stack:
        if args.url is not None:
            server = Server(args.url.rstrip("/"), args.api_key, settings={"server": "external"})
        else:
            server = await stack.enter_async_context(started_server(args))
        headers = {"Authorization": f"Bearer {server.api_key}"}
        print(
            "server: "
            + ", ".join(f"{name}={value}" for name, value in server.settings.items())
            + f"; client: concurrency={args.concurrency}, duration={args.duration:g} s, "
            f"warmup={args.warmup:g} s; machine: {os.cpu_count()} cores shared by client, "
            "server and PostgreSQL"
        )
        started = time.perf_counter()
        async with httpx.AsyncClient(base_url=server.url, headers=headers, timeout=60) as client:
            data = await seed(client, args)
        print(
            f"seeded {len(data.networks)} networks, {len(data.cities)} cities with memberships "
            f"and tenures through the API in {time.perf_counter() - started:.1f} s\n"
        )
        run, elapsed, cpu = await drive(server, headers, data, args)
        return report(run, elapsed, cpu, args)


def arguments() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--duration", type=float, default=30, help="Seconds measured.")
    parser.add_argument("--warmup", type=float, default=3, help="Seconds run first, not counted.")
    parser.add_argument("--concurrency", type=int, default=32, help="Clients sending at once.")
    parser.add_argument("--timeout", type=float, default=10, help="Per request, seconds.")
    parser.add_argument("--networks", type=int, default=3)
    parser.add_argument("--cities", type=int, default=400)
    parser.add_argument("--seed", type=int, default=7)
    started = parser.add_argument_group("the server started here")
    started.add_argument(
        "--database-url",
        default=os.environ.get("NETREGISTRY_DATABASE_URL", DEFAULT_DATABASE_URL),
        help="A PostgreSQL server (any database on it) where a fresh database is created.",
    )
    started.add_argument("--embedded", action="store_true", help="Use the embedded PostgreSQL.")
    started.add_argument("--workers", type=int, default=1, help="Server worker processes.")
    started.add_argument("--pool-size", type=int, help="NETREGISTRY_DB_POOL_SIZE (per worker).")
    started.add_argument("--max-overflow", type=int, help="NETREGISTRY_DB_MAX_OVERFLOW.")
    started.add_argument("--server-log-level", default="INFO")
    external = parser.add_argument_group("a server already running")
    external.add_argument("--url", help="e.g. http://127.0.0.1:8000 (then --api-key).")
    external.add_argument("--api-key", help="An admin key of that server.")
    args = parser.parse_args()
    if args.url is not None and not args.api_key:
        parser.error("--url needs --api-key (an admin key: the benchmark seeds networks)")
    return args


def main() -> None:
    args = arguments()
    sys.exit(asyncio.run(benchmark(args)))


if __name__ == "__main__":
    main()
