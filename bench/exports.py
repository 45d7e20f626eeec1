"""Benchmark: the registry export (NDJSON, JSON, CSV zip) against PostgreSQL's own COPY.

Generates a registry with COPY (seeded, so every run loads the same rows): at
``--scale 1`` 500 networks (each with a chair and an executive role), 50,000 cities,
5,000 organizations, 300,000 memberships (partial dates, some ended, at most one
earlier ended and one later membership per member and network) and 30,000 tenures
(held by full members whose membership covers the tenure; a chair's terms follow each
other). Then, for each format, exports the whole registry (no ``as_of``) through
``stream_export`` in a fresh subprocess, so that the subprocess's peak RSS is the
export's peak memory: VmHWM from /proc/self/status (``getrusage``'s ru_maxrss is only
the fallback: on Linux it keeps the parent's peak across fork and exec, and the parent
held the generated registry). A baseline subprocess that only imports the app and opens
the snapshot shows what the export adds. Beside them, the same rows through
``COPY (<the export's row query>) TO STDOUT WITH (FORMAT csv)`` (the physical
limit), the export's JSON rows through COPY, and COPY of the plain tables (the raw floor).

Columns: wall seconds (median of ``--repeat`` runs), rows/s (networks + members +
memberships + roles + tenures), MB written, CPU seconds of the exporting process and of
its PostgreSQL backend (read from /proc when the server is on this machine), peak RSS,
its increment over the baseline, and the time as a multiple of COPY's.

    make bench-exports                                  # scale 1, embedded PostgreSQL
    .venv/bin/python -m bench.exports --quick           # scale 0.05: a smoke run
    .venv/bin/python -m bench.exports --scale 1 --memory-check
    NETREGISTRY_DATABASE_URL=postgresql+asyncpg://postgres@127.0.0.1:5432/bench_exports \\
        .venv/bin/python -m bench.exports               # an existing, empty database

``--memory-check`` first loads a tenth of ``--scale``, measures each format's peak
RSS there, then loads the full size and reports both peaks and their ratio (the target:
within 10 %). ``--split`` also reports how much of each export's time is spent waiting
for cursor batches; ``--profile`` prints the cProfile top functions of each export
(the profiler slows the export, so its timings are not comparable).

The child protocol, for profiling by hand against a loaded database:

    .venv/bin/python -m bench.exports --child ndjson --url postgresql+asyncpg://... --profile
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import cProfile
import io
import json
import os
import pstats
import random
import re
import resource
import statistics
import sys
import tempfile
import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import asyncpg
from sqlalchemy.engine import make_url

from netregistry.config import Settings
from netregistry.db import open_database
from netregistry.exports.records import DOCUMENT_ORDER
from netregistry.exports.repository import ExportSnapshot, json_query, open_snapshot, row_query
from netregistry.kit.logging import configure_logging

FORMATS = ("ndjson", "json", "csv")
TABLES = ("networks", "members", "memberships", "roles", "tenures")
SIZES = {
    "networks": 500,
    "cities": 50_000,
    "organizations": 5_000,
    "memberships": 300_000,
    "tenures": 30_000,
}
CATEGORIES = ["full", "associate", "observer"]
COUNTRIES = ["KR", "JP", "CN", "IN", "ID", "TH", "VN", "PH", "MY", "LK", "FR", "DE", "US", "BR"]
SYLLABLES = ["se", "ul", "yo", "ko", "ha", "ma", "ban", "kok", "su", "ra", "bé", "yō", "lo", "n"]
ORG_TYPES = ["association", "agency", "university", "foundation", "company"]
ROOT = Path(__file__).resolve().parents[1]
MB = 1024 * 1024


# --- generation ----------------------------------------------------------------------


def _name(rng: random.Random) -> str:
    return "".join(rng.choice(SYLLABLES) for _ in range(rng.randint(2, 4))).title()


def _partial(rng: random.Random, year: int) -> str:
    """A date in ``year`` given to the year, the month or the day."""
    precision = rng.random()
    if precision < 0.5:
        return f"{year:04d}"
    if precision < 0.75:
        return f"{year:04d}-{rng.randint(1, 12):02d}"
    return f"{year:04d}-{rng.randint(1, 12):02d}-{rng.randint(1, 28):02d}"


def _sometimes(rng: random.Random, probability: float, value: str) -> str | None:
    return value if rng.random() < probability else None


@dataclass
class Registry:
    networks: list[tuple[Any, ...]] = field(default_factory=list)
    roles: list[tuple[Any, ...]] = field(default_factory=list)
    members: list[tuple[Any, ...]] = field(default_factory=list)
    memberships: list[tuple[Any, ...]] = field(default_factory=list)
    tenures: list[tuple[Any, ...]] = field(default_factory=list)


COLUMNS = {
    "networks": [
        "id",
        "slug",
        "name",
        "acronym",
        "official_name",
        "founded_on",
        "scope",
        "website",
        "description",
        "membership_criteria",
        "membership_categories",
    ],
    "roles": [
        "id",
        "network_id",
        "slug",
        "name",
        "max_holders",
        "requires_membership",
        "eligible_categories",
    ],
    "members": [
        "id",
        "kind",
        "name",
        "alt_names",
        "country_code",
        "subdivision",
        "population",
        "latitude",
        "longitude",
        "geonames",
        "org_type",
        "website",
        "wikidata",
    ],
    "memberships": [
        "id",
        "network_id",
        "member_id",
        "category",
        "start_date",
        "end_date",
        "source_url",
        "note",
    ],
    "tenures": [
        "id",
        "network_id",
        "role_id",
        "member_id",
        "start_date",
        "end_date",
        "representative",
        "source_url",
        "note",
    ],
}


def generate(scale: float, seed: int = 7) -> Registry:
    """The registry at ``scale`` (1.0: the sizes in ``SIZES``), the same for the same seed."""
    rng = random.Random(seed)

    def new_id() -> uuid.UUID:
        return uuid.UUID(int=rng.getrandbits(128), version=4)

    sizes = {name: max(1, round(size * scale)) for name, size in SIZES.items()}
    registry = Registry()

    network_ids, chair_ids, executive_ids = [], [], []
    for index in range(sizes["networks"]):
        network_id = new_id()
        network_ids.append(network_id)
        name = f"{_name(rng)} Cities Network {index}"
        registry.networks.append(
            (
                network_id,
                f"network-{index:04d}",
                name,
                f"N{index}",
                _sometimes(rng, 0.5, f"The {name}, e.V."),
                _partial(rng, rng.randint(1950, 2015)),
                rng.choice(["global", "Asia-Pacific", "Europe", "Latin America"]),
                f"https://network-{index}.example.org",
                f"A network of cities working on {_name(rng).lower()}, "
                'with "quotes", commas, and a second line.\nSince its founding.',
                _sometimes(rng, 0.7, "Cities and local governments that sign the charter."),
                CATEGORIES,
            )
        )
        chair, executive = new_id(), new_id()
        chair_ids.append(chair)
        executive_ids.append(executive)
        registry.roles.append((chair, network_id, "chair", "Chair", 1, True, ["full"]))
        registry.roles.append(
            (executive, network_id, "executive", "Executive committee", None, True, None)
        )

    member_ids, member_names = [], []
    for index in range(sizes["cities"]):
        member_id, name = new_id(), f"{_name(rng)} {index}"
        member_ids.append(member_id)
        member_names.append(name)
        registry.members.append(
            (
                member_id,
                "city",
                name,
                [_name(rng) for _ in range(rng.choice([0, 0, 1, 2]))],
                rng.choice(COUNTRIES),
                _sometimes(rng, 0.6, f"{_name(rng)} Province"),
                rng.randint(5_000, 20_000_000),
                round(rng.uniform(-60, 70), 5),
                round(rng.uniform(-180, 180), 5),
                1_000_000 + index,
                None,
                None,
                _sometimes(rng, 0.7, f"Q{100_000 + index}"),
            )
        )
    for index in range(sizes["organizations"]):
        member_id, name = new_id(), f"{_name(rng)} {rng.choice(ORG_TYPES).title()} {index}"
        member_ids.append(member_id)
        member_names.append(name)
        registry.members.append(
            (
                member_id,
                "organization",
                name,
                [],
                _sometimes(rng, 0.6, rng.choice(COUNTRIES)),
                None,
                None,
                None,
                None,
                None,
                rng.choice(ORG_TYPES),
                f"https://org-{index}.example.org",
                _sometimes(rng, 0.5, f"Q{900_000 + index}"),
            )
        )

    # Memberships: pairs (member, network), a sixth of them with an earlier ended
    # membership before the current (or later ended) one, spread evenly.
    total = sizes["memberships"]
    pairs = total * 5 // 6
    doubles = total - pairs
    networks = sizes["networks"]
    # per network: (member index, first year or None, end year or None) of full memberships
    full: list[list[tuple[int, int | None, int | None]]] = [[] for _ in range(networks)]
    pair = 0
    members = len(member_ids)
    for member in range(members):
        count = min(networks, (member + 1) * pairs // members - member * pairs // members)
        for network in rng.sample(range(networks), count):
            double = (pair + 1) * doubles // pairs != pair * doubles // pairs
            pair += 1
            later_from = 1950
            if double:
                first = rng.randint(1950, 1990)
                ended = rng.randint(first + 1, first + 15)
                end = (
                    f"{ended:04d}"
                    if rng.random() < 0.5
                    else f"{ended:04d}-{rng.randint(1, 12):02d}"
                )
                category = rng.choice(CATEGORIES)
                registry.memberships.append(
                    (
                        new_id(),
                        network_ids[network],
                        member_ids[member],
                        category,
                        _partial(rng, first),
                        end,
                        _sometimes(rng, 0.3, f"https://archive.example.org/{pair}"),
                        None,
                    )
                )
                if category == "full":
                    full[network].append((member, first, ended))
                later_from = ended
            start_year: int | None = rng.randint(later_from, min(later_from + 40, 2024))
            if double and start_year == later_from:
                start: str | None = f"{start_year:04d}"  # from the last day of that year
            elif not double and rng.random() < 0.05:
                start, start_year = None, None  # since before the records
            else:
                assert start_year is not None
                start = _partial(rng, start_year)
            end_year = rng.randint((start_year or 1950) + 1, 2025) if rng.random() < 0.15 else None
            category = "full" if rng.random() < 0.65 else rng.choice(CATEGORIES[1:])
            registry.memberships.append(
                (
                    new_id(),
                    network_ids[network],
                    member_ids[member],
                    category,
                    start,
                    None if end_year is None else _partial(rng, end_year),
                    _sometimes(rng, 0.5, f"https://network.example.org/members/{pair}"),
                    _sometimes(rng, 0.1, "Joined at the general assembly; see the minutes."),
                )
            )
            if category == "full":
                full[network].append((member, start_year, end_year))

    # Tenures: per network a chain of two-year chair terms, then executive seats held by
    # full members whose membership covers the whole tenure (whole years: a tenure from
    # year A to year B covers [A-12-31, B-01-01), inside any membership from A or
    # earlier until B or later).
    def tenure(network: int, role: uuid.UUID, member: int, first: int, end: int | None) -> None:
        registry.tenures.append(
            (
                new_id(),
                network_ids[network],
                role,
                member_ids[member],
                f"{first:04d}",
                None if end is None else f"{end:04d}",
                _sometimes(rng, 0.6, f"Mayor of {member_names[member]}"),
                _sometimes(rng, 0.3, f"https://network.example.org/board/{first}"),
                None,
            )
        )

    tenures = sizes["tenures"]
    for network in range(networks):
        wanted = (network + 1) * tenures // networks - network * tenures // networks
        candidates = full[network]
        made = 0
        for term in range(min(18, wanted // 3)) if candidates else ():
            first, last = 1990 + 2 * term, term == min(18, wanted // 3) - 1
            for _ in range(200):
                member, since, until = rng.choice(candidates)
                covers = (since is None or since <= first) and (
                    until is None if last else (until is None or until >= first + 2)
                )
                if covers:
                    tenure(network, chair_ids[network], member, first, None if last else first + 2)
                    made += 1
                    break
        seated: set[int] = set()
        for _ in range(20 * wanted):
            if made >= wanted or not candidates:
                break
            member, since, until = rng.choice(candidates)
            lowest, highest = max(since or 1985, 1985), until or 2026
            if member in seated or highest - lowest < 1:
                continue
            first = rng.randint(lowest, highest - 1)
            end: int | None = min(first + rng.randint(1, 4), highest)
            if until is None and rng.random() < 0.3:
                end = None
            seated.add(member)
            tenure(network, executive_ids[network], member, first, end)
            made += 1
    return registry


async def load(dsn: str, registry: Registry) -> dict[str, int]:
    """COPY the registry in (no audit rows: bulk data is not audited), then VACUUM ANALYZE."""
    connection = await asyncpg.connect(dsn)
    try:
        for table in ("networks", "roles", "members", "memberships", "tenures"):
            await connection.copy_records_to_table(
                table, records=getattr(registry, table), columns=COLUMNS[table]
            )
        for table in TABLES:
            await connection.execute(f"VACUUM (ANALYZE) {table}")
        return {
            table: await connection.fetchval(f"SELECT count(*) FROM {table}")  # noqa: S608
            for table in TABLES
        }
    finally:
        await connection.close()


async def empty(dsn: str) -> None:
    connection = await asyncpg.connect(dsn)
    try:
        await connection.execute(f"TRUNCATE {', '.join(TABLES)}")
    finally:
        await connection.close()


async def is_empty(dsn: str) -> bool:
    connection = await asyncpg.connect(dsn)
    try:
        return not await connection.fetchval(
            "SELECT EXISTS (SELECT FROM networks) OR EXISTS (SELECT FROM members)"
        )
    finally:
        await connection.close()


# --- measuring -------------------------------------------------------------------------


def process_cpu(pid: int | None) -> float | None:
    """CPU seconds (user + system) of a process on this machine; None if not readable."""
    if pid is None:
        return None
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    fields = stat.rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def own_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def own_peak_rss() -> int:
    """This process's peak RSS in KiB: VmHWM on Linux, else ``getrusage``'s ru_maxrss.

    On Linux ru_maxrss survives fork and exec: a child of a parent that once held the
    generated registry reports the parent's peak. VmHWM belongs to the child's own memory.
    """
    with contextlib.suppress(OSError, AttributeError):
        status = Path("/proc/self/status").read_text()
        match = re.search(r"^VmHWM:\s+(\d+) kB", status, re.MULTILINE)
        if match:
            return int(match.group(1))
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss


def local_backend(dsn: str, pid: int) -> int | None:
    """The backend's pid when the server runs on this machine (its /proc is ours to read)."""
    host = make_url(dsn).query.get("host") or make_url(dsn).host
    local = host is None or str(host).startswith("/") or host in ("127.0.0.1", "localhost", "::1")
    return pid if local and process_cpu(pid) is not None else None


@dataclass
class Result:
    label: str
    seconds: list[float] = field(default_factory=list)
    bytes: int = 0
    client_cpu: list[float] = field(default_factory=list)
    server_cpu: list[float] = field(default_factory=list)
    peak_rss_kib: int | None = None
    fetch_seconds: list[float] = field(default_factory=list)

    @property
    def median(self) -> float:
        return statistics.median(self.seconds)


class Counter:
    """An async sink for COPY's output that only counts."""

    def __init__(self) -> None:
        self.bytes = 0

    async def __call__(self, data: bytes) -> None:
        self.bytes += len(data)


async def copy_baselines(dsn: str, repeat: int) -> list[Result]:
    """COPY of the export's rows (CSV), of its JSON rows, and of the plain tables."""
    connection = await asyncpg.connect(dsn)
    backend = local_backend(dsn, connection.get_server_pid())
    params: tuple[None, None] = (None, None)  # the whole registry, the full history

    def export_rows(query: Callable[[Any], str], fmt: str) -> Callable[[Counter], Awaitable[None]]:
        async def run(counter: Counter) -> None:
            for record in DOCUMENT_ORDER:
                sql = query(record)
                bound = params if "$2" in sql else params[:1]
                await connection.copy_from_query(sql, *bound, output=counter, format=fmt)

        return run

    async def plain_tables(counter: Counter) -> None:
        for table in TABLES:
            await connection.copy_from_table(table, output=counter)

    cases: list[tuple[str, Callable[[Counter], Awaitable[None]]]] = [
        ("COPY (row_query) csv", export_rows(row_query, "csv")),
        ("COPY (json_query) text", export_rows(lambda r: json_query(r, typed=True), "text")),
        ("COPY <tables> text", plain_tables),
    ]
    results = []
    try:
        for label, run in cases:
            result = Result(label)
            for _ in range(repeat):
                counter = Counter()
                before = process_cpu(backend)
                started = time.perf_counter()
                async with connection.transaction(isolation="repeatable_read", readonly=True):
                    await connection.execute("SET LOCAL timezone = 'UTC'")
                    await run(counter)
                result.seconds.append(time.perf_counter() - started)
                after = process_cpu(backend)
                if before is not None and after is not None:
                    result.server_cpu.append(after - before)
                result.bytes = counter.bytes
            results.append(result)
    finally:
        await connection.close()
    return results


async def run_child(url: str, fmt: str, *, devnull: bool, split: bool, profile: bool) -> dict:
    """One export (or the baseline) in a fresh interpreter; its JSON report."""
    command = [sys.executable, "-m", "bench.exports", "--child", fmt, "--url", url]
    command += ["--devnull"] * devnull + ["--split"] * split + ["--profile"] * profile
    process = await asyncio.create_subprocess_exec(
        *command, cwd=ROOT, stdout=asyncio.subprocess.PIPE, stderr=None
    )
    stdout, _ = await process.communicate()
    if process.returncode != 0:
        raise RuntimeError(f"{' '.join(command)} failed with {process.returncode}")
    return dict(json.loads(stdout.decode().strip().splitlines()[-1]))


async def measure_exports(
    url: str, repeat: int, *, devnull: bool, split: bool, profile: bool
) -> tuple[Result, list[Result]]:
    baseline = Result("baseline (import + snapshot)")
    for _ in range(repeat):
        report = await run_child(url, "baseline", devnull=False, split=False, profile=False)
        baseline.peak_rss_kib = max(baseline.peak_rss_kib or 0, report["peak_rss_kib"])
    results = []
    for fmt in FORMATS:
        result = Result(fmt)
        for _ in range(repeat):
            report = await run_child(url, fmt, devnull=devnull, split=split, profile=profile)
            result.seconds.append(report["seconds"])
            result.bytes = report["bytes"]
            result.client_cpu.append(report["client_cpu"])
            if report["server_cpu"] is not None:
                result.server_cpu.append(report["server_cpu"])
            if report["fetch_seconds"] is not None:
                result.fetch_seconds.append(report["fetch_seconds"])
            result.peak_rss_kib = max(result.peak_rss_kib or 0, report["peak_rss_kib"])
        results.append(result)
    return baseline, results


# --- the child: one export in a fresh process ----------------------------------------


def _timed_rows(totals: dict[str, float]) -> None:
    """Count the time the export spends awaiting cursor batches (server + wire + decode)."""
    original = ExportSnapshot.rows

    async def rows(self: ExportSnapshot, query: str, batch: int = 2000) -> AsyncIterator[Any]:
        iterator = original(self, query, batch).__aiter__()
        while True:
            started = time.perf_counter()
            try:
                records = await iterator.__anext__()
            except StopAsyncIteration:
                totals["fetch"] += time.perf_counter() - started
                return
            totals["fetch"] += time.perf_counter() - started
            yield records

    ExportSnapshot.rows = rows  # type: ignore[method-assign]


async def child(fmt: str, url: str, *, devnull: bool, split: bool, profile: bool) -> None:
    from netregistry.app import create_app
    from netregistry.exports.service import ExportRequest, stream_export

    settings = Settings(
        database_url=url,
        migrate_on_start=False,
        secret_key="bench",  # type: ignore[arg-type]
        log_level="WARNING",
        data_dir=Path(tempfile.gettempdir()) / "netregistry-bench-exports",
    )
    create_app(settings)  # what a serving process holds, for a fair baseline
    totals = {"fetch": 0.0}
    if split:
        _timed_rows(totals)
    report: dict[str, Any] = {"format": fmt, "bytes": 0, "chunks": 0, "largest_chunk": 0}
    profiler = cProfile.Profile() if profile else None
    async with open_database(settings) as engine:
        cpu_before, started = own_cpu(), time.perf_counter()
        async with open_snapshot(engine, None, None) as snapshot:
            driver = snapshot._driver  # the asyncpg connection, for its backend's pid
            backend = local_backend(url, driver.get_server_pid())
            server_before = process_cpu(backend)
            if fmt == "baseline":
                await snapshot.network_exists("none")
            else:
                target = os.open(os.devnull, os.O_WRONLY) if devnull else None
                try:
                    if profiler:
                        profiler.enable()
                    async for chunk in stream_export(snapshot, ExportRequest(fmt, None, None)):
                        report["bytes"] += len(chunk)
                        report["chunks"] += 1
                        report["largest_chunk"] = max(report["largest_chunk"], len(chunk))
                        if target is not None:
                            os.write(target, chunk)
                    if profiler:
                        profiler.disable()
                finally:
                    if target is not None:
                        os.close(target)
            server_after = process_cpu(backend)
        report["seconds"] = time.perf_counter() - started
        report["client_cpu"] = own_cpu() - cpu_before
    report["server_cpu"] = (
        None if server_before is None or server_after is None else server_after - server_before
    )
    report["fetch_seconds"] = totals["fetch"] if split else None
    report["maxrss_kib"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    report["peak_rss_kib"] = own_peak_rss()
    if profiler:
        text = io.StringIO()
        pstats.Stats(profiler, stream=text).sort_stats("tottime").print_stats(25)
        print(f"--- cProfile of the {fmt} export (by own time) ---", file=sys.stderr)
        print(text.getvalue(), file=sys.stderr)
    print(json.dumps(report))


# --- the report ------------------------------------------------------------------------


def _mb(kib: int | None) -> str:
    return "-" if kib is None else f"{kib / 1024:.1f}"


def _cpu(values: list[float]) -> str:
    return f"{statistics.median(values):.2f}" if values else "-"


def print_table(
    rows: int, counts: dict[str, int], baseline: Result, exports: list[Result], copies: list[Result]
) -> None:
    floor = copies[0].median
    print(
        f"\nrows exported: {rows:,} ("
        + ", ".join(f"{counts[t]:,} {t}" for t in TABLES)
        + f"); times: median of {len(copies[0].seconds)}"
    )
    header = (
        f"{'format':28} {'seconds':>8} {'rows/s':>10} {'MB out':>8} {'cpu py':>7} "
        f"{'cpu pg':>7} {'peak RSS':>9} {'+base':>7} {'x COPY':>7}"
    )
    print(header)
    print("-" * len(header))
    for result in [*exports, *copies]:
        increment = (
            None
            if result.peak_rss_kib is None or baseline.peak_rss_kib is None
            else result.peak_rss_kib - baseline.peak_rss_kib
        )
        print(
            f"{result.label:28} {result.median:8.2f} {rows / result.median:10,.0f} "
            f"{result.bytes / MB:8.1f} {_cpu(result.client_cpu):>7} {_cpu(result.server_cpu):>7} "
            f"{_mb(result.peak_rss_kib):>9} {_mb(increment):>7} {result.median / floor:7.2f}"
        )
    print(
        f"{baseline.label:28} {'':8} {'':10} {'':8} {'':7} {'':7} {_mb(baseline.peak_rss_kib):>9}"
    )
    if any(r.fetch_seconds for r in exports):
        print("\ntime awaiting cursor batches (server + wire + decode) / the rest (Python):")
        for result in exports:
            fetch = statistics.median(result.fetch_seconds)
            print(f"  {result.label:8} {fetch:6.2f} s / {result.median - fetch:6.2f} s")
    ndjson = next(r for r in exports if r.label == "ndjson")
    verdict = "meets" if ndjson.median <= 3 * floor else "MISSES"
    print(f"\nNDJSON: {ndjson.median / floor:.2f}x COPY's time: {verdict} the 3x target.")


def print_memory_check(
    small_scale: float, scale: float, small: list[Result], large: list[Result], base: Result
) -> None:
    print(f"\nmemory check: peak RSS at scale {small_scale:g} and at {scale:g} (10x the data)")
    print(
        f"{'format':8} {'small MB':>9} {'large MB':>9} {'ratio':>7} "
        f"{'+base small':>12} {'+base large':>12}"
    )
    for little, big in zip(small, large, strict=True):
        assert little.peak_rss_kib
        assert big.peak_rss_kib
        assert base.peak_rss_kib
        ratio = big.peak_rss_kib / little.peak_rss_kib
        flat = "flat" if ratio <= 1.10 else "NOT flat"
        print(
            f"{big.label:8} {_mb(little.peak_rss_kib):>9} {_mb(big.peak_rss_kib):>9} "
            f"{ratio:7.3f} {_mb(little.peak_rss_kib - base.peak_rss_kib):>12} "
            f"{_mb(big.peak_rss_kib - base.peak_rss_kib):>12}  {flat}"
        )
    print("(+base: above the baseline subprocess measured at the large scale)")


async def populate(dsn: str, scale: float) -> dict[str, int]:
    started = time.perf_counter()
    registry = generate(scale)
    generated = time.perf_counter()
    counts = await load(dsn, registry)
    print(
        f"scale {scale:g}: generated in {generated - started:.1f} s, loaded (COPY, VACUUM "
        f"ANALYZE) in {time.perf_counter() - generated:.1f} s: "
        + ", ".join(f"{counts[t]:,} {t}" for t in TABLES),
        flush=True,
    )
    return counts


async def main(args: argparse.Namespace) -> None:
    configure_logging("WARNING")
    scale = 0.05 if args.quick else args.scale
    database_url = os.environ.get("NETREGISTRY_DATABASE_URL")
    with tempfile.TemporaryDirectory(prefix="netregistry-bench-") as data_dir:
        settings = Settings(
            data_dir=Path(data_dir),
            secret_key="bench",  # type: ignore[arg-type]
            log_level="WARNING",
            migrate_on_start=True,
            database_url=database_url,
        )
        async with open_database(settings) as engine:
            url = engine.url.render_as_string(hide_password=False)
            dsn = engine.url.set(drivername="postgresql").render_as_string(hide_password=False)
            where = "NETREGISTRY_DATABASE_URL" if database_url else "embedded PostgreSQL"
            connection = await asyncpg.connect(dsn)
            version = await connection.fetchval("SHOW server_version")
            await connection.close()
            print(f"database: {where}, PostgreSQL {version}; load: {_loadavg()}", flush=True)
            if not await is_empty(dsn):
                raise SystemExit("The database is not empty: give the benchmark an empty one.")
            options = {"devnull": args.devnull, "split": args.split, "profile": args.profile}
            small: list[Result] = []
            if args.memory_check:
                await populate(dsn, scale / 10)
                _, small = await measure_exports(url, args.repeat, **options)
                await empty(dsn)
            counts = await populate(dsn, scale)
            await copy_baselines(dsn, 1)  # warm the cache: every case reads warm pages
            copies = await copy_baselines(dsn, args.repeat)
            baseline, exports = await measure_exports(url, args.repeat, **options)
            print_table(sum(counts.values()), counts, baseline, exports, copies)
            if args.memory_check:
                print_memory_check(scale / 10, scale, small, exports, baseline)
            print(f"\nload after the run: {_loadavg()}")
            if database_url and not args.keep:
                await empty(dsn)


def _loadavg() -> str:
    try:
        return Path("/proc/loadavg").read_text().strip()
    except OSError:
        return "unknown"


def parse(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--scale", type=float, default=1.0, help="1.0: the sizes of the issue")
    parser.add_argument("--quick", action="store_true", help="scale 0.05, a smoke run")
    parser.add_argument(
        "--memory-check", action="store_true", help="also measure at a tenth of the scale"
    )
    parser.add_argument("--repeat", type=int, default=3, help="runs per case (median time)")
    parser.add_argument("--devnull", action="store_true", help="also write exports to /dev/null")
    parser.add_argument("--split", action="store_true", help="time spent awaiting the cursor")
    parser.add_argument("--profile", action="store_true", help="cProfile each export (stderr)")
    parser.add_argument(
        "--keep", action="store_true", help="leave the rows in NETREGISTRY_DATABASE_URL's database"
    )
    parser.add_argument("--child", choices=["baseline", *FORMATS], help=argparse.SUPPRESS)
    parser.add_argument("--url", help=argparse.SUPPRESS)
    return parser.parse_args(argv)


if __name__ == "__main__":
    arguments = parse()
    if arguments.child:
        asyncio.run(
            child(
                arguments.child,
                arguments.url,
                devnull=arguments.devnull,
                split=arguments.split,
                profile=arguments.profile,
            )
        )
    else:
        asyncio.run(main(arguments))
