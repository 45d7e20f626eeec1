"""Search in every script: any name in any language, accents and case forgiven, typos
where the script allows, ranked, from the trigram index (issue 13, point 3)."""

from __future__ import annotations

import unicodedata

import httpx

from netregistry.memberships import repository as memberships
from tests.kit.test_read_plans import AS_OF, _indexes, _plan
from tests.registry import builders

Headers = dict[str, str]


async def _seed(client: httpx.AsyncClient, headers: Headers) -> dict[str, str]:
    await builders.network(client, headers)
    ids = {}
    for name, country, names in [
        (
            "Seoul",
            "KR",
            [
                {"text": "서울특별시", "lang": "ko", "kind": "official"},
                {"text": "ソウル", "lang": "ja"},
                {"text": "首尔", "lang": "zh-Hans"},
            ],
        ),
        ("São Paulo", "BR", [{"text": "Sampa", "lang": "pt", "kind": "short"}]),
        ("Busan", "KR", [{"text": "부산광역시", "lang": "ko", "kind": "official"}]),
        ("Bangkok", "TH", [{"text": "กรุงเทพมหานคร", "lang": "th", "kind": "official"}]),
        ("Seosan", "KR", [{"text": "서산시", "lang": "ko", "kind": "official"}]),
    ]:
        city = await builders.city(client, headers, name, country, names=names)
        await builders.membership(client, headers, city["id"], start_date="1990")
        ids[name] = city["id"]
    return ids


async def _found(client: httpx.AsyncClient, path: str, q: str) -> list[str]:
    response = await client.get(path, params={"q": q})
    assert response.status_code == 200, response.text
    items = response.json()["items"]
    return [item["member"]["name"] if "member" in item else item["name"] for item in items]


async def test_any_name_in_any_script_finds_the_city(
    client: httpx.AsyncClient, admin_headers: Headers
) -> None:
    await _seed(client, admin_headers)
    # The register ranks by similarity; a member list keeps its name order.
    for path in ("/v1/cities", "/v1/networks/citynet/members"):
        for q in ("서울", "서울특별시", "ソウル", "首尔", "seoul", "SEOUL"):
            found = await _found(client, path, q)
            assert "Seoul" in found, (path, q)
            assert path != "/v1/cities" or found[0] == "Seoul", q
        for q in ("sao paolo", "SAO PAULO", "são paulo", "Sampa"):
            assert (await _found(client, path, q)) == ["São Paulo"], (path, q)
        assert (await _found(client, path, "부산")) == ["Busan"]
        assert (await _found(client, path, "กรุงเทพ")) == ["Bangkok"]
        assert (await _found(client, path, "東京")) == []


async def test_a_decomposed_query_finds_a_composed_name_and_ranks_the_best_first(
    client: httpx.AsyncClient, admin_headers: Headers
) -> None:
    await _seed(client, admin_headers)
    decomposed = unicodedata.normalize("NFD", "São Paulo")
    assert (await _found(client, "/v1/cities", decomposed))[:1] == ["São Paulo"]
    # 서울 is closer to 서울특별시 than to 서산시: Seoul ranks first.
    ranked = await _found(client, "/v1/cities", "서울")
    assert ranked[0] == "Seoul"


async def test_a_name_search_reads_the_trigram_index_of_every_name(
    client: httpx.AsyncClient, admin_headers: Headers, database_url: str
) -> None:
    await _seed(client, admin_headers)
    # (The register's search reads it too, but on five cities PostgreSQL rightly reads
    # them all: `bench/names.py` checks that plan at 55,000 members.)
    for q in ("ソウル", "서울", "sao paolo"):
        plan = await _plan(
            database_url,
            memberships._members_on(
                q=True, country=False, kind=False, role=False, category=False, after=False
            ),
            {"page_limit": 100, "page_fetch": 101, "slug": "citynet", "as_of": AS_OF, "q": q},
        )
        assert "ix_members_search_text" in _indexes(plan, "members"), q
