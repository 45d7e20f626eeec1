"""Language-tagged, dated names of cities, organizations and networks (issue 13, point 1)."""

from __future__ import annotations

import unicodedata
from typing import Any

import httpx

from tests.conftest import Database
from tests.registry import builders

Headers = dict[str, str]

SEOUL_NAMES: list[dict[str, Any]] = [
    {"text": "서울특별시", "lang": "ko", "kind": "official"},
    {"text": "ソウル", "lang": "ja", "kind": "common"},
    {"text": "首尔", "lang": "zh-Hans", "kind": "common"},
    {"text": "Séoul", "lang": "fr", "kind": "common"},
]


def _as_read(names: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [{"start_date": None, "end_date": None, **name} for name in names]


async def test_a_city_keeps_its_names_in_their_scripts_and_alt_names_are_derived(
    client: httpx.AsyncClient, admin_headers: Headers
) -> None:
    seoul = await builders.city(client, admin_headers, "Seoul", names=SEOUL_NAMES)
    assert seoul["names"] == _as_read(SEOUL_NAMES)
    assert seoul["alt_names"] == ["서울특별시", "ソウル", "首尔", "Séoul"]
    for path in (f"/v1/cities/{seoul['id']}", "/v1/cities"):
        body = (await client.get(path)).json()
        read = body if "id" in body else body["items"][0]
        assert read["names"] == _as_read(SEOUL_NAMES)
        assert read["alt_names"] == ["서울특별시", "ソウル", "首尔", "Séoul"]


async def test_language_tags_are_validated_and_written_in_their_standard_form(
    client: httpx.AsyncClient, admin_headers: Headers, db: Database
) -> None:
    taipei = await builders.city(
        client,
        admin_headers,
        "Taipei",
        "TW",
        names=[{"text": "臺北市", "lang": "ZH-hant-tw", "kind": "official"}],
    )
    assert taipei["names"][0]["lang"] == "zh-Hant-TW"
    for bad in ("xx", "english", "zh_Hant", "k", "en-US-", "qq-ZZ"):
        response = await client.post(
            "/v1/cities",
            json={"name": "Nowhere", "country_code": "KR", "names": [{"text": "N", "lang": bad}]},
            headers=admin_headers,
        )
        assert response.status_code == 422, bad
        error = response.json()["errors"][0]
        assert error["location"] == ["body", "names", 0, "lang"], bad
        assert "BCP 47" in error["message"]
        assert "Value error" not in error["message"]
    assert await db.count("members") == 1


async def test_a_kind_outside_the_five_and_a_period_ending_before_it_starts_are_422(
    client: httpx.AsyncClient, admin_headers: Headers, db: Database
) -> None:
    for name in (
        {"text": "Bombay", "lang": "en", "kind": "old"},
        {"text": "Bombay", "kind": "former", "start_date": "1995", "end_date": "1990"},
    ):
        response = await client.post(
            "/v1/cities",
            json={"name": "Mumbai", "country_code": "IN", "names": [name]},
            headers=admin_headers,
        )
        assert response.status_code == 422, response.text
    assert await db.count("members") == 0


async def test_nfc_and_nfd_spellings_are_one_name_and_a_name_does_not_repeat(
    client: httpx.AsyncClient, admin_headers: Headers, db: Database
) -> None:
    composed = "Séoul"
    decomposed = unicodedata.normalize("NFD", composed)
    assert composed != decomposed
    response = await client.post(
        "/v1/cities",
        json={
            "name": "Seoul",
            "country_code": "KR",
            "names": [
                {"text": composed, "lang": "fr", "kind": "common"},
                {"text": decomposed, "lang": "FR", "kind": "common"},
            ],
        },
        headers=admin_headers,
    )
    assert response.status_code == 422, response.text
    assert "more than once" in response.json()["errors"][0]["message"]
    assert await db.count("members") == 0
    # The same text in another language, or of another kind, is another name.
    seoul = await builders.city(
        client,
        admin_headers,
        "Seoul",
        names=[
            {"text": decomposed, "lang": "fr"},
            {"text": composed, "lang": "en"},
            {"text": composed, "lang": "fr", "kind": "official"},
        ],
    )
    assert [n["text"] for n in seoul["names"]] == [composed] * 3
    assert seoul["alt_names"] == [composed]
    assert await db.scalar("SELECT count(*) FROM names WHERE text IS NFC NORMALIZED") == 3


async def test_a_former_name_with_its_period_and_a_patch_that_replaces_names(
    client: httpx.AsyncClient, admin_headers: Headers, db: Database
) -> None:
    mumbai = await builders.city(
        client,
        admin_headers,
        "Mumbai",
        "IN",
        names=[
            {"text": "Bombay", "lang": "en", "kind": "former", "end_date": "1995"},
            {"text": "Mumbai", "lang": "en", "kind": "official", "start_date": "1995"},
        ],
    )
    assert mumbai["names"] == [
        {"text": "Bombay", "lang": "en", "kind": "former", "start_date": None, "end_date": "1995"},
        {
            "text": "Mumbai",
            "lang": "en",
            "kind": "official",
            "start_date": "1995",
            "end_date": None,
        },
    ]
    # Another city's names are its own, in its answers and its reads.
    pune = await builders.city(
        client,
        admin_headers,
        "Pune",
        "IN",
        names=[{"text": "Poona", "lang": "en", "kind": "former"}],
    )
    assert [n["text"] for n in pune["names"]] == ["Poona"]
    assert [n["text"] for n in (await client.get(f"/v1/cities/{pune['id']}")).json()["names"]] == [
        "Poona"
    ]
    patched = await client.patch(
        f"/v1/cities/{mumbai['id']}",
        json={"names": [{"text": "मुंबई", "lang": "mr", "kind": "official"}]},
        headers=admin_headers,
    )
    assert patched.status_code == 200, patched.text
    assert [n["text"] for n in patched.json()["names"]] == ["मुंबई"]
    assert patched.json()["alt_names"] == ["मुंबई"]
    both = await client.patch(
        f"/v1/cities/{mumbai['id']}",
        json={"names": [], "alt_names": []},
        headers=admin_headers,
    )
    assert both.status_code == 422
    cleared = await client.patch(
        f"/v1/cities/{mumbai['id']}", json={"names": None}, headers=admin_headers
    )
    assert cleared.status_code == 422
    # The audit entry holds the names before and after.
    after = await db.scalar(
        "SELECT after FROM audit_events WHERE action = 'update' ORDER BY id DESC LIMIT 1"
    )
    assert "मुंबई" in str(after)


async def test_writing_alt_names_still_works_and_becomes_untagged_names(
    client: httpx.AsyncClient, admin_headers: Headers
) -> None:
    seoul = await builders.city(client, admin_headers, "Seoul", alt_names=["서울", "Seoul City"])
    assert seoul["alt_names"] == ["서울", "Seoul City"]
    assert seoul["names"] == _as_read(
        [
            {"text": "서울", "lang": "und", "kind": "common"},
            {"text": "Seoul City", "lang": "und", "kind": "common"},
        ]
    )
    tagged = await client.patch(
        f"/v1/cities/{seoul['id']}",
        json={"names": SEOUL_NAMES},
        headers=admin_headers,
    )
    assert tagged.status_code == 200, tagged.text
    # alt_names written again: a text kept keeps its names, a new one is und, one left out goes.
    patched = await client.patch(
        f"/v1/cities/{seoul['id']}",
        json={"alt_names": ["서울특별시", "Seoul City", "ソウル"]},
        headers=admin_headers,
    )
    assert patched.status_code == 200, patched.text
    body = patched.json()
    assert body["alt_names"] == ["서울특별시", "ソウル", "Seoul City"]
    assert [(n["text"], n["lang"]) for n in body["names"]] == [
        ("서울특별시", "ko"),
        ("ソウル", "ja"),
        ("Seoul City", "und"),
    ]


async def test_organizations_and_networks_have_names_too(
    client: httpx.AsyncClient, admin_headers: Headers
) -> None:
    koica = await builders.organization(
        client,
        admin_headers,
        "Korea International Cooperation Agency",
        names=[
            {"text": "KOICA", "lang": "en", "kind": "acronym"},
            {"text": "한국국제협력단", "lang": "ko", "kind": "official"},
        ],
    )
    assert [n["kind"] for n in koica["names"]] == ["acronym", "official"]
    assert koica["alt_names"] == ["KOICA", "한국국제협력단"]
    metropolis = await builders.network(
        client,
        admin_headers,
        "metropolis",
        names=[
            {"text": "Métropolis", "lang": "fr", "kind": "common"},
            {"text": "Metrópolis", "lang": "es", "kind": "common"},
        ],
    )
    assert [n["lang"] for n in metropolis["names"]] == ["fr", "es"]
    read = (await client.get("/v1/networks/metropolis")).json()
    assert read["names"] == metropolis["names"]
    c40_names = [
        {"text": "C40 Large Cities Climate Leadership Group", "lang": "en", "kind": "former"},
        {"text": "C20", "lang": "en", "kind": "former", "start_date": "2005", "end_date": "2006"},
    ]
    await builders.network(client, admin_headers, "c40", names=c40_names)
    patched = await client.patch(
        "/v1/networks/metropolis", json={"names": []}, headers=admin_headers
    )
    assert patched.status_code == 200, patched.text
    assert patched.json()["names"] == []
    # Metropolis's names went, C40's stay, with their periods.
    c40 = (await client.get("/v1/networks/c40")).json()
    assert c40["names"] == _as_read(c40_names)


async def test_deleting_a_member_deletes_its_names(
    client: httpx.AsyncClient, admin_headers: Headers, db: Database
) -> None:
    seoul = await builders.city(client, admin_headers, "Seoul", names=SEOUL_NAMES)
    assert await db.count("names") == 4
    response = await client.delete(f"/v1/cities/{seoul['id']}", headers=admin_headers)
    assert response.status_code == 204
    assert await db.count("names") == 0
