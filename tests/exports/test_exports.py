"""Exports: the registry or one network as JSON, NDJSON or a zip of CSV files, streamed
from one consistent snapshot, as the full history or as the state on a day."""

from __future__ import annotations

import asyncio
import contextlib
import csv
import io
import json
import zipfile
from collections.abc import AsyncIterator
from datetime import datetime
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import text

from netregistry.exports.repository import begin_snapshot
from netregistry.exports.service import ExportRequest, stream_export
from tests.conftest import Database
from tests.registry import builders

Headers = dict[str, str]
LISTS = ("networks", "members", "memberships", "roles", "tenures", "declarations")
TYPES = {
    "network": "networks",
    "member": "members",
    "membership": "memberships",
    "role": "roles",
    "tenure": "tenures",
    "declaration": "declarations",
}
ROLES = {"citynet": ["chair", "executive", "secretariat_host"], "metropolis": ["president"]}
DAYS = [
    "1988-06-01",
    "2013-11-04",
    "2013-11-05",
    "2014-01-01",
    "2016-12-15",
    "2017-06-01",
    "2020-06-01",
]


# --- building a registry through the API --------------------------------------------


async def _membership(
    client: httpx.AsyncClient,
    headers: Headers,
    network: str,
    member_id: str,
    category: str,
    start: str | None,
    end: str | None = None,
    **fields: Any,
) -> dict[str, Any]:
    return await builders.post(
        client,
        f"/v1/networks/{network}/memberships",
        headers,
        member_id=member_id,
        category=category,
        start_date=start,
        end_date=end,
        **fields,
    )


async def _tenure(
    client: httpx.AsyncClient,
    headers: Headers,
    network: str,
    role: str,
    member_id: str,
    start: str | None,
    end: str | None = None,
    **fields: Any,
) -> dict[str, Any]:
    return await builders.post(
        client,
        f"/v1/networks/{network}/tenures",
        headers,
        role=role,
        member_id=member_id,
        start_date=start,
        end_date=end,
        **fields,
    )


async def build_registry(client: httpx.AsyncClient, headers: Headers) -> dict[str, str]:
    """Two networks and an empty one, six cities (one in no network), an organization,
    memberships with partial and ended periods, roles of every kind, tenures and a
    handover. Returns the members' ids by name."""
    await builders.post(
        client,
        "/v1/networks",
        headers,
        slug="citynet",
        name="CITYNET",
        official_name="Regional Network of Local Authorities for the Management of Human "
        "Settlements",
        founded_on="1987",
        scope="Asia-Pacific",
        website="https://citynet-ap.org",
        description="A network of cities and urban stakeholders.",
        membership_criteria="Local governments of the Asia-Pacific; associates: others.",
    )
    await builders.post(
        client,
        "/v1/networks",
        headers,
        slug="metropolis",
        name="Metropolis",
        acronym="WAMM",
        scope="Global",
        membership_categories=["full", "associate", "honorary"],
    )
    await builders.post(client, "/v1/networks", headers, slug="c40", name="C40 Cities")
    ids: dict[str, str] = {}
    for name, country, fields in [
        (
            "Yokohama",
            "JP",
            {
                "wikidata": "Q38283",
                "alt_names": ["横浜", "Yokohama City"],
                "population": 3_770_000,
                "latitude": 35.4437,
                "longitude": 139.638,
            },
        ),
        (
            "Seoul",
            "KR",
            {
                "wikidata": "Q8684",
                "alt_names": ["서울"],
                "geonames": 1835848,
                "population": 9_386_034,
                "latitude": 37.5667,
                "longitude": 126.9783,
            },
        ),
        ("Lyon", "FR", {"subdivision": "Auvergne-Rhône-Alpes", "latitude": 45.76}),
        ("Bangkok", "TH", {"alt_names": ["กรุงเทพมหานคร"]}),
        ("Colombo", "LK", {}),
        ("Surabaya", "ID", {}),
    ]:
        ids[name] = (await builders.city(client, headers, name, country, **fields))["id"]
    ids["KOICA"] = (
        await builders.organization(
            client,
            headers,
            "KOICA",
            country_code="KR",
            alt_names=["Korea International Cooperation Agency"],
            org_type="government agency",
            website="https://www.koica.go.kr",
            wikidata="Q1783468",
        )
    )["id"]

    source = "https://english.seoul.go.kr/citynet-chair/"
    await _membership(client, headers, "citynet", ids["Yokohama"], "full", "1987")
    await _membership(
        client, headers, "citynet", ids["Seoul"], "full", "1987", source_url=source, note="A note."
    )
    await _membership(client, headers, "citynet", ids["Lyon"], "full", "1990", "2016-12")
    await _membership(client, headers, "citynet", ids["Lyon"], "associate", "2016-12")
    await _membership(client, headers, "citynet", ids["KOICA"], "associate", "2009-05-12", "2020")
    await _membership(client, headers, "citynet", ids["Colombo"], "full", "1987-09")
    await _membership(client, headers, "metropolis", ids["Seoul"], "full", "1985")
    await _membership(client, headers, "metropolis", ids["Bangkok"], "full", "1999")
    await _membership(client, headers, "metropolis", ids["Lyon"], "honorary", "2001")

    await builders.role(client, headers, "chair", max_holders=1, eligible_categories=["full"])
    await builders.role(
        client, headers, "executive", max_holders=None, eligible_categories=["full"]
    )
    await builders.role(
        client, headers, "secretariat_host", max_holders=1, requires_membership=False
    )
    await builders.role(client, headers, "president", network="metropolis")

    await _tenure(client, headers, "citynet", "chair", ids["Yokohama"], "1999")
    handover = await builders.handover(
        client,
        headers,
        ids["Seoul"],
        "2013-11-05",
        representative="Park Won-soon, Mayor of Seoul",
        source_url=source,
    )
    assert handover.status_code == 201, handover.text
    await _tenure(client, headers, "citynet", "executive", ids["Lyon"], "2010", "2016")
    await _tenure(client, headers, "citynet", "executive", ids["Colombo"], "2012-03")
    await _tenure(client, headers, "citynet", "executive", ids["Seoul"], "2013", note="Named.")
    await _tenure(client, headers, "citynet", "secretariat_host", ids["Bangkok"], "1987", "2013-03")
    await _tenure(client, headers, "citynet", "secretariat_host", ids["Seoul"], "2013-03")
    await _tenure(client, headers, "metropolis", "president", ids["Seoul"], "2014", "2017")
    await _tenure(client, headers, "metropolis", "president", ids["Bangkok"], "2017")
    return ids


# --- reading exports and the list endpoints ----------------------------------------------


async def export(client: httpx.AsyncClient, path: str, **params: str) -> httpx.Response:
    response = await client.get(path, params=params)
    assert response.status_code == 200, response.text
    return response


def ndjson_lines(response: httpx.Response) -> list[dict[str, Any]]:
    assert response.text.endswith("\n")
    return [json.loads(line) for line in response.text.splitlines()]


def ndjson_document(response: httpx.Response) -> dict[str, Any]:
    """The records of an NDJSON export, as the lists a JSON export has."""
    header, *records = ndjson_lines(response)
    document: dict[str, Any] = {name: [] for name in LISTS}
    for record in records:
        document[TYPES[record.pop("type")]].append(record)
    return {"header": header, **document}


async def items(client: httpx.AsyncClient, path: str, **params: str) -> list[dict[str, Any]]:
    response = await client.get(path, params={"limit": "1000", **params})
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["next_cursor"] is None
    result: list[dict[str, Any]] = body["items"]
    return result


def _typed(value: str, field: dict[str, Any]) -> Any:
    if value == "":
        return None
    kind = field["type"]
    if kind in ("array", "object"):
        return json.loads(value)
    if kind == "boolean":
        assert value in ("true", "false"), value
        return value == "true"
    if kind == "integer":
        return int(value)
    if kind == "number":
        return float(value)
    return value


def read_zip(content: bytes) -> tuple[dict[str, Any], dict[str, list[dict[str, Any]]]]:
    """The datapackage and the typed rows of each CSV file of a csv export."""
    archive = zipfile.ZipFile(io.BytesIO(content))
    assert sorted(archive.namelist()) == sorted(
        [*(f"{name}.csv" for name in LISTS), "datapackage.json"]
    )
    package = json.loads(archive.read("datapackage.json"))
    tables: dict[str, list[dict[str, Any]]] = {}
    for resource in package["resources"]:
        with archive.open(resource["path"]) as raw:
            rows = list(csv.reader(io.TextIOWrapper(raw, encoding="utf-8", newline="")))
        header, *body = rows
        fields = resource["schema"]["fields"]
        assert header == [field["name"] for field in fields], resource["name"]
        tables[resource["name"]] = [
            {field["name"]: _typed(value, field) for field, value in zip(fields, row, strict=True)}
            for row in body
        ]
    return package, tables


# --- formats ------------------------------------------------------------------------------


async def test_json_export_is_one_document_with_a_header_and_every_record(
    client: httpx.AsyncClient, admin_headers: Headers
) -> None:
    ids = await build_registry(client, admin_headers)
    response = await export(client, "/v1/export")
    assert response.headers["content-type"] == "application/json"
    assert (
        response.headers["content-disposition"]
        == 'attachment; filename="netregistry-registry-history.json"'
    )
    document = response.json()
    assert list(document) == ["schema_version", "generated_at", "as_of", "network", *LISTS]
    assert document["schema_version"] == "1"
    assert document["as_of"] is None
    assert document["network"] is None
    generated = datetime.fromisoformat(document["generated_at"])
    assert generated.utcoffset() is not None
    assert generated.utcoffset().total_seconds() == 0  # type: ignore[union-attr]
    assert [n["slug"] for n in document["networks"]] == ["c40", "citynet", "metropolis"]
    assert {m["id"] for m in document["members"]} == set(ids.values())
    assert len(document["memberships"]) == 9
    assert len(document["tenures"]) == 9
    assert [(r["network"], r["slug"]) for r in document["roles"]] == [
        ("citynet", "chair"),
        ("citynet", "executive"),
        ("citynet", "secretariat_host"),
        ("metropolis", "president"),
    ]


async def test_ndjson_export_is_a_header_line_then_one_typed_record_per_line(
    client: httpx.AsyncClient, admin_headers: Headers
) -> None:
    await build_registry(client, admin_headers)
    declared = await client.post(
        "/v1/networks/citynet/declarations",
        json={"date": "2013", "by_category": {"full": 85}, "source": "SMG 4624"},
        headers=admin_headers,
    )
    assert declared.status_code == 201, declared.text
    response = await export(client, "/v1/networks/citynet/export", format="ndjson")
    assert response.headers["content-type"] == "application/x-ndjson"
    assert (
        response.headers["content-disposition"]
        == 'attachment; filename="netregistry-citynet-history.ndjson"'
    )
    header, *records = ndjson_lines(response)
    assert set(header) == {"type", "schema_version", "generated_at", "as_of", "network"}
    assert header["type"] == "export"
    assert header["schema_version"] == "1"
    assert header["as_of"] is None
    assert header["network"] == "citynet"
    datetime.fromisoformat(header["generated_at"])
    kinds = [record["type"] for record in records]
    # Grouped by type, in the order the JSON document lists them.
    order = list(TYPES)
    assert kinds == sorted(kinds, key=order.index)
    assert set(kinds) == set(order)


async def test_json_and_ndjson_carry_the_same_records(
    client: httpx.AsyncClient, admin_headers: Headers
) -> None:
    await build_registry(client, admin_headers)
    for path, params in [
        ("/v1/export", {}),
        ("/v1/export", {"as_of": "2014-01-01"}),
        ("/v1/networks/citynet/export", {}),
        ("/v1/networks/metropolis/export", {"as_of": "2017-06-01"}),
    ]:
        document = (await export(client, path, format="json", **params)).json()
        lines = ndjson_document(await export(client, path, format="ndjson", **params))
        for name in LISTS:
            assert lines[name] == document[name], (path, params, name)
        header = lines["header"]
        assert (header["as_of"], header["network"]) == (document["as_of"], document["network"])
        assert all(document[name] for name in ("networks", "members", "memberships"))


async def test_csv_export_is_a_zip_whose_values_read_back_as_the_json_export(
    client: httpx.AsyncClient, admin_headers: Headers
) -> None:
    await build_registry(client, admin_headers)
    for as_of in (None, "2014-01-01"):
        params = {"as_of": as_of} if as_of else {}
        response = await export(client, "/v1/export", format="csv", **params)
        assert response.headers["content-type"] == "application/zip"
        assert response.headers["content-disposition"] == (
            f'attachment; filename="netregistry-registry-{as_of or "history"}.zip"'
        )
        package, tables = read_zip(response.content)
        assert package["profile"] == "tabular-data-package"
        assert package["netregistry"] == {"schema_version": "1", "as_of": as_of}
        assert [resource["name"] for resource in package["resources"]] == list(LISTS)
        document = (await export(client, "/v1/export", **params)).json()
        for name in LISTS:
            assert tables[name] == document[name], (as_of, name)
        # Not vacuous: arrays, booleans, numbers and nulls all occur.
        roles = {role["slug"]: role for role in tables["roles"]}
        assert roles["secretariat_host"]["requires_membership"] is False
        assert roles["chair"]["requires_membership"] is True
        assert roles["chair"]["eligible_categories"] == ["full"]
        assert roles["executive"]["max_holders"] is None
        seoul = next(m for m in tables["members"] if m["name"] == "Seoul")
        assert seoul["alt_names"] == ["서울"]
        assert seoul["latitude"] == 37.5667
        assert seoul["subdivision"] is None
        metropolis = next(n for n in tables["networks"] if n["slug"] == "metropolis")
        assert metropolis["membership_categories"] == ["full", "associate", "honorary"]


async def test_csv_zip_is_valid_for_one_network(
    client: httpx.AsyncClient, admin_headers: Headers
) -> None:
    await build_registry(client, admin_headers)
    response = await export(
        client, "/v1/networks/metropolis/export", format="csv", as_of="2014-01-01"
    )
    assert response.headers["content-disposition"] == (
        'attachment; filename="netregistry-metropolis-2014-01-01.zip"'
    )
    _, tables = read_zip(response.content)
    document = (await export(client, "/v1/networks/metropolis/export", as_of="2014-01-01")).json()
    assert tables == {name: document[name] for name in LISTS}
    assert [n["slug"] for n in tables["networks"]] == ["metropolis"]


# --- what is in an export ---------------------------------------------------------------


async def test_full_history_has_every_membership_and_tenure_including_ended_ones(
    client: httpx.AsyncClient, admin_headers: Headers
) -> None:
    ids = await build_registry(client, admin_headers)
    document = (await export(client, "/v1/export")).json()
    memberships: set[str] = set()
    tenures: set[str] = set()
    for slug in ("citynet", "metropolis", "c40"):
        memberships |= {m["id"] for m in await items(client, f"/v1/networks/{slug}/memberships")}
        tenures |= {t["id"] for t in await items(client, f"/v1/networks/{slug}/tenures")}
    assert {m["id"] for m in document["memberships"]} == memberships
    assert {t["id"] for t in document["tenures"]} == tenures
    ended = [m for m in document["memberships"] if m["end_date"] is not None]
    assert {(m["member_name"], m["category"], m["end_date"]) for m in ended} == {
        ("Lyon", "full", "2016-12"),
        ("KOICA", "associate", "2020"),
    }
    chairs = [(t["member_id"], t["end_date"]) for t in document["tenures"] if t["role"] == "chair"]
    assert sorted(chairs) == sorted([(ids["Yokohama"], "2013-11-05"), (ids["Seoul"], None)])
    # Partial dates come back as given.
    colombo = next(m for m in document["memberships"] if m["member_id"] == ids["Colombo"])
    assert colombo["start_date"] == "1987-09"
    assert document["networks"][1]["founded_on"] == "1987"


async def test_as_of_gives_exactly_the_member_lists_and_holders_of_that_day(
    client: httpx.AsyncClient, admin_headers: Headers
) -> None:
    ids = await build_registry(client, admin_headers)
    seen_memberships = 0
    for day in DAYS:
        listed: dict[str, tuple[set[str], set[str]]] = {}
        for slug, roles in ROLES.items():
            rows = await items(client, f"/v1/networks/{slug}/members", as_of=day)
            holders: set[str] = set()
            for role in roles:
                path = f"/v1/networks/{slug}/roles/{role}/holders"
                holders |= {row["tenure_id"] for row in await items(client, path, as_of=day)}
            listed[slug] = ({row["membership_id"] for row in rows}, holders)

        document = (await export(client, "/v1/export", as_of=day)).json()
        assert document["as_of"] == day
        exported = {m["id"] for m in document["memberships"]}
        assert exported == listed["citynet"][0] | listed["metropolis"][0], day
        assert {t["id"] for t in document["tenures"]} == (
            listed["citynet"][1] | listed["metropolis"][1]
        ), day
        referenced = {r["member_id"] for r in document["memberships"] + document["tenures"]}
        assert {m["id"] for m in document["members"]} == referenced, day
        # Networks and roles are definitions: all of them, whatever the day.
        assert len(document["networks"]) == 3
        assert len(document["roles"]) == 4
        seen_memberships += len(exported)

        for slug in ROLES:
            network = (await export(client, f"/v1/networks/{slug}/export", as_of=day)).json()
            assert {m["id"] for m in network["memberships"]} == listed[slug][0], (slug, day)
            assert {t["id"] for t in network["tenures"]} == listed[slug][1], (slug, day)
    assert seen_memberships > 0

    # The rules for partial dates: "until 2016-12" and "from 2016-12" both leave out Lyon
    # in mid-December 2016, and Seoul, not Yokohama, chairs on the day of the handover.
    december = (await export(client, "/v1/networks/citynet/export", as_of="2016-12-15")).json()
    assert ids["Lyon"] not in {m["member_id"] for m in december["memberships"]}
    later = (await export(client, "/v1/networks/citynet/export", as_of="2017-06-01")).json()
    assert [m["category"] for m in later["memberships"] if m["member_id"] == ids["Lyon"]] == [
        "associate"
    ]
    handover = (await export(client, "/v1/networks/citynet/export", as_of="2013-11-05")).json()
    assert [t["member_name"] for t in handover["tenures"] if t["role"] == "chair"] == ["Seoul"]


async def test_membership_rows_carry_the_members_name_and_country(
    client: httpx.AsyncClient, admin_headers: Headers
) -> None:
    ids = await build_registry(client, admin_headers)
    document = (await export(client, "/v1/export")).json()
    members = {m["id"]: m for m in document["members"]}
    for row in document["memberships"] + document["tenures"]:
        member = members[row["member_id"]]
        assert (row["member_kind"], row["member_name"], row["member_country_code"]) == (
            member["kind"],
            member["name"],
            member["country_code"],
        )
    koica = next(m for m in document["memberships"] if m["member_id"] == ids["KOICA"])
    assert (koica["member_kind"], koica["member_name"], koica["member_country_code"]) == (
        "organization",
        "KOICA",
        "KR",
    )
    # The same as the API embeds in a membership.
    api = {m["id"]: m for m in await items(client, "/v1/networks/citynet/memberships")}
    for row in document["memberships"]:
        if row["network"] == "citynet":
            embedded = api[row["id"]]["member"]
            assert (embedded["name"], embedded["country_code"]) == (
                row["member_name"],
                row["member_country_code"],
            )


async def test_a_network_export_holds_only_that_network_and_the_members_it_references(
    client: httpx.AsyncClient, admin_headers: Headers
) -> None:
    ids = await build_registry(client, admin_headers)
    citynet = (await export(client, "/v1/networks/citynet/export")).json()
    assert citynet["network"] == "citynet"
    assert [n["slug"] for n in citynet["networks"]] == ["citynet"]
    for name in ("memberships", "roles", "tenures"):
        assert {r["network"] for r in citynet[name]} == {"citynet"}, name
    # Bangkok is referenced by a tenure only (a secretariat host need not be a member);
    # Surabaya is in no network.
    assert {m["name"] for m in citynet["members"]} == {
        "Yokohama",
        "Seoul",
        "Lyon",
        "Bangkok",
        "Colombo",
        "KOICA",
    }
    metropolis = (await export(client, "/v1/networks/metropolis/export")).json()
    assert {m["id"] for m in metropolis["members"]} == {ids["Seoul"], ids["Bangkok"], ids["Lyon"]}
    assert [r["slug"] for r in metropolis["roles"]] == ["president"]
    assert len(metropolis["memberships"]) == 3
    empty = (await export(client, "/v1/networks/c40/export", format="ndjson")).text.splitlines()
    assert [json.loads(line)["type"] for line in empty] == ["export", "network"]
    registry = (await export(client, "/v1/export")).json()
    assert ids["Surabaya"] in {m["id"] for m in registry["members"]}


# --- errors ---------------------------------------------------------------------------------


async def _open_transactions(db: Database) -> int:
    return int(
        await db.scalar(
            "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() "
            "AND pid <> pg_backend_pid() AND state LIKE 'idle in transaction%'"
        )
    )


async def test_unknown_network_is_404_problem_and_leaves_no_transaction_open(
    client: httpx.AsyncClient, admin_headers: Headers, db: Database
) -> None:
    await builders.network(client, admin_headers)
    for format in ("json", "ndjson", "csv"):
        response = await client.get("/v1/networks/nowhere/export", params={"format": format})
        assert response.status_code == 404
        assert response.headers["content-type"] == "application/problem+json"
        problem = response.json()
        assert problem["status"] == 404
        assert "nowhere" in problem["detail"]
        assert "content-disposition" not in response.headers
    assert await _open_transactions(db) == 0


async def test_bad_format_or_date_is_422_problem(
    client: httpx.AsyncClient, admin_headers: Headers
) -> None:
    await builders.network(client, admin_headers)
    for path in ("/v1/export", "/v1/networks/citynet/export"):
        for bad, params in [
            ("format", {"format": "xml"}),
            ("format", {"format": "JSON"}),
            ("as_of", {"as_of": "2014-13-01"}),
            ("as_of", {"as_of": "yesterday"}),
            ("as_of", {"as_of": "2014"}),
            ("as_of", {"format": "csv", "as_of": "2014-02-30"}),
        ]:
            response = await client.get(path, params=params)
            assert response.status_code == 422, (path, params, response.text)
            assert response.headers["content-type"] == "application/problem+json"
            assert [error["location"] for error in response.json()["errors"]] == [["query", bad]]


async def test_exports_need_no_key(client: httpx.AsyncClient, admin_headers: Headers) -> None:
    await build_registry(client, admin_headers)
    assert "authorization" not in client.headers
    for path in ("/v1/export", "/v1/networks/citynet/export"):
        for format in ("json", "ndjson", "csv"):
            response = await client.get(path, params={"format": format})
            assert response.status_code == 200, (path, format, response.text)
    assert "www-authenticate" not in response.headers


# --- streaming and consistency ---------------------------------------------------------------


class StreamingASGITransport(httpx.AsyncBaseTransport):
    """Like httpx.ASGITransport, but hands the body over as the app sends it, and makes
    the app wait, at each body message, until the reader asks for the next chunk: the
    backpressure of a slow client. (httpx.ASGITransport collects the whole body first.)"""

    def __init__(self, app: FastAPI) -> None:
        self.app = app

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        body = await request.aread()
        scope = {
            "type": "http",
            "asgi": {"version": "3.0"},
            "http_version": "1.1",
            "method": request.method,
            "scheme": request.url.scheme,
            "path": request.url.path,
            "raw_path": request.url.raw_path.split(b"?")[0],
            "root_path": "",
            "query_string": request.url.query,
            "headers": [(k.lower(), v) for k, v in request.headers.raw],
            "server": (request.url.host, request.url.port or 80),
            "client": ("127.0.0.1", 50000),
        }
        channel: asyncio.Queue[dict[str, Any]] = asyncio.Queue(maxsize=1)
        closed = asyncio.Event()
        delivered = False

        async def receive() -> dict[str, Any]:
            nonlocal delivered
            if not delivered:
                delivered = True
                return {"type": "http.request", "body": body, "more_body": False}
            await closed.wait()
            return {"type": "http.disconnect"}

        async def send(message: dict[str, Any]) -> None:
            await channel.put(message)
            await channel.join()  # until the reader has taken it and asks for more

        async def run() -> None:
            try:
                await self.app(scope, receive, send)
            except BaseException as error:
                await channel.put({"type": "error", "error": error})
                raise
            await channel.put({"type": "done"})

        task = asyncio.create_task(run())
        start = await channel.get()
        channel.task_done()
        if start["type"] == "error":
            raise start["error"]
        assert start["type"] == "http.response.start", start

        class Body(httpx.AsyncByteStream):
            async def __aiter__(self) -> AsyncIterator[bytes]:
                while True:
                    message = await channel.get()
                    if message["type"] == "error":
                        raise message["error"]
                    if message["type"] != "http.response.body":
                        return
                    if message.get("body"):
                        yield message["body"]
                    channel.task_done()  # the reader wants the next chunk: go on
                    if not message.get("more_body", False):
                        return

            async def aclose(self) -> None:
                closed.set()
                while not channel.empty():
                    channel.get_nowait()
                    channel.task_done()
                task.cancel()
                with contextlib.suppress(BaseException):
                    await task

        return httpx.Response(start["status"], headers=start["headers"], stream=Body())


@pytest.fixture
async def streaming_client(app: FastAPI) -> AsyncIterator[httpx.AsyncClient]:
    transport = StreamingASGITransport(app)
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
        yield client


async def bulk_members(app: FastAPI, count: int, network: str = "citynet") -> None:
    """``count`` cities, each a member of ``network``: volume for the streaming tests,
    inserted in one statement (through the API it would take a minute)."""
    async with app.state.engine.begin() as connection:
        await connection.execute(
            text(
                "INSERT INTO members (id, kind, name, country_code) "
                "SELECT gen_random_uuid(), 'city', 'Bulk City ' || lpad(i::text, 5, '0'), 'KR' "
                "FROM generate_series(1, :count) AS i"
            ),
            {"count": count},
        )
        await connection.execute(
            text(
                "INSERT INTO memberships (id, network_id, member_id, category, start_date) "
                "SELECT gen_random_uuid(), n.id, m.id, 'full', '2000' "
                "FROM members m CROSS JOIN networks n "
                "WHERE n.slug = :network AND m.name LIKE 'Bulk City %'"
            ),
            {"network": network},
        )


async def test_a_streamed_export_is_one_snapshot_while_writes_commit(
    app: FastAPI,
    client: httpx.AsyncClient,
    streaming_client: httpx.AsyncClient,
    admin_headers: Headers,
) -> None:
    await builders.network(client, admin_headers)
    await bulk_members(app, 2000)
    newcomers = [
        await builders.city(client, admin_headers, f"Newcomer {i}", "JP") for i in range(3)
    ]
    before = await builders.membership(client, admin_headers, newcomers[0]["id"])

    async with streaming_client.stream("GET", "/v1/export", params={"format": "ndjson"}) as stream:
        assert stream.status_code == 200
        assert stream.headers["content-type"] == "application/x-ndjson"
        chunks = stream.aiter_raw()
        first = await anext(chunks)
        # The export has begun (its header is out); now others write and commit.
        added = [
            await builders.membership(client, admin_headers, city["id"]) for city in newcomers[1:]
        ]
        patched = await client.patch(
            f"/v1/networks/citynet/memberships/{before['id']}",
            json={"note": "changed during the export"},
            headers=admin_headers,
        )
        assert patched.status_code == 200, patched.text
        late_city = await builders.city(client, admin_headers, "Late City", "FR")
        rest = b"".join([chunk async for chunk in chunks])

    body = first + rest
    assert len(first) < len(body)
    header, *records = [json.loads(line) for line in body.decode().splitlines()]
    assert header["type"] == "export"
    memberships = {r["id"]: r for r in records if r["type"] == "membership"}
    members = {r["id"] for r in records if r["type"] == "member"}
    assert len(memberships) == 2001
    assert not {m["id"] for m in added} & memberships.keys()
    assert memberships[before["id"]]["note"] is None
    assert late_city["id"] not in members

    after = (await export(client, "/v1/export")).json()
    exported = {m["id"]: m for m in after["memberships"]}
    assert len(exported) == 2003
    assert {m["id"] for m in added} <= exported.keys()
    assert exported[before["id"]]["note"] == "changed during the export"
    assert late_city["id"] in {m["id"] for m in after["members"]}


async def test_first_bytes_leave_before_the_export_is_complete(
    app: FastAPI,
    client: httpx.AsyncClient,
    streaming_client: httpx.AsyncClient,
    admin_headers: Headers,
) -> None:
    await builders.network(client, admin_headers)
    await bulk_members(app, 3000)
    for path, format in [
        ("/v1/export", "json"),
        ("/v1/networks/citynet/export", "ndjson"),
        ("/v1/export", "csv"),
    ]:
        async with streaming_client.stream("GET", path, params={"format": format}) as stream:
            assert stream.status_code == 200
            sizes = [len(chunk) async for chunk in stream.aiter_raw()]
        assert len(sizes) > 2, (path, format)
        assert sizes[0] < sum(sizes) / 10, (path, format)
        whole = await client.get(path, params={"format": format})
        assert abs(len(whole.content) - sum(sizes)) < 100  # only generated_at may differ


async def test_the_snapshot_is_taken_before_the_first_byte(
    app: FastAPI, client: httpx.AsyncClient, admin_headers: Headers
) -> None:
    """What a reader of the header is told (generated_at) is what the records show: a
    write that commits after the export started is not in it, however early."""
    await builders.network(client, admin_headers)
    seoul = await builders.city(client, admin_headers, "Seoul")
    await builders.membership(client, admin_headers, seoul["id"])
    for format in ("json", "ndjson", "csv"):
        snapshot = await begin_snapshot(app.state.engine, None, None)
        try:
            chunks = stream_export(snapshot, ExportRequest(format, None, None))  # type: ignore[arg-type]
            first = await anext(chunks)
            late = await builders.city(client, admin_headers, f"Late {format}", "JP")
            body = first + b"".join([chunk async for chunk in chunks])
        finally:
            await snapshot.close()
        if format == "csv":
            _, tables = read_zip(body)
            names = {m["name"] for m in tables["members"]}
        elif format == "json":
            names = {m["name"] for m in json.loads(body)["members"]}
        else:
            names = {
                record["name"]
                for record in map(json.loads, body.decode().splitlines())
                if record["type"] == "member"
            }
        assert "Seoul" in names
        assert late["name"] not in names, format


async def test_exports_beyond_the_concurrent_limit_are_503_until_one_ends(
    app: FastAPI,
    client: httpx.AsyncClient,
    streaming_client: httpx.AsyncClient,
    admin_headers: Headers,
) -> None:
    await builders.network(client, admin_headers)
    await bulk_members(app, 2000)
    app.state.export_slots = asyncio.Semaphore(1)
    async with streaming_client.stream("GET", "/v1/export", params={"format": "ndjson"}) as first:
        assert first.status_code == 200
        chunks = first.aiter_raw()
        await anext(chunks)
        refused = await client.get("/v1/export")
        assert refused.status_code == 503, refused.text
        assert refused.headers["content-type"] == "application/problem+json"
        assert refused.headers["retry-after"] == "30"
        assert (await client.get("/v1/networks/citynet")).status_code == 200
        async for _ in chunks:
            pass
    assert (await client.get("/v1/export")).status_code == 200
