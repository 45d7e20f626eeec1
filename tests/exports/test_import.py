"""Importing an export into an empty registry: all of it, the same bytes out again, or
nothing at all and the place of the broken record named."""

from __future__ import annotations

import asyncio
import contextlib
import io
import json
import re
import uuid
import zipfile
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from asgi_lifespan import LifespanManager
from fastapi import FastAPI
from sqlalchemy import text
from sqlalchemy.engine import URL
from typer.testing import CliRunner, Result

from netregistry import cli
from netregistry.app import create_app
from netregistry.config import Settings, get_settings
from netregistry.errors import Conflict
from netregistry.exports.importer import ImportRefused, ImportReport, import_records, read_records
from tests.conftest import Keys, fresh_database
from tests.exports.test_exports import build_registry
from tests.registry import builders

Headers = dict[str, str]
TABLES = ("networks", "members", "memberships", "roles", "tenures", "audit_events", "changes")
CREATED = {"network": 3, "member": 7, "role": 4, "membership": 9, "tenure": 9}
# registry_with_corrections: the same and the declarations it adds.
CORRECTED = {**CREATED, "declaration": 2}
CORRECTED_REPORT = "3 networks, 7 members, 4 roles, 9 memberships, 9 tenures, 2 declarations"
CREATED_LISTS = ("networks", "members", "memberships", "roles", "tenures", "declarations")


# --- empty databases and apps on them -------------------------------------------------------


@pytest.fixture
async def new_database(
    server_url: URL, template_database: str
) -> AsyncIterator[Callable[[], Awaitable[str]]]:
    """Makes freshly migrated, empty databases (as the ``database_url`` fixture does)."""
    async with contextlib.AsyncExitStack() as stack:

        async def make() -> str:
            return await stack.enter_async_context(fresh_database(server_url, template_database))

        yield make


@pytest.fixture
async def empty_app(
    new_database: Callable[[], Awaitable[str]], settings: Settings
) -> AsyncIterator[Callable[[], Awaitable[FastAPI]]]:
    """Makes apps, each on its own empty registry."""
    async with contextlib.AsyncExitStack() as stack:

        async def make() -> FastAPI:
            url = await new_database()
            application = create_app(settings.model_copy(update={"database_url": url}))
            await stack.enter_async_context(LifespanManager(application))
            return application

        yield make


@contextlib.asynccontextmanager
async def client_of(app: FastAPI) -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
        yield client


async def import_file(app: FastAPI, path: Path) -> ImportReport:
    """As `netregistry import` does: read and check the file, write it in one transaction."""
    async with app.state.sessionmaker.begin() as session:
        return await import_records(session, read_records(path))


async def counts(app: FastAPI) -> dict[str, int]:
    async with app.state.engine.connect() as connection:
        return {
            table: int(await connection.scalar(text(f"SELECT count(*) FROM {table}")))  # noqa: S608
            for table in TABLES
        }


GENERATED_AT = re.compile(rb'"generated_at":"[^"]+"')


def without_generated_at(content: bytes) -> bytes:
    stripped, found = GENERATED_AT.subn(b'"generated_at":null', content)
    assert found == 1
    return stripped


def zip_entries(content: bytes) -> dict[str, bytes]:
    archive = zipfile.ZipFile(io.BytesIO(content))
    entries = {name: archive.read(name) for name in archive.namelist()}
    package = json.loads(entries.pop("datapackage.json"))
    package.pop("created")
    entries["datapackage.json"] = json.dumps(package).encode()
    return entries


async def registry_with_corrections(client: httpx.AsyncClient, headers: Headers) -> None:
    """The registry of the export tests, with records changed after they were created."""
    ids = await build_registry(client, headers)
    patched = await client.patch(
        f"/v1/cities/{ids['Seoul']}",
        json={"alt_names": ["서울", "Seoul Special City"]},
        headers=headers,
    )
    assert patched.status_code == 200, patched.text
    [lyon] = [
        m
        for m in (await client.get("/v1/networks/metropolis/memberships")).json()["items"]
        if m["member_id"] == ids["Lyon"]
    ]
    patched = await client.patch(
        f"/v1/networks/metropolis/memberships/{lyon['id']}",
        json={"note": "Honorary since the 2001 congress."},
        headers=headers,
    )
    assert patched.status_code == 200, patched.text
    # Names in their languages, with kinds and periods; a network's names and labels.
    patched = await client.patch(
        f"/v1/cities/{ids['Yokohama']}",
        json={
            "names": [
                {"text": "横浜市", "lang": "ja", "kind": "official"},
                {
                    "text": "Yokohama City",
                    "lang": "en",
                    "kind": "official",
                    "start_date": "1889-04",
                },
                {"text": "요코하마", "lang": "ko"},
                {"text": "Yokohama-mura", "lang": "ja-Latn", "kind": "former", "end_date": "1889"},
            ]
        },
        headers=headers,
    )
    assert patched.status_code == 200, patched.text
    patched = await client.patch(
        "/v1/networks/metropolis",
        json={
            "names": [{"text": "Métropolis", "lang": "fr"}, {"text": "Metrópolis", "lang": "es"}],
            "category_labels": [
                {"category": "full", "lang": "fr", "label": "Membre", "description": "Villes"},
                {"category": "honorary", "lang": "es", "label": "Miembro honorario"},
            ],
        },
        headers=headers,
    )
    assert patched.status_code == 200, patched.text
    for declared in (
        {"date": "2013", "by_category": {"full": 85, "associate": 46}, "source": "SMG 4624"},
        {"date": "2020-06", "total": 140, "countries": 22, "source_url": "https://citynet.example"},
    ):
        created = await client.post(
            "/v1/networks/citynet/declarations", json=declared, headers=headers
        )
        assert created.status_code == 201, created.text


# --- round trips ----------------------------------------------------------------------------


async def test_an_export_imported_into_an_empty_registry_exports_the_same_bytes(
    client: httpx.AsyncClient,
    admin_headers: Headers,
    empty_app: Callable[[], Awaitable[FastAPI]],
    tmp_path: Path,
) -> None:
    await registry_with_corrections(client, admin_headers)
    for format in ("json", "ndjson"):
        original = (await client.get("/v1/export", params={"format": format})).content
        path = tmp_path / f"registry.{format}"
        path.write_bytes(original)

        target = await empty_app()
        report = await import_file(target, path)
        assert report.created == CORRECTED
        assert str(report) == CORRECTED_REPORT

        async with client_of(target) as imported:
            again = await imported.get("/v1/export", params={"format": format})
            assert without_generated_at(again.content) == without_generated_at(original)
            for path_, params in [
                ("/v1/export", {"format": "ndjson", "as_of": "2014-01-01"}),
                ("/v1/networks/citynet/export", {"format": "json"}),
            ]:
                mine = await client.get(path_, params=params)
                theirs = await imported.get(path_, params=params)
                assert without_generated_at(theirs.content) == without_generated_at(mine.content)
            mine = await client.get("/v1/export", params={"format": "csv"})
            theirs = await imported.get("/v1/export", params={"format": "csv"})
            assert zip_entries(theirs.content) == zip_entries(mine.content)
            # And the API serves the imported registry as it served the original.
            for read in (
                "/v1/networks/citynet/members?as_of=2014-01-01",
                "/v1/networks/citynet/roles/chair/holders?as_of=2013-11-05",
                "/v1/networks/metropolis/memberships",
                "/v1/cities?limit=1000",
                "/v1/networks/citynet/members?lang=ja-Latn",
                "/v1/organizations",
                "/v1/networks/metropolis?lang=fr",
                "/v1/networks/citynet/declarations",
                "/v1/networks/citynet/stats?as_of=2021-01-01",
            ):
                mine = await client.get(read)
                theirs = await imported.get(read)
                assert theirs.status_code == 200, theirs.text
                assert theirs.json() == mine.json(), read


async def test_an_export_made_before_names_and_declarations_still_imports(
    client: httpx.AsyncClient,
    admin_headers: Headers,
    empty_app: Callable[[], Awaitable[FastAPI]],
    tmp_path: Path,
) -> None:
    """An export of before migration 0013 has no tagged names, no category labels and no
    declarations: it imports, and the members' alt_names become names, language ``und``."""
    await registry_with_corrections(client, admin_headers)
    document = (await client.get("/v1/export", params={"format": "json"})).json()
    del document["declarations"]
    for network in document["networks"]:
        del network["names"], network["category_labels"]
    for member in document["members"]:
        del member["names"], member["iso3166_2"], member["unlocode"]
    path = tmp_path / "before.json"
    path.write_text(json.dumps(document))

    target = await empty_app()
    assert (await import_file(target, path)).created == CREATED
    async with client_of(target) as imported:
        yokohama = (await imported.get("/v1/cities", params={"q": "Yokohama"})).json()["items"][0]
        assert yokohama["alt_names"] == ["横浜市", "Yokohama City", "요코하마", "Yokohama-mura"]
        assert yokohama["names"] == [
            {"text": text, "lang": "und", "kind": "common", "start_date": None, "end_date": None}
            for text in yokohama["alt_names"]
        ]
        metropolis = (await imported.get("/v1/networks/metropolis")).json()
        assert (metropolis["names"], metropolis["category_labels"]) == ([], [])
        declarations = await imported.get("/v1/networks/citynet/declarations")
        assert declarations.json()["items"] == []


async def test_an_import_into_a_registry_that_is_not_empty_is_refused_and_writes_nothing(
    app: FastAPI,
    client: httpx.AsyncClient,
    admin_headers: Headers,
    empty_app: Callable[[], Awaitable[FastAPI]],
    tmp_path: Path,
) -> None:
    await build_registry(client, admin_headers)
    path = tmp_path / "registry.ndjson"
    path.write_bytes((await client.get("/v1/export", params={"format": "ndjson"})).content)

    before = await counts(app)
    with pytest.raises(Conflict) as refused:
        await import_file(app, path)
    assert "empty" in refused.value.detail
    assert await counts(app) == before

    # One city is enough to make a registry not empty.
    target = await empty_app()
    async with client_of(target) as other:
        key = await _admin_key(target)
        await builders.city(other, key, "Surabaya", "ID")
    before = await counts(target)
    with pytest.raises(Conflict):
        await import_file(target, path)
    assert await counts(target) == before


async def _admin_key(app: FastAPI) -> Headers:
    return {"Authorization": f"Bearer {await Keys(app).create('admin', admin=True)}"}


# --- broken files -------------------------------------------------------------------------


def _lines(path: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in path.read_text().splitlines()]


def _write_lines(path: Path, records: list[dict[str, Any]]) -> Path:
    path.write_text("".join(json.dumps(record, ensure_ascii=False) + "\n" for record in records))
    return path


def _line_of(records: list[dict[str, Any]], kind: str, **match: Any) -> int:
    """The index (0-based) of the first record of ``kind`` with the values in ``match``."""
    return next(
        i
        for i, record in enumerate(records)
        if record["type"] == kind and all(record[k] == v for k, v in match.items())
    )


async def test_a_file_with_a_broken_record_is_refused_naming_the_place_and_nothing_is_written(
    client: httpx.AsyncClient,
    admin_headers: Headers,
    empty_app: Callable[[], Awaitable[FastAPI]],
    tmp_path: Path,
) -> None:
    ids = await build_registry(client, admin_headers)
    metropolis = tmp_path / "metropolis.ndjson"
    metropolis.write_bytes(
        (await client.get("/v1/networks/metropolis/export", params={"format": "ndjson"})).content
    )
    registry = tmp_path / "registry.json"
    registry.write_bytes((await client.get("/v1/export")).content)
    lines = _lines(metropolis)
    # header, the network, three members, then the memberships: line 7 is a membership.
    assert [line["type"] for line in lines[:8]] == [
        "export",
        "network",
        *["member"] * 3,
        *["membership"] * 3,
    ]
    document = json.loads(registry.read_text())

    def broken_line(number: int, **changes: Any) -> Path:
        records = [dict(record) for record in lines]
        records[number - 1].update(changes)
        return _write_lines(tmp_path / f"broken-{uuid.uuid4().hex}.ndjson", records)

    def broken_document(change: Callable[[dict[str, Any]], None]) -> Path:
        copy = json.loads(json.dumps(document))
        change(copy)
        path = tmp_path / f"broken-{uuid.uuid4().hex}.json"
        path.write_text(json.dumps(copy, ensure_ascii=False))
        return path

    bangkok_president = _line_of(lines, "tenure", member_id=ids["Bangkok"]) + 1
    lyon = [i for i, m in enumerate(document["memberships"]) if m["member_id"] == ids["Lyon"]]
    lyon_citynet = [i for i in lyon if document["memberships"][i]["network"] == "citynet"]
    lyon_associate = next(
        i for i in lyon_citynet if document["memberships"][i]["category"] == "associate"
    )

    def overlapping(doc: dict[str, Any]) -> None:
        doc["memberships"][lyon_associate]["start_date"] = "2015"  # full until 2016-12

    cases: list[tuple[Path, list[str]]] = [
        (broken_line(7, start_date="13/11/2013"), ["line 7:", "start_date", "malformed"]),
        (broken_line(7, end_date="2013-02-30"), ["line 7:"]),
        (broken_line(4, population="many"), ["line 4:", "population", "integer"]),
        (broken_line(3, kind="village"), ["line 3:", "kind"]),
        (broken_line(2, membership_categories="full"), ["line 2:", "membership_categories"]),
        (broken_line(6, category="observer"), ["line 6:", "category", "membership_categories"]),
        (
            broken_line(bangkok_president, start_date="2015"),
            [f"line {bangkok_president}", "at most 1 holder"],
        ),
        (
            broken_document(lambda doc: doc["memberships"][3].update(colour="red")),
            ["memberships[3]:", "unknown field", "colour"],
        ),
        (
            broken_document(lambda doc: doc["roles"][0].update(max_holders="1")),
            ["roles[0]:", "max_holders", "integer"],
        ),
        (
            broken_document(lambda doc: doc["roles"][1].update(requires_membership="yes")),
            ["roles[1]:", "requires_membership", "boolean"],
        ),
        (
            broken_document(lambda doc: doc["memberships"][4].pop("note")),
            ["memberships[4]:", "missing", "note"],
        ),
        (broken_document(overlapping), [f"memberships[{max(lyon_citynet)}]:", "overlap"]),
    ]

    target = await empty_app()
    empty = await counts(target)
    assert set(empty.values()) == {0}
    for path, expected in cases:
        with pytest.raises(ImportRefused) as refused:
            await import_file(target, path)
        for part in expected:
            assert part in refused.value.detail, (expected, refused.value.detail)
        assert await counts(target) == empty, refused.value.detail

    # The unbroken file goes in: the refusals were about the breaks only.
    report = await import_file(target, metropolis)
    assert report.created == {"network": 1, "member": 3, "role": 1, "membership": 3, "tenure": 2}


# --- audit and change feed -----------------------------------------------------------------


async def test_an_import_is_audited_record_by_record_and_appears_in_the_change_feed(
    client: httpx.AsyncClient,
    admin_headers: Headers,
    empty_app: Callable[[], Awaitable[FastAPI]],
    tmp_path: Path,
) -> None:
    await build_registry(client, admin_headers)
    path = tmp_path / "registry.ndjson"
    path.write_bytes((await client.get("/v1/export", params={"format": "ndjson"})).content)
    records = _lines(path)[1:]

    target = await empty_app()
    await import_file(target, path)
    async with target.state.engine.connect() as connection:
        events = (
            await connection.execute(
                text(
                    "SELECT actor_key_id, actor_name, action, resource_type, resource_id, "
                    "network, after FROM audit_events ORDER BY id"
                )
            )
        ).all()
    assert len(events) == len(records) == sum(CREATED.values())
    assert {(e.actor_key_id, e.actor_name, e.action) for e in events} == {
        (None, "import", "create")
    }
    kinds = [e.resource_type for e in events]
    assert {kind: kinds.count(kind) for kind in set(kinds)} == {
        "network": 3,
        "city": 6,
        "organization": 1,
        "role": 4,
        "membership": 9,
        "tenure": 9,
    }

    async with client_of(target) as imported:
        response = await imported.get("/v1/changes", params={"after": "0", "limit": "1000"})
    assert response.status_code == 200, response.text
    feed = response.json()["items"]
    assert [(c["action"], c["resource_type"], c["resource_id"]) for c in feed] == [
        (e.action, e.resource_type, e.resource_id) for e in events
    ]
    assert [c["data"] for c in feed] == [e.after for e in events]
    cursors = [int(c["cursor"]) for c in feed]
    assert cursors == sorted(set(cursors))
    assert "import" not in {str(value) for change in feed for value in change.values()}

    # Each entry's data is the resource as its endpoint returns it, the same whoever
    # wrote it: as the source registry (written through the API) answers for it now,
    # and as the source's own feed last published it (but for tenures: a handover
    # publishes one "handover" entry for the two tenures it writes).
    source = await client.get("/v1/changes", params={"after": "0", "limit": "1000"})
    source_feed = source.json()["items"]
    last_published = {(c["resource_type"], c["resource_id"]): c["data"] for c in source_feed}
    compared = 0
    for change in feed:
        kind, key, network = change["resource_type"], change["resource_id"], change["network"]
        response = await client.get(_resource_path(kind, key, network))
        assert response.status_code == 200, (kind, key, response.text)
        assert change["data"] == response.json(), (kind, key)
        if kind != "tenure" and (kind, key) in last_published:
            assert change["data"] == last_published[(kind, key)], (kind, key)
            compared += 1
    assert compared == sum(1 for c in feed if c["resource_type"] != "tenure")
    membership = next(c for c in feed if c["resource_type"] == "membership")
    assert membership["data"]["member"]["name"]  # the endpoint's shape, not the export's
    assert "member_name" not in membership["data"]


def _resource_path(kind: str, key: str, network: str | None) -> str:
    """The endpoint that returns the resource a change-feed entry names."""
    if kind == "network":
        return f"/v1/networks/{key}"
    if kind in ("city", "organization"):
        return f"/v1/{'cities' if kind == 'city' else 'organizations'}/{key}"
    if kind == "role":
        return f"/v1/networks/{key.replace('/', '/roles/', 1)}"
    return f"/v1/networks/{network}/{kind}s/{key}"


# --- the command line -------------------------------------------------------------------------


@pytest.fixture
def cli_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Iterator[Callable[[str], None]]:
    """Points the command line at a database (NETREGISTRY_DATABASE_URL)."""
    monkeypatch.setenv("NETREGISTRY_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("NETREGISTRY_LOG_LEVEL", "WARNING")

    def use(url: str) -> None:
        monkeypatch.setenv("NETREGISTRY_DATABASE_URL", url)
        get_settings.cache_clear()

    yield use
    get_settings.cache_clear()


async def netregistry(*args: str) -> Result:
    # The commands run their own event loop (asyncio.run): give them a thread.
    return await asyncio.to_thread(CliRunner().invoke, cli.app, list(args))


async def test_cli_exports_ndjson_and_imports_it_into_an_empty_database(
    client: httpx.AsyncClient,
    admin_headers: Headers,
    database_url: str,
    new_database: Callable[[], Awaitable[str]],
    cli_env: Callable[[str], None],
    tmp_path: Path,
) -> None:
    await registry_with_corrections(client, admin_headers)
    exported = tmp_path / "registry.ndjson"
    cli_env(database_url)
    result = await netregistry("export", "--format", "ndjson", "-o", str(exported))
    assert result.exit_code == 0, result.output
    header, *records = _lines(exported)
    assert header["type"] == "export"
    assert len(records) == sum(CORRECTED.values())
    api = (await client.get("/v1/export", params={"format": "ndjson"})).content
    assert without_generated_at(exported.read_bytes()) == without_generated_at(api)

    cli_env(await new_database())
    result = await netregistry("import", str(exported))
    assert result.exit_code == 0, result.output
    assert f"imported {CORRECTED_REPORT}" in result.output

    again = tmp_path / "again.ndjson"
    result = await netregistry("export", "--format", "ndjson", "--output", str(again))
    assert result.exit_code == 0, result.output
    assert without_generated_at(again.read_bytes()) == without_generated_at(exported.read_bytes())

    # Not twice: the registry is no longer empty.
    result = await netregistry("import", str(exported))
    assert result.exit_code == 1
    assert "empty" in result.output

    # A broken file: refused with its line, nothing written.
    cli_env(await new_database())
    broken = exported.read_text().splitlines()
    record = json.loads(broken[6])
    record["name" if record["type"] != "membership" else "start_date"] = 7
    broken[6] = json.dumps(record)
    (tmp_path / "broken.ndjson").write_text("\n".join(broken) + "\n")
    result = await netregistry("import", str(tmp_path / "broken.ndjson"))
    assert result.exit_code == 1
    assert "line 7:" in result.output
    result = await netregistry("export", "--format", "json")
    assert result.exit_code == 0, result.output
    assert all(json.loads(result.stdout)[name] == [] for name in CREATED_LISTS)


async def test_an_import_larger_than_a_statement_s_parameter_limit_goes_in(
    empty_app: Callable[[], Awaitable[FastAPI]], tmp_path: Path
) -> None:
    """33,000 cities: more rows than PostgreSQL takes parameters in one statement (32,767),
    so the batch is written and read back without a parameter per row."""
    stamp = "2026-01-01T00:00:00Z"
    header = {"type": "export", "schema_version": "1", "generated_at": stamp}
    lines = [json.dumps(header)]
    for n in range(33_000):
        city = {
            "type": "member",
            "id": str(uuid.uuid4()),
            "kind": "city",
            "name": f"Town {n}",
            "alt_names": [],
            "country_code": "KR",
            "subdivision": None,
            "population": None,
            "latitude": None,
            "longitude": None,
            "geonames": None,
            "org_type": None,
            "website": None,
            "wikidata": None,
            "created_at": stamp,
            "updated_at": stamp,
        }
        lines.append(json.dumps(city))
    path = tmp_path / "many.ndjson"
    path.write_text("\n".join(lines) + "\n")
    target = await empty_app()
    report = await import_file(target, path)
    assert report.created == {"member": 33_000}
    async with client_of(target) as imported:
        page = await imported.get("/v1/cities", params={"q": "Town 32999"})
    assert "Town 32999" in [city["name"] for city in page.json()["items"]]
