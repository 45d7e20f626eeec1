"""The export's published schema is the code's, and real exports follow it."""

from __future__ import annotations

import json
from pathlib import Path

import httpx
import jsonschema

from netregistry.exports.records import json_schema
from tests.registry import builders

SCHEMA = Path(__file__).parents[2] / "openapi" / "export.schema.json"


def test_committed_export_schema_matches_the_code() -> None:
    assert json.loads(SCHEMA.read_text()) == json_schema(), (
        "openapi/export.schema.json is stale: run `make openapi` and commit it"
    )


async def test_a_real_export_validates_against_the_published_schema(
    client: httpx.AsyncClient, admin_headers: dict[str, str]
) -> None:
    await builders.network(client, admin_headers, founded_on="1987")
    seoul = await builders.city(
        client, admin_headers, "Seoul", wikidata="Q8684", alt_names=["서울"]
    )
    koica = await builders.organization(client, admin_headers, "KOICA", country_code="KR")
    await builders.membership(client, admin_headers, seoul["id"], start_date="2013-11")
    await builders.membership(client, admin_headers, koica["id"], category="associate")
    await builders.role(client, admin_headers, "chair", eligible_categories=["full"])
    await builders.tenure(client, admin_headers, seoul["id"], start_date="2013-11")
    for path in ("/v1/export", "/v1/networks/citynet/export", "/v1/export?as_of=2014-01-01"):
        response = await client.get(path)
        assert response.status_code == 200, response.text
        document = response.json()
        jsonschema.validate(document, json.loads(SCHEMA.read_text()))
        assert [m["name"] for m in document["members"]] != []
        assert document["tenures"][0]["start_date"] == "2013-11"
