"""The contract refuses what the service refuses (issue 12, item 12).

schemathesis (tests/fuzz) sends schema-valid requests and fails on any refusal but the
rules JSON Schema cannot state. These tests hold the parts of the contract that make
that true, each beside the service's own answer: a PATCH offers `null` exactly where it
clears a field, a partial date's pattern admits exactly the dates the service takes, and
no text parameter admits the NUL character the service refuses.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import httpx
import pytest

from netregistry.kit.dates import PartialDate
from tests.registry import builders

CONTRACT = json.loads((Path(__file__).parents[1] / "openapi" / "openapi.json").read_text())
SCHEMAS = CONTRACT["components"]["schemas"]
Headers = dict[str, str]


def resolve(schema: dict[str, Any]) -> dict[str, Any]:
    while "$ref" in schema:
        schema = SCHEMAS[schema["$ref"].rsplit("/", 1)[-1]]
    return schema


def admits_null(schema: dict[str, Any]) -> bool:
    return any(option.get("type") == "null" for option in schema.get("anyOf", []))


def nullable_fields(component: str) -> set[str]:
    properties = SCHEMAS[component]["properties"]
    return {name for name, schema in properties.items() if admits_null(schema)}


def pattern_of(component: str, field: str) -> re.Pattern[str]:
    schema = SCHEMAS[component]["properties"][field]
    options = [resolve(option) for option in schema.get("anyOf", [schema])]
    (text,) = [option for option in options if option.get("type") == "string"]
    return re.compile(text["pattern"])


async def _resources(client: httpx.AsyncClient, headers: Headers) -> dict[str, str]:
    """One of each patchable resource, with every optional field set; their URLs."""
    network = await builders.network(
        client,
        headers,
        acronym="CN",
        official_name="City Network",
        founded_on="1987",
        scope="Asia-Pacific",
        website="https://citynet-ap.org",
        description="A network.",
        membership_criteria="Cities.",
        membership_categories=["full", "associate"],
    )
    city = await builders.city(
        client,
        headers,
        "Seoul",
        alt_names=["Soul"],
        subdivision="Seoul",
        population=9_400_000,
        latitude=37.5,
        longitude=127.0,
        wikidata="Q8684",
        geonames=1835848,
    )
    organization = await builders.organization(
        client,
        headers,
        "Urban Institute",
        alt_names=["UI"],
        country_code="US",
        org_type="institute",
        website="https://urban.org",
        wikidata="Q7900605",
    )
    base = f"/v1/networks/{network['slug']}"
    membership = await builders.post(
        client,
        f"{base}/memberships",
        headers,
        member_id=city["id"],
        category="full",
        # No period: the tenure within it may then be cleared at either end.
        source_url="https://citynet-ap.org",
        note="From the article.",
    )
    await builders.post(
        client,
        f"{base}/roles",
        headers,
        slug="chair",
        name="Chair",
        max_holders=1,
        eligible_categories=["full"],
    )
    tenure = await builders.post(
        client,
        f"{base}/tenures",
        headers,
        role="chair",
        member_id=city["id"],
        start_date="2013-11",
        end_date="2020",
        representative="The mayor",
        source_url="https://citynet-ap.org",
        note="From the article.",
    )
    return {
        "NetworkUpdate": base,
        "CityUpdate": f"/v1/cities/{city['id']}",
        "OrganizationUpdate": f"/v1/organizations/{organization['id']}",
        "MembershipUpdate": f"{base}/memberships/{membership['id']}",
        "RoleUpdate": f"{base}/roles/chair",
        "TenureUpdate": f"{base}/tenures/{tenure['id']}",
    }


async def test_a_patch_offers_null_exactly_where_it_clears_a_field(
    client: httpx.AsyncClient, admin_headers: Headers
) -> None:
    resources = await _resources(client, admin_headers)
    for component, url in resources.items():
        original = (await client.get(url)).json()
        cleared = set()
        for field in SCHEMAS[component]["properties"]:
            response = await client.patch(url, json={field: None}, headers=admin_headers)
            if response.status_code == 200:
                assert response.json()[field] in (None, []), (component, field, response.text)
                cleared.add(field)
                restored = await client.patch(
                    url, json={field: original[field]}, headers=admin_headers
                )
                assert restored.status_code == 200, restored.text
            else:
                assert response.status_code == 422, (component, field, response.text)
                assert response.json()["detail"] == f"body: {field} cannot be null"
        assert cleared == nullable_fields(component), component


def test_a_partial_dates_pattern_admits_exactly_the_dates_the_service_takes() -> None:
    pattern = pattern_of("MembershipCreate", "start_date")
    for component, field in [
        ("MembershipUpdate", "end_date"),
        ("TenureCreate", "start_date"),
        ("NetworkCreate", "founded_on"),
    ]:
        assert pattern_of(component, field).pattern == pattern.pattern

    def taken(text: str) -> bool:
        try:
            PartialDate.parse(text)
        except ValueError:
            return False
        return True

    years = [*range(0, 2101), 2400, 3200, 9999]
    months = range(0, 14)
    days = (0, 1, 28, 29, 30, 31, 32)
    texts = [f"{year:04d}" for year in years]
    texts += [f"{year:04d}-{month:02d}" for year in years for month in months]
    texts += [
        f"{year:04d}-{month:02d}-{day:02d}" for year in years for month in months for day in days
    ]
    texts += ["10000", "2023-1", "2023-01-1", "２０２３", "2023\n", ""]
    disagree = [text for text in texts if bool(pattern.fullmatch(text)) != taken(text)]
    assert not disagree, disagree[:10]


@pytest.mark.parametrize(
    ("start_date", "status"),
    [("2024-02-29", 201), ("2023-02-29", 422), ("1900-02-29", 422), ("0000", 422), ("0001", 201)],
)
async def test_the_service_takes_the_dates_the_pattern_admits(
    client: httpx.AsyncClient, admin_headers: Headers, start_date: str, status: int
) -> None:
    await builders.network(client, admin_headers)
    seoul = await builders.city(client, admin_headers, "Seoul")
    response = await client.post(
        "/v1/networks/citynet/memberships",
        json={"member_id": seoul["id"], "category": "full", "start_date": start_date},
        headers=admin_headers,
    )
    assert response.status_code == status, response.text
    assert bool(pattern_of("MembershipCreate", "start_date").fullmatch(start_date)) == (
        status == 201
    )


def _request_strings() -> list[tuple[str, dict[str, Any]]]:
    """Every string a request may carry in its path, query or JSON body, by where."""
    found: list[tuple[str, dict[str, Any]]] = []

    def walk(schema: dict[str, Any], where: str) -> None:
        schema = resolve(schema)
        for option in schema.get("anyOf", []):
            walk(option, where)
        if schema.get("type") == "object":
            for name, value in schema.get("properties", {}).items():
                walk(value, f"{where}.{name}")
        if schema.get("type") == "array":
            walk(schema["items"], f"{where}[]")
        if schema.get("type") == "string":
            found.append((where, schema))

    for path, operations in CONTRACT["paths"].items():
        for method, operation in operations.items():
            for parameter in operation.get("parameters", []):
                if parameter["in"] in ("path", "query"):
                    where = f"{method.upper()} {path} {parameter['in']} {parameter['name']}"
                    walk(parameter["schema"], where)
            body = operation.get("requestBody", {}).get("content", {})
            if "application/json" in body:
                walk(body["application/json"]["schema"], f"{method.upper()} {path} body")
    return found


def test_no_text_a_request_carries_admits_the_nul_character() -> None:
    strings = _request_strings()
    assert len(strings) > 100
    for where, schema in strings:
        if "enum" in schema or schema.get("format") in ("uuid", "date", "date-time"):
            continue
        assert "pattern" in schema, f"{where} admits any text"
        assert not re.search(schema["pattern"], "ab\x00c"), f"{where} admits NUL"


@pytest.mark.parametrize(
    "url",
    [
        "/v1/networks/city%00net/members",
        "/v1/networks/citynet/members?category=f%00",
        "/v1/networks/citynet/roles/ch%00/holders",
        "/v1/cities?network=%00",
    ],
)
async def test_the_service_refuses_the_nul_the_contract_refuses(
    client: httpx.AsyncClient, url: str
) -> None:
    response = await client.get(url)
    assert response.status_code == 422, response.text
    assert response.json()["errors"][0]["message"] == "must not contain the NUL character (U+0000)"
