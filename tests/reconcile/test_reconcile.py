"""The reconciliation service (W3C Reconciliation API 0.2, as OpenRefine speaks it):
its answers hold to the protocol's published JSON Schemas (vendored in ``schemas/``,
see ``schemas/SOURCE.md``), OpenRefine's request shapes are understood, candidates are
scored and ``match`` is true only for the one certain candidate."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import httpx
import pytest
from jsonschema import Draft7Validator
from referencing import Registry, Resource

from tests.conftest import Database
from tests.registry import builders

Headers = dict[str, str]
SCHEMAS = Path(__file__).parent / "schemas"
RECONCILE = "/v1/reconcile"
FORM = {"Content-Type": "application/x-www-form-urlencoded"}


def _registry() -> Registry:
    registry: Registry = Registry()
    for path in SCHEMAS.glob("*.json"):
        document = json.loads(path.read_text())
        registry = registry.with_resource(document["$id"], Resource.opaque(document))
    return registry


def check(schema: str, document: Any) -> None:
    """``document`` is valid under the protocol's schema ``schema``."""
    validator = Draft7Validator(json.loads((SCHEMAS / schema).read_text()), registry=_registry())
    errors = [error.message for error in validator.iter_errors(document)]
    assert errors == [], errors


async def seed(client: httpx.AsyncClient, headers: Headers) -> dict[str, dict[str, Any]]:
    return {
        "kuala_lumpur": await builders.city(client, headers, "Kuala Lumpur", "MY"),
        "sao_paulo": await builders.city(client, headers, "São Paulo", "BR", alt_names=["Sampa"]),
        "seoul": await builders.city(client, headers, "Seoul", "KR", wikidata="Q8684"),
        "springfield_il": await builders.city(client, headers, "Springfield", "US"),
        "springfield_mo": await builders.city(client, headers, "Springfield", "US"),
        "koica": await builders.organization(
            client, headers, "Korea International Cooperation Agency", alt_names=["KOICA"]
        ),
    }


async def test_the_manifest_is_a_valid_0_2_manifest(client: httpx.AsyncClient) -> None:
    response = await client.get(RECONCILE)
    assert response.status_code == 200, response.text
    manifest = response.json()
    check("manifest.json", manifest)
    assert manifest["versions"] == ["0.2"]
    assert [t["id"] for t in manifest["defaultTypes"]] == ["city", "organization"]
    assert manifest["preview"]["url"].endswith("/v1/reconcile/preview?id={{id}}")
    assert manifest["suggest"]["type"]["service_path"] == "/v1/reconcile/suggest/type"
    # A POST without queries (OpenRefine's probe) is the manifest too.
    posted = await client.post(RECONCILE, content=b"", headers=FORM)
    assert posted.status_code == 200, posted.text
    assert posted.json() == manifest


async def test_an_openrefine_batch_is_scored_and_only_certain_candidates_match(
    client: httpx.AsyncClient, admin_headers: Headers
) -> None:
    members = await seed(client, admin_headers)
    queries = {
        "q0": {
            "query": "Kuala Lumpr",
            "type": "city",
            "limit": 3,
            "properties": [{"pid": "country", "v": "MY"}],
            "type_strict": "should",
        },
        "q1": {"query": "sao paulo", "type": "city", "properties": [{"pid": "country", "v": "br"}]},
        "q2": {"query": "Springfield", "properties": [{"pid": "country", "v": "US"}]},
        "q3": {"query": "Seoul City", "properties": [{"pid": "wikidata", "v": "Q8684"}]},
        "q4": {"query": "KOICA", "properties": [{"pid": "kind", "v": "organization"}]},
        "q5": {"query": "Kuala Lumpur", "properties": [{"pid": "country", "v": "ID"}]},
        "q6": {"query": "Atlantis"},
    }
    check("reconciliation-query-batch.json", queries)
    # OpenRefine POSTs the batch form-encoded as queries=<JSON>.
    response = await client.post(RECONCILE, data={"queries": json.dumps(queries)})
    assert response.status_code == 200, response.text
    results = response.json()
    check("reconciliation-result-batch.json", results)
    assert set(results) == set(queries)

    def top(key: str) -> dict[str, Any]:
        return results[key]["result"][0]

    typo = top("q0")
    assert typo["id"] == members["kuala_lumpur"]["id"]
    assert 60 <= typo["score"] < 100
    assert typo["match"] is False
    assert typo["type"] == [{"id": "city", "name": "City"}]
    assert typo["description"] == "City in MY"

    # The same folded name in the country asked: certain.
    assert (top("q1")["id"], top("q1")["score"], top("q1")["match"]) == (
        members["sao_paulo"]["id"],
        100,
        True,
    )
    # Two certain namesakes: neither is the match.
    springfields = results["q2"]["result"]
    assert {c["id"] for c in springfields[:2]} == {
        members["springfield_il"]["id"],
        members["springfield_mo"]["id"],
    }
    assert [c["match"] for c in springfields] == [False] * len(springfields)
    assert [c["score"] for c in springfields[:2]] == [100, 100]
    # The Wikidata id asked for is certain whatever the name.
    assert (top("q3")["id"], top("q3")["score"], top("q3")["match"]) == (
        members["seoul"]["id"],
        100,
        True,
    )
    # An alternative name of an organization, the kind asked.
    assert (top("q4")["id"], top("q4")["match"]) == (members["koica"]["id"], True)
    assert top("q4")["type"] == [{"id": "organization", "name": "Organization"}]
    # The right name in another country: a candidate, not a match, and lower.
    assert (top("q5")["id"], top("q5")["match"]) == (members["kuala_lumpur"]["id"], False)
    assert top("q5")["score"] < 100
    assert results["q6"] == {"result": []}

    # The same batch by GET gives the same answer.
    got = await client.get(RECONCILE, params={"queries": json.dumps(queries)})
    assert got.status_code == 200, got.text
    assert got.json() == results


async def test_type_and_property_suggest_follow_the_schemas(client: httpx.AsyncClient) -> None:
    types = await client.get(f"{RECONCILE}/suggest/type", params={"prefix": "ci"})
    assert types.status_code == 200, types.text
    check("suggest-types-response.json", types.json())
    assert types.json()["result"] == [{"id": "city", "name": "City"}]
    properties = await client.get(f"{RECONCILE}/suggest/property", params={"prefix": "Co"})
    assert properties.status_code == 200, properties.text
    check("suggest-properties-response.json", properties.json())
    assert [p["id"] for p in properties.json()["result"]] == ["country"]
    every = await client.get(f"{RECONCILE}/suggest/property", params={"prefix": ""})
    assert [p["id"] for p in every.json()["result"]] == ["country", "kind", "wikidata"]


async def test_the_preview_is_escaped_html_of_the_member(
    client: httpx.AsyncClient, admin_headers: Headers
) -> None:
    city = await builders.city(client, admin_headers, "<Sé> & Co", "PT", wikidata="Q597")
    response = await client.get(f"{RECONCILE}/preview", params={"id": city["id"]})
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("text/html")
    assert "&lt;Sé&gt; &amp; Co" in response.text
    assert "<Sé>" not in response.text
    assert "Q597" in response.text
    missing = await client.get(
        f"{RECONCILE}/preview", params={"id": "00000000-0000-4000-8000-000000000000"}
    )
    assert missing.status_code == 404, missing.text


@pytest.mark.parametrize(
    ("queries", "where"),
    [
        ("{not json", "queries"),
        ("[1, 2]", "queries"),
        (json.dumps({"q0": {"query": ""}}), "q0"),
        (json.dumps({"q0": {"query": "Seoul", "limit": 0}}), "q0"),
        (json.dumps({"q0": {"query": "Seoul", "type": "river"}}), "q0"),
        (json.dumps({"q0": {"query": "Seoul", "properties": [{"pid": "mayor", "v": "x"}]}}), "q0"),
        (
            json.dumps({"q0": {"query": "Seoul", "properties": [{"pid": "country", "v": "ZZ"}]}}),
            "q0",
        ),
        (json.dumps({"q0": {"query": "Seoul", "colour": "red"}}), "q0"),
        (json.dumps({f"q{n}": {"query": "Seoul"} for n in range(51)}), "queries"),
    ],
)
async def test_bad_queries_are_422_naming_the_query(
    client: httpx.AsyncClient, db: Database, queries: str, where: str
) -> None:
    response = await client.post(RECONCILE, data={"queries": queries})
    assert response.status_code == 422, response.text
    assert response.headers["content-type"] == "application/problem+json"
    assert where in {str(part) for part in response.json()["errors"][0]["location"]}


async def test_a_body_that_is_not_a_form_is_415(client: httpx.AsyncClient) -> None:
    response = await client.post(RECONCILE, json={"q0": {"query": "Seoul"}})
    assert response.status_code == 415, response.text
    assert "application/x-www-form-urlencoded" in response.json()["detail"]
    extra = await client.post(RECONCILE, data={"queries": "{}", "extend": "{}"})
    assert extra.status_code == 422, extra.text
