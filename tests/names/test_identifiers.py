"""Typed identifiers of cities and the batch lookup by identifier (issue 13, point 4)."""

from __future__ import annotations

from typing import Any

import httpx
from fastapi import FastAPI

from tests.conftest import Database
from tests.registry import builders
from tests.registry.test_queries import counting_statements

Headers = dict[str, str]

SEOUL_IDS = {"wikidata": "Q8684", "geonames": 1835848, "iso3166_2": "KR-11", "unlocode": "KRSEL"}


async def _seoul_and_koica(
    client: httpx.AsyncClient, headers: Headers
) -> tuple[dict[str, Any], dict[str, Any]]:
    seoul = await builders.city(
        client,
        headers,
        "Seoul",
        names=[{"text": "서울특별시", "lang": "ko", "kind": "official"}],
        **SEOUL_IDS,
    )
    koica = await builders.organization(client, headers, "KOICA", wikidata="Q1783468")
    return seoul, koica


async def test_a_city_keeps_its_iso_3166_2_code_and_un_locode(
    client: httpx.AsyncClient, admin_headers: Headers
) -> None:
    seoul, _ = await _seoul_and_koica(client, admin_headers)
    assert (seoul["iso3166_2"], seoul["unlocode"]) == ("KR-11", "KRSEL")
    read = (await client.get(f"/v1/cities/{seoul['id']}")).json()
    assert (read["iso3166_2"], read["unlocode"]) == ("KR-11", "KRSEL")
    listed = (await client.get("/v1/cities")).json()["items"][0]
    assert (listed["iso3166_2"], listed["unlocode"]) == ("KR-11", "KRSEL")


async def test_one_lookup_answers_every_scheme_in_the_order_asked_and_lists_the_unknown(
    app: FastAPI, client: httpx.AsyncClient, admin_headers: Headers
) -> None:
    seoul, koica = await _seoul_and_koica(client, admin_headers)
    asked = ["KRSEL", "Q1783468", "Q1", "1835848", "KR-11", "Q8684", "JPTYO", "Q8684", "99"]
    with counting_statements(app) as statements:
        response = await client.get("/v1/members/lookup", params=[("id", i) for i in asked])
    assert response.status_code == 200, response.text
    assert len(statements) == 1
    body = response.json()
    assert [(m["identifier"], m["scheme"], m["member"]["id"]) for m in body["found"]] == [
        ("KRSEL", "unlocode", seoul["id"]),
        ("Q1783468", "wikidata", koica["id"]),
        ("1835848", "geonames", seoul["id"]),
        ("KR-11", "iso3166_2", seoul["id"]),
        ("Q8684", "wikidata", seoul["id"]),
    ]
    assert body["found"][0]["member"] == {
        "id": seoul["id"],
        "kind": "city",
        "name": "Seoul",
        "country_code": "KR",
    }
    assert body["unknown"] == ["Q1", "JPTYO", "99"]


async def test_the_post_lookup_reads_without_a_key_and_names_members_in_the_language_asked(
    client: httpx.AsyncClient, admin_headers: Headers, db: Database
) -> None:
    await _seoul_and_koica(client, admin_headers)
    changes = await db.count("changes")
    response = await client.post(
        "/v1/members/lookup", json={"ids": ["KR-11", "2147483648"]}, params={"lang": "ko"}
    )
    assert response.status_code == 200, response.text
    assert response.headers["content-language"] == "ko"
    body = response.json()
    assert [m["member"]["name"] for m in body["found"]] == ["서울특별시"]
    assert body["unknown"] == ["2147483648"]
    assert await db.count("changes") == changes


async def test_a_lookup_refuses_what_is_no_identifier_and_more_than_100(
    client: httpx.AsyncClient,
) -> None:
    for params in ([("id", "Seoul")], [("id", "kr-11")], [("id", str(n)) for n in range(1, 102)]):
        response = await client.get("/v1/members/lookup", params=params)
        assert response.status_code == 422, response.text
    missing = await client.get("/v1/members/lookup")
    assert missing.status_code == 422
    too_many = await client.post(
        "/v1/members/lookup", json={"ids": [str(n) for n in range(1, 102)]}
    )
    assert too_many.status_code == 422
    assert too_many.json()["errors"][0]["location"] == ["body", "ids"]


async def test_an_identifier_of_another_country_is_refused_and_nothing_is_written(
    client: httpx.AsyncClient, admin_headers: Headers, db: Database
) -> None:
    response = await client.post(
        "/v1/cities",
        json={"name": "Seoul", "country_code": "KR", "unlocode": "JPTYO"},
        headers=admin_headers,
    )
    assert response.status_code == 422, response.text
    error = response.json()["errors"][0]
    assert (error["location"], error["type"]) == (["body", "unlocode"], "identifier_country")
    assert "JPTYO is of country JP" in error["message"]
    assert await db.count("members") == 0

    seoul, _ = await _seoul_and_koica(client, admin_headers)
    moved = await client.patch(
        f"/v1/cities/{seoul['id']}", json={"country_code": "JP"}, headers=admin_headers
    )
    assert moved.status_code == 422, moved.text
    assert moved.json()["errors"][0]["type"] == "identifier_country"
    read = (await client.get(f"/v1/cities/{seoul['id']}")).json()
    assert read["country_code"] == "KR"


async def test_an_identifier_names_one_city_only(
    client: httpx.AsyncClient, admin_headers: Headers
) -> None:
    await _seoul_and_koica(client, admin_headers)
    for field, value in (("unlocode", "KRSEL"), ("iso3166_2", "KR-11")):
        response = await client.post(
            "/v1/cities",
            json={"name": "Another Seoul", "country_code": "KR", field: value},
            headers=admin_headers,
        )
        assert response.status_code == 409, response.text
    organization = await client.post(
        "/v1/organizations", json={"name": "Port", "unlocode": "KRSEL"}, headers=admin_headers
    )
    assert organization.status_code == 422, organization.text
