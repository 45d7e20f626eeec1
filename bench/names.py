"""Benchmark: name search in every script, at 55,000 members with 200,000 names.

Bulk-loads N cities (default 55,000) whose names come in Latin, Hangul, kana and Han
(about 3.6 a city: 200,000 names in all, through the ``names`` table and its triggers,
so ``alt_names`` and the trigram index hold them as the API would), runs ``EXPLAIN``
on the register's search to show the trigram index answers it, then sends name
searches (``GET /v1/cities?q=…`` and ``GET /v1/networks/bench/members?q=…``, a new
query each, the read cache off) from 16 concurrent clients through the ASGI app and
prints p50/p95/p99/max.

    .venv/bin/python -m bench.names                      # embedded PostgreSQL
    NETREGISTRY_DATABASE_URL=postgresql+asyncpg://postgres@127.0.0.1:5432/bench \\
        .venv/bin/python -m bench.names --members 55000 --requests 2000 --concurrency 16
"""

from __future__ import annotations

import argparse
import asyncio
import json
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
from sqlalchemy.dialects.postgresql import asyncpg as asyncpg_dialect
from sqlalchemy.engine import make_url

from bench.queries import COUNTRIES, city_name
from netregistry.app import create_app
from netregistry.config import Settings
from netregistry.db import SEARCH_THRESHOLD, open_database
from netregistry.kit.logging import configure_logging
from netregistry.members import repository as members

HANGUL = [chr(c) for c in range(0xAC00, 0xAC00 + 400, 7)]
KANA = [chr(c) for c in range(0x30A2, 0x30F3)]
HAN = [chr(c) for c in range(0x4E00, 0x4E00 + 800, 5)]


def _word(rng: random.Random, alphabet: list[str], low: int, high: int) -> str:
    return "".join(rng.choice(alphabet) for _ in range(rng.randint(low, high)))


def world(
    members: int, seed: int = 13
) -> list[tuple[uuid.UUID, str, str, list[tuple[str, str, str]]]]:
    """The cities: (id, name, country, [(text, lang, kind)]), about 3.6 names each."""
    rng = random.Random(seed)
    cities = []
    for index in range(members):
        name = f"{city_name(rng)} {index}"
        names = [(name, "en", "official")]
        names.append((_word(rng, HANGUL, 2, 4) + "시", "ko", "official"))
        if rng.random() < 0.8:
            names.append((_word(rng, KANA, 3, 5), "ja", "common"))
        if rng.random() < 0.8:
            names.append((_word(rng, HAN, 2, 3), "zh-Hans", "common"))
        if rng.random() < 0.05:
            names.append((city_name(rng), "en", "former"))
        cities.append((uuid.uuid4(), name, rng.choice(COUNTRIES), names))
    return cities


async def populate(
    dsn: str, cities: list[tuple[uuid.UUID, str, str, list[tuple[str, str, str]]]]
) -> int:
    connection = await asyncpg.connect(dsn)
    try:
        network_id = uuid.uuid4()
        await connection.execute(
            "INSERT INTO networks (id, slug, name, membership_categories) "
            "VALUES ($1, 'bench', 'Bench', ARRAY['full'])",
            network_id,
        )
        await connection.copy_records_to_table(
            "members",
            records=[(i, "city", n, c) for i, n, c, _ in cities],
            columns=["id", "kind", "name", "country_code"],
        )
        name_rows = [
            (uuid.uuid4(), member_id, position, text, lang, kind)
            for member_id, _, _, names in cities
            for position, (text, lang, kind) in enumerate(names, start=1)
        ]
        # Through an INSERT (not COPY), so the statement trigger derives alt_names.
        await connection.execute(
            "INSERT INTO names (id, member_id, position, text, lang, kind) "
            "SELECT * FROM unnest($1::uuid[], $2::uuid[], $3::int[], $4::text[], $5::text[],"
            " $6::text[])",
            *[list(column) for column in zip(*name_rows, strict=True)],
        )
        await connection.copy_records_to_table(
            "memberships",
            records=[
                (uuid.uuid4(), network_id, member_id, "full", "1990")
                for member_id, *_ in cities[::4]
            ],
            columns=["id", "network_id", "member_id", "category", "start_date"],
        )
        await connection.execute("ANALYZE")
        return len(name_rows)
    finally:
        await connection.close()


async def explain(dsn: str, q: str) -> list[str]:
    """The indexes the register's name search reads for ``q`` at this size."""
    statement = members._read_page(
        ("id", "name"), country=False, wikidata=False, network=False, q=True, after=False
    )
    compiled = statement.compile(dialect=asyncpg_dialect.dialect())
    values = {"page_limit": 100, "page_fetch": 101, "kind": "city", "q": q}
    arguments = [
        values[name] if name in values else compiled.binds[name].value
        for name in compiled.positiontup or ()
    ]
    connection = await asyncpg.connect(
        dsn, server_settings={"pg_trgm.word_similarity_threshold": str(SEARCH_THRESHOLD)}
    )
    try:
        plan = json.loads(
            await connection.fetchval("EXPLAIN (FORMAT JSON) " + compiled.string, *arguments)
        )[0]["Plan"]
    finally:
        await connection.close()
    found: list[str] = []

    def walk(node: dict) -> None:
        if "Index Name" in node:
            found.append(f"{node['Node Type']} on {node['Index Name']}")
        elif node.get("Node Type") == "Seq Scan":
            found.append(f"Seq Scan on {node['Relation Name']}")
        for child in node.get("Plans", []):
            walk(child)

    walk(plan)
    return found


def queries(cities: list, count: int, seed: int = 5) -> list[str]:
    """Searches as people type them: a name's text in its script, lower case, or with
    one letter wrong in a Latin name."""
    rng = random.Random(seed)
    typed = []
    for _ in range(count):
        _, _, _, names = rng.choice(cities)
        text, lang, _ = rng.choice(names)
        if lang == "en":
            word = text.split()[0].lower()
            if len(word) > 4 and rng.random() < 0.5:
                at = rng.randrange(1, len(word) - 1)
                word = word[:at] + word[at + 1] + word[at] + word[at + 2 :]
            text = word
        typed.append(text)
    return typed


async def measure(settings: Settings, typed: list[str], concurrency: int) -> dict[str, list[float]]:
    app = create_app(settings)
    timings: dict[str, list[float]] = {"/v1/cities": [], "/v1/networks/bench/members": []}
    async with LifespanManager(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://bench") as client:
            await client.get("/v1/cities", params={"q": "warm"})
            work = asyncio.Queue()
            for index, q in enumerate(typed):
                work.put_nowait((list(timings)[index % 2], q))

            async def worker() -> None:
                while not work.empty():
                    path, q = work.get_nowait()
                    started = time.perf_counter()
                    response = await client.get(path, params={"q": q, "limit": 20})
                    elapsed = (time.perf_counter() - started) * 1000
                    assert response.status_code == 200, response.text
                    timings[path].append(elapsed)

            await asyncio.gather(*(worker() for _ in range(concurrency)))
    return timings


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--members", type=int, default=55_000)
    parser.add_argument("--requests", type=int, default=2_000)
    parser.add_argument("--concurrency", type=int, default=16)
    args = parser.parse_args()
    configure_logging("WARNING")
    with tempfile.TemporaryDirectory(prefix="netregistry-bench-") as data_dir:
        base = Settings(
            data_dir=Path(data_dir),
            secret_key="bench",  # type: ignore[arg-type]
            log_level="WARNING",
            migrate_on_start=True,
            read_cache=False,
            db_pool_size=args.concurrency,
            database_url=os.environ.get("NETREGISTRY_DATABASE_URL"),
        )
        async with open_database(base) as engine:
            url = engine.url
            dsn = url.set(drivername="postgresql").render_as_string(hide_password=False)
            cities = world(args.members)
            started = time.perf_counter()
            names = await populate(dsn, cities)
            print(
                f"loaded {args.members} members with {names} names "
                f"in {time.perf_counter() - started:.1f} s"
            )
            for q in ("서울", "ソウル", "sao paolo", cities[7][3][1][0]):
                print(f"EXPLAIN q={q!r}: {', '.join(await explain(dsn, q))}")
            settings = base.model_copy(
                update={"database_url": make_url(url).render_as_string(hide_password=False)}
            )
            timings = await measure(settings, queries(cities, args.requests), args.concurrency)
    print(f"\n{args.concurrency} concurrent clients, {args.requests} searches, read cache off")
    print(f"{'search':32} {'n':>5} {'p50 ms':>8} {'p95 ms':>8} {'p99 ms':>8} {'max ms':>8}")
    for path, values in timings.items():
        cuts = statistics.quantiles(values, n=100)
        print(
            f"{path:32} {len(values):>5} {statistics.median(values):8.1f} {cuts[94]:8.1f} "
            f"{cuts[98]:8.1f} {max(values):8.1f}"
        )


if __name__ == "__main__":
    asyncio.run(main())
