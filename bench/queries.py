"""Benchmark: the "as of" questions on a large network.

Builds a network of N member cities (default 15,000) with a history (ended and
current memberships, partial dates, executive and chair tenures), then times the
member list (first page, a deep page, filtered by country and by name), role holders
and stats through the ASGI app, and prints p50/p95/max per query.

    make bench                       # embedded PostgreSQL in a temporary directory
    .venv/bin/python -m bench.queries --members 15000 --rounds 50
    NETREGISTRY_DATABASE_URL=postgresql+asyncpg://postgres@127.0.0.1:5432/bench \\
        .venv/bin/python -m bench.queries   # an existing, empty database
"""

from __future__ import annotations

import argparse
import asyncio
import os
import random
import statistics
import tempfile
import time
import uuid
from pathlib import Path

import asyncpg
import httpx
from asgi_lifespan import LifespanManager
from sqlalchemy.engine import make_url

from netregistry.app import create_app
from netregistry.config import Settings
from netregistry.db import open_database
from netregistry.kit.logging import configure_logging

COUNTRIES = ["KR", "JP", "CN", "IN", "ID", "TH", "VN", "PH", "MY", "LK", "FR", "US", "BR", "ZA"]
SYLLABLES = ["se", "ul", "yo", "ko", "ha", "ma", "ban", "kok", "su", "ra", "ba", "ya", "lo", "n"]


def city_name(rng: random.Random) -> str:
    return "".join(rng.choice(SYLLABLES) for _ in range(rng.randint(2, 4))).title()


async def populate(dsn: str, members: int, seed: int = 7) -> None:
    """Bulk-load the benchmark network with COPY (the API would take minutes)."""
    rng = random.Random(seed)
    connection = await asyncpg.connect(dsn)
    try:
        network_id = uuid.uuid4()
        await connection.execute(
            "INSERT INTO networks (id, slug, name, membership_categories) "
            "VALUES ($1, 'bench', 'Bench', ARRAY['full','associate'])",
            network_id,
        )
        chair, executive = uuid.uuid4(), uuid.uuid4()
        await connection.executemany(
            "INSERT INTO roles (id, network_id, slug, name, max_holders, requires_membership) "
            "VALUES ($1, $2, $3, $4, $5, true)",
            [
                (chair, network_id, "chair", "Chair", 1),
                (executive, network_id, "executive", "Ex", None),
            ],
        )
        member_rows, membership_rows, tenure_rows = [], [], []
        for index in range(members):
            member_id = uuid.uuid4()
            member_rows.append(
                (member_id, "city", f"{city_name(rng)} {index}", rng.choice(COUNTRIES))
            )
            start_year = rng.randint(1987, 2015)
            start = rng.choice([str(start_year), f"{start_year}-{rng.randint(1, 12):02d}", None])
            if start is not None and rng.random() < 0.2:  # an earlier, ended membership
                membership_rows.append(
                    (uuid.uuid4(), network_id, member_id, "associate", "1980", str(start_year))
                )
            end = str(rng.randint(start_year + 1, 2030)) if rng.random() < 0.1 else None
            category = "full" if rng.random() < 0.65 else "associate"
            membership_rows.append((uuid.uuid4(), network_id, member_id, category, start, end))
            if index < 40 and category == "full" and end is None:
                tenure_rows.append((uuid.uuid4(), network_id, executive, member_id, start, None))
        chair_holder = next(row for row in membership_rows if row[3] == "full" and row[5] is None)
        tenure_rows.append((uuid.uuid4(), network_id, chair, chair_holder[2], "2016", None))
        await connection.copy_records_to_table(
            "members", records=member_rows, columns=["id", "kind", "name", "country_code"]
        )
        await connection.copy_records_to_table(
            "memberships",
            records=membership_rows,
            columns=["id", "network_id", "member_id", "category", "start_date", "end_date"],
        )
        await connection.copy_records_to_table(
            "tenures",
            records=tenure_rows,
            columns=["id", "network_id", "role_id", "member_id", "start_date", "end_date"],
        )
        await connection.execute("ANALYZE")
    finally:
        await connection.close()


async def measure(settings: Settings, rounds: int) -> list[tuple[str, list[float], int]]:
    app = create_app(settings)
    results = []
    async with LifespanManager(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://bench") as client:
            first = await client.get("/v1/networks/bench/members?as_of=2020-06-01&limit=100")
            deep_cursor = first.json()["next_cursor"]
            for _ in range(20):
                page = await client.get(
                    f"/v1/networks/bench/members?as_of=2020-06-01&limit=100&cursor={deep_cursor}"
                )
                deep_cursor = page.json()["next_cursor"]
            queries = {
                "members, first page of 100": "/v1/networks/bench/members?as_of=2020-06-01",
                "members, page 22 of 100": (
                    f"/v1/networks/bench/members?as_of=2020-06-01&cursor={deep_cursor}"
                ),
                "members, page of 1000": "/v1/networks/bench/members?as_of=2020-06-01&limit=1000",
                "members, country=KR": "/v1/networks/bench/members?as_of=2020-06-01&country=KR",
                "members, role=executive": "/v1/networks/bench/members?role=executive",
                "members, q=seoul": "/v1/networks/bench/members?q=seoul",
                "holders of chair": "/v1/networks/bench/roles/chair/holders?as_of=2020-06-01",
                "stats": "/v1/networks/bench/stats?as_of=2020-06-01",
            }
            for label, url in queries.items():
                timings = []
                for _ in range(rounds):
                    started = time.perf_counter()
                    response = await client.get(url)
                    timings.append((time.perf_counter() - started) * 1000)
                    assert response.status_code == 200, response.text
                results.append((label, timings, len(response.json().get("items", [1]))))
    return results


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--members", type=int, default=15_000)
    parser.add_argument("--rounds", type=int, default=50)
    args = parser.parse_args()
    configure_logging("WARNING")
    with tempfile.TemporaryDirectory(prefix="netregistry-bench-") as data_dir:
        base = Settings(
            data_dir=Path(data_dir),
            secret_key="bench",  # type: ignore[arg-type]
            log_level="WARNING",
            migrate_on_start=True,
            database_url=os.environ.get("NETREGISTRY_DATABASE_URL"),
        )
        async with open_database(base) as engine:
            url = engine.url
            dsn = url.set(drivername="postgresql").render_as_string(hide_password=False)
            started = time.perf_counter()
            await populate(dsn, args.members)
            print(f"loaded {args.members} members in {time.perf_counter() - started:.1f} s")
            settings = base.model_copy(
                update={"database_url": make_url(url).render_as_string(hide_password=False)}
            )
            results = await measure(settings, args.rounds)
    print(f"\n{'query':32} {'rows':>5} {'p50 ms':>8} {'p95 ms':>8} {'max ms':>8}")
    for label, timings, rows in results:
        p95 = statistics.quantiles(timings, n=20)[-1]
        print(
            f"{label:32} {rows:>5} {statistics.median(timings):8.1f} {p95:8.1f} {max(timings):8.1f}"
        )


if __name__ == "__main__":
    asyncio.run(main())
