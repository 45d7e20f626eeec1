"""Country codes: ISO 3166-1 alpha-2 as the pinned pycountry lists it, plus XK (Kosovo);
in capitals or small letters, stored in capitals. A code that is not one is refused with
what to write instead, in bodies, in the CSV import and in every ``country`` filter, and
the contract lists exactly the codes accepted.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import httpx
import pycountry
import pytest

from netregistry.kit.direct import COUNTRY
from netregistry.kit.types import COUNTRY_CODE_INPUTS, COUNTRY_CODES
from tests.conftest import Database
from tests.registry import builders
from tests.registry.test_csv_import import import_csv, spreadsheet

Headers = dict[str, str]
CONTRACT = Path(__file__).parents[2] / "openapi" / "openapi.json"
FILTERS = ["/v1/cities", "/v1/organizations", "/v1/networks/citynet/members"]


def _message(response: httpx.Response, location: list[Any]) -> str:
    assert response.status_code == 422, response.text
    [error] = response.json()["errors"]
    assert (error["location"], error["type"]) == (location, "value_error"), error
    message: str = error["message"]
    return message


async def test_kosovo_is_xk(client: httpx.AsyncClient, admin_headers: Headers) -> None:
    await builders.network(client, admin_headers)
    pristina = await builders.city(client, admin_headers, "Pristina", "XK")
    assert pristina["country_code"] == "XK"
    await builders.membership(client, admin_headers, pristina["id"])
    for path in ("/v1/cities", "/v1/networks/citynet/members"):
        for code in ("XK", "xk"):
            found = await client.get(path, params={"country": code})
            assert found.status_code == 200, found.text
            assert len(found.json()["items"]) == 1, (path, code)


@pytest.mark.parametrize(
    ("code", "expected"),
    [
        pytest.param("UK", "did you mean GB (United Kingdom)?", id="UK"),
        pytest.param("uk", "did you mean GB (United Kingdom)?", id="uk"),
        pytest.param("EL", "did you mean GR (Greece)?", id="EL"),
        pytest.param("YU", "withdrawn from ISO 3166-1 in 2003", id="YU-withdrawn"),
        pytest.param("Kr", 'write the country code as "KR"', id="mixed-case"),
        pytest.param(" KR", 'write the country code as "KR"', id="leading-space"),
        pytest.param("ZZ", "such as KR, FR or BR (XK for Kosovo)", id="unassigned"),
        pytest.param("KOR", "such as KR, FR or BR (XK for Kosovo)", id="alpha-3"),
    ],
)
async def test_a_code_that_is_not_a_country_says_what_to_write(
    client: httpx.AsyncClient, admin_headers: Headers, db: Database, code: str, expected: str
) -> None:
    response = await client.post(
        "/v1/cities", json={"name": "London", "country_code": code}, headers=admin_headers
    )
    assert expected in _message(response, ["body", "country_code"])
    response = await client.patch(
        f"/v1/organizations/{(await builders.organization(client, admin_headers, 'ICLEI'))['id']}",
        json={"country_code": code},
        headers=admin_headers,
    )
    assert expected in _message(response, ["body", "country_code"])
    assert await db.scalar("SELECT count(*) FROM members WHERE country_code IS NOT NULL") == 0


@pytest.mark.parametrize("path", FILTERS)
async def test_a_country_filter_refuses_uk_and_says_gb(
    client: httpx.AsyncClient, admin_headers: Headers, path: str
) -> None:
    """A filter by a code that is no country would answer an empty list, which a partner
    site would show as "no members in the United Kingdom"."""
    await builders.network(client, admin_headers)
    london = await builders.city(client, admin_headers, "London", "GB")
    await builders.membership(client, admin_headers, london["id"])
    refused = await client.get(path, params={"country": "UK"})
    assert "did you mean GB" in _message(refused, ["query", "country"])
    assert refused.json()["type"] == "urn:netregistry:problem:validation-failed"
    for code in ("GB", "gb"):
        found = await client.get(path, params={"country": code})
        assert found.status_code == 200, found.text
        assert len(found.json()["items"]) == (0 if "organizations" in path else 1)


async def test_codes_in_small_letters_are_stored_in_capitals(
    client: httpx.AsyncClient, admin_headers: Headers
) -> None:
    city = await builders.city(client, admin_headers, "Busan", "kr")
    assert city["country_code"] == "KR"


async def test_the_csv_import_says_what_to_write_for_uk(
    client: httpx.AsyncClient, admin_headers: Headers, db: Database
) -> None:
    await builders.network(client, admin_headers)
    response = await import_csv(
        client, admin_headers, spreadsheet("London,UK,full,,", "Pristina,xk,full,,")
    )
    assert response.status_code == 422, response.text
    [error] = response.json()["errors"]
    assert error["location"] == ["body", "row", 2, "country_code"]
    assert "did you mean GB" in error["message"]
    assert await db.count("members") == 0
    accepted = await import_csv(client, admin_headers, spreadsheet("Pristina,xk,full,,"))
    assert accepted.status_code == 201, accepted.text
    assert await db.scalar("SELECT country_code FROM members") == "XK"


def test_the_accepted_codes_are_iso_3166_1_as_pycountry_has_it_and_xk() -> None:
    assert set(COUNTRY_CODES) == {country.alpha_2 for country in pycountry.countries} | {"XK"}
    assert len(COUNTRY_CODES) == 250
    assert "UK" not in COUNTRY_CODES
    assert COUNTRY_CODES + tuple(code.lower() for code in COUNTRY_CODES) == COUNTRY_CODE_INPUTS


def _country_schemas(document: dict[str, Any]) -> list[tuple[str, dict[str, Any]]]:
    """Every schema of a ``country_code`` property or a ``country`` query parameter."""
    found: list[tuple[str, dict[str, Any]]] = []
    for name, schema in document["components"]["schemas"].items():
        if "country_code" in schema.get("properties", {}):
            found.append((name, schema["properties"]["country_code"]))
    for template, operations in document["paths"].items():
        for method, operation in operations.items():
            for parameter in operation.get("parameters", []):
                if parameter["name"] == "country":
                    found.append((f"{method} {template}", parameter["schema"]))
    return found


def _enum(document: dict[str, Any], schema: dict[str, Any]) -> list[str] | None:
    """The codes ``schema`` lists (through its ``$ref``, or its non-null option)."""
    if "$ref" in schema:
        return _enum(document, document["components"]["schemas"][schema["$ref"].split("/")[-1]])
    if "enum" in schema:
        values: list[str] = schema["enum"]
        return values
    for option in schema.get("anyOf", []):
        if (values_of_option := _enum(document, option)) is not None:
            return values_of_option
    return None


def test_the_contract_lists_exactly_the_accepted_codes_wherever_a_code_is_taken() -> None:
    document = json.loads(CONTRACT.read_text())
    taken = [
        (where, schema)
        for where, schema in _country_schemas(document)
        if not where.endswith("Read")
        and where not in {"MemberSummary", "MemberListRow", "ImportCandidate"}
    ]
    wheres = {where for where, _ in taken}
    assert {"CityCreate", "CityUpdate", "OrganizationCreate", "OrganizationUpdate"} <= wheres
    assert {f"get {path.replace('citynet', '{slug}')}" for path in FILTERS} <= wheres
    for where, schema in taken:
        assert _enum(document, schema) == list(COUNTRY_CODE_INPUTS), where


def test_direct_reads_take_exactly_the_codes_the_contract_lists() -> None:
    """The direct handlers (kit/direct.py) check ``country`` themselves: the same set."""
    for code in COUNTRY_CODE_INPUTS:
        assert COUNTRY.fullmatch(code), code
    for code in ("UK", "uk", "Kr", "kR", "ın", "KOR", "K", "", "XX", " KR"):
        assert not COUNTRY.fullmatch(code), code
