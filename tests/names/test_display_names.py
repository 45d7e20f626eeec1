"""Display names chosen by language and date; a member's networks on a day (issue 13,
point 2)."""

from __future__ import annotations

from typing import Any

import httpx

from tests.registry import builders

Headers = dict[str, str]


async def _citynet_with_seoul_and_mumbai(
    client: httpx.AsyncClient, headers: Headers
) -> tuple[dict[str, Any], dict[str, Any]]:
    await builders.network(client, headers, "citynet")
    seoul = await builders.city(
        client,
        headers,
        "Seoul",
        names=[
            {"text": "서울특별시", "lang": "ko", "kind": "official"},
            {"text": "서울", "lang": "ko", "kind": "short"},
            {"text": "ソウル", "lang": "ja"},
            {"text": "首尔", "lang": "zh-Hans"},
            {"text": "首爾", "lang": "zh-Hant"},
            {"text": "Séoul", "lang": "fr"},
        ],
    )
    mumbai = await builders.city(
        client,
        headers,
        "Mumbai",
        "IN",
        names=[{"text": "Bombay", "lang": "en", "kind": "former", "end_date": "1995"}],
    )
    for member in (seoul, mumbai):
        await builders.membership(client, headers, member["id"], start_date="1987")
    return seoul, mumbai


async def _member_names(
    client: httpx.AsyncClient, headers: dict[str, str] | None = None, **params: str
) -> list[str]:
    response = await client.get("/v1/networks/citynet/members", params=params, headers=headers)
    assert response.status_code == 200, response.text
    return [row["member"]["name"] for row in response.json()["items"]]


async def test_the_member_list_of_1990_shows_bombay_and_todays_shows_mumbai(
    client: httpx.AsyncClient, admin_headers: Headers
) -> None:
    await _citynet_with_seoul_and_mumbai(client, admin_headers)
    assert await _member_names(client, as_of="1990-06-01") == ["Bombay", "Seoul"]
    assert await _member_names(client, as_of="1995-01-01") == ["Mumbai", "Seoul"]
    assert await _member_names(client) == ["Mumbai", "Seoul"]
    assert await _member_names(client, as_of="1990-06-01", lang="en") == ["Bombay", "Seoul"]
    # The list stays in the order of default names.
    assert await _member_names(client, as_of="1990-06-01", lang="ko") == ["Bombay", "서울특별시"]


async def test_names_fall_back_from_a_specific_tag_to_a_broader_one_then_the_default(
    client: httpx.AsyncClient, admin_headers: Headers
) -> None:
    await _citynet_with_seoul_and_mumbai(client, admin_headers)
    expected = {
        "ko": "서울특별시",  # official before short
        "ko-KR": "서울특별시",
        "ja": "ソウル",
        "ja-JP": "ソウル",
        "zh-Hans": "首尔",
        "zh-Hant-TW": "首爾",  # zh-Hant-TW -> zh-Hant
        "zh-TW": "首爾",  # the script Taiwan writes
        "zh": "首尔",  # zh takes a more specific tag, in order
        "fr-CA": "Séoul",
        "de": "Seoul",  # no German name: the default
        "en": "Seoul",
    }
    for lang, name in expected.items():
        assert (await _member_names(client, lang=lang))[1] == name, lang


async def test_accept_language_is_honoured_without_lang_and_answers_say_so(
    client: httpx.AsyncClient, admin_headers: Headers
) -> None:
    await _citynet_with_seoul_and_mumbai(client, admin_headers)
    # The cache and the direct read must not hand one language's answer to another.
    for _ in range(2):
        korean = await client.get(
            "/v1/networks/citynet/members", headers={"Accept-Language": "ko-KR,ko;q=0.9,en;q=0.5"}
        )
        assert [r["member"]["name"] for r in korean.json()["items"]] == ["Mumbai", "서울특별시"]
        assert korean.headers["content-language"] == "ko-KR"
        assert "Accept-Language" in korean.headers["vary"]
        japanese = await client.get(
            "/v1/networks/citynet/members", headers={"Accept-Language": "de, ja;q=0.8"}
        )
        assert [r["member"]["name"] for r in japanese.json()["items"]] == ["Mumbai", "ソウル"]
        assert japanese.headers["content-language"] == "de"
        plain = await client.get("/v1/networks/citynet/members")
        assert [r["member"]["name"] for r in plain.json()["items"]] == ["Mumbai", "Seoul"]
        assert "content-language" not in plain.headers
        assert "Accept-Language" in plain.headers["vary"]
        assert len({korean.headers["etag"], japanese.headers["etag"], plain.headers["etag"]}) == 3
    # lang wins over the header.
    assert await _member_names(client, {"Accept-Language": "ko"}, lang="fr") == [
        "Mumbai",
        "Séoul",
    ]
    # A header of nonsense is no language; a lang of nonsense is a 422.
    assert await _member_names(client, {"Accept-Language": "@@, q=x"}) == ["Mumbai", "Seoul"]
    refused = await client.get("/v1/networks/citynet/members", params={"lang": "xx"})
    assert refused.status_code == 422
    assert refused.json()["errors"][0]["location"] == ["query", "lang"]
    assert "BCP 47" in refused.json()["errors"][0]["message"]


async def test_role_holders_and_a_network_are_named_in_the_language_asked_for(
    client: httpx.AsyncClient, admin_headers: Headers
) -> None:
    seoul, _ = await _citynet_with_seoul_and_mumbai(client, admin_headers)
    await builders.role(client, admin_headers, "chair")
    await builders.tenure(client, admin_headers, seoul["id"], start_date="2013-11")
    holders = await client.get("/v1/networks/citynet/roles/chair/holders", params={"lang": "ja"})
    assert holders.status_code == 200, holders.text
    assert holders.json()["items"][0]["member"]["name"] == "ソウル"
    assert holders.headers["content-language"] == "ja"
    patched = await client.patch(
        "/v1/networks/citynet",
        json={"names": [{"text": "시티넷", "lang": "ko"}]},
        headers=admin_headers,
    )
    assert patched.status_code == 200, patched.text
    korean = await client.get("/v1/networks/citynet", headers={"Accept-Language": "ko"})
    assert korean.json()["name"] == "시티넷"
    assert korean.headers["content-language"] == "ko"
    listed = await client.get("/v1/networks", params={"lang": "ko"})
    assert listed.json()["items"][0]["name"] == "시티넷"
    assert (await client.get("/v1/networks/citynet")).json()["name"] == "CITYNET"
    # No French name: the default one, in a read and a list alike.
    french = await client.get("/v1/networks/citynet", params={"lang": "fr"})
    assert french.json()["name"] == "CITYNET"
    listed = await client.get("/v1/networks", params={"lang": "fr"})
    assert [n["name"] for n in listed.json()["items"]] == ["CITYNET"]


async def test_the_stats_name_their_role_holders_in_the_language_and_on_the_day_asked(
    client: httpx.AsyncClient, admin_headers: Headers
) -> None:
    seoul, mumbai = await _citynet_with_seoul_and_mumbai(client, admin_headers)
    await builders.role(client, admin_headers, "chair", max_holders=2)
    await builders.tenure(client, admin_headers, seoul["id"], start_date="1988")
    await builders.tenure(client, admin_headers, mumbai["id"], start_date="1988")

    async def holders(**params: str) -> tuple[list[str], httpx.Response]:
        response = await client.get("/v1/networks/citynet/stats", params=params)
        assert response.status_code == 200, response.text
        return [m["name"] for m in response.json()["role_holders"]["chair"]], response

    names, response = await holders(lang="ja")
    assert names == ["Mumbai", "ソウル"]
    assert response.headers["content-language"] == "ja"
    assert "Accept-Language" in response.headers["vary"]
    assert (await holders(as_of="1990-06-01"))[0] == ["Bombay", "Seoul"]
    assert (await holders(as_of="1990-06-01", lang="ko"))[0] == ["Bombay", "서울특별시"]
    names, response = await holders()
    assert names == ["Mumbai", "Seoul"]
    assert "content-language" not in response.headers
    korean = await client.get("/v1/networks/citynet/stats", headers={"Accept-Language": "ko"})
    assert [m["name"] for m in korean.json()["role_holders"]["chair"]] == ["Mumbai", "서울특별시"]


async def test_a_members_networks_as_of_a_day_are_those_in_force_then(
    client: httpx.AsyncClient, admin_headers: Headers
) -> None:
    _, mumbai = await _citynet_with_seoul_and_mumbai(client, admin_headers)
    await builders.network(client, admin_headers, "metropolis")
    await builders.membership(
        client, admin_headers, mumbai["id"], network="metropolis", start_date="2000"
    )
    path = f"/v1/members/{mumbai['id']}/memberships"
    everything = (await client.get(path)).json()
    assert [m["network"] for m in everything["memberships"]] == ["citynet", "metropolis"]
    assert everything["member"]["name"] == "Mumbai"
    then = await client.get(path, params={"as_of": "1990-01-01"})
    assert then.status_code == 200, then.text
    assert [m["network"] for m in then.json()["memberships"]] == ["citynet"]
    assert then.json()["member"]["name"] == "Bombay"
    assert then.json()["memberships"][0]["member"]["name"] == "Bombay"
    before = await client.get(path, params={"as_of": "1980-01-01"})
    assert before.json()["memberships"] == []
    bad = await client.get(path, params={"as_of": "1990-02-30"})
    assert bad.status_code == 422


async def test_memberships_and_tenures_name_their_member_in_the_language_asked_for(
    client: httpx.AsyncClient, admin_headers: Headers
) -> None:
    seoul, _ = await _citynet_with_seoul_and_mumbai(client, admin_headers)
    await builders.role(client, admin_headers, "chair")
    tenure = await builders.tenure(client, admin_headers, seoul["id"], start_date="2013-11")
    memberships = await client.get(
        "/v1/networks/citynet/memberships", params={"member_id": seoul["id"], "lang": "fr"}
    )
    assert memberships.status_code == 200, memberships.text
    (membership,) = memberships.json()["items"]
    assert membership["member"]["name"] == "Séoul"
    assert memberships.headers["content-language"] == "fr"
    one = await client.get(
        f"/v1/networks/citynet/memberships/{membership['id']}",
        headers={"Accept-Language": "zh-TW"},
    )
    assert one.json()["member"]["name"] == "首爾"
    plain = await client.get(f"/v1/networks/citynet/memberships/{membership['id']}")
    assert plain.json()["member"]["name"] == "Seoul"
    tenures = await client.get("/v1/networks/citynet/tenures", params={"lang": "ja"})
    assert [t["member"]["name"] for t in tenures.json()["items"]] == ["ソウル"]
    # A member with no name in the language asked for keeps its default one.
    listed = await client.get("/v1/networks/citynet/memberships", params={"lang": "fr"})
    assert sorted(m["member"]["name"] for m in listed.json()["items"]) == ["Mumbai", "Séoul"]
    held = await client.get(f"/v1/networks/citynet/tenures/{tenure['id']}", params={"lang": "ko"})
    assert held.json()["member"]["name"] == "서울특별시"
