"""Reading the registry on a date: member lists, holders, stats, histories, statement counts."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
from fastapi import FastAPI
from sqlalchemy import event

from tests.registry import builders

Headers = dict[str, str]
MEMBERS = "/v1/networks/citynet/members"


async def rows(client: httpx.AsyncClient, path: str = MEMBERS, **params: Any) -> list[Any]:
    response = await client.get(path, params={"limit": 1000, **params})
    assert response.status_code == 200, response.text
    items: list[Any] = response.json()["items"]
    return items


@contextmanager
def counting_statements(app: FastAPI) -> Iterator[list[str]]:
    """The SQL statements the app's engine runs inside the block."""
    statements: list[str] = []

    def count(
        conn: Any, cursor: Any, statement: str, parameters: Any, context: Any, many: bool
    ) -> None:
        statements.append(statement)

    engine = app.state.engine.sync_engine
    event.listen(engine, "before_cursor_execute", count)
    try:
        yield statements
    finally:
        event.remove(engine, "before_cursor_execute", count)


async def small_citynet(client: httpx.AsyncClient, headers: Headers) -> dict[str, dict[str, Any]]:
    """CITYNET on 2014-01-01: Seoul (KR, full, chair, executive), Busan (KR, associate),
    Yokohama (JP, full, executive), KOICA (KR organization, associate); Colombo (LK, full)
    joined in 2015 and Bangkok (TH, full) left at the end of 2012."""
    await builders.network(client, headers)
    members = {
        "Seoul": await builders.city(client, headers, "Seoul", "KR", alt_names=["서울"]),
        "Busan": await builders.city(client, headers, "Busan", "KR"),
        "Yokohama": await builders.city(client, headers, "Yokohama", "JP"),
        "KOICA": await builders.organization(
            client, headers, "Korea International Cooperation Agency", country_code="KR"
        ),
        "Colombo": await builders.city(client, headers, "Colombo", "LK"),
        "Bangkok": await builders.city(client, headers, "Bangkok", "TH"),
    }
    for name, category, start, end in [
        ("Seoul", "full", "1987", None),
        ("Busan", "associate", "2000", None),
        ("Yokohama", "full", "1987", None),
        ("KOICA", "associate", "2005-06", None),
        ("Colombo", "full", "2015", None),
        ("Bangkok", "full", "1990", "2013-01-01"),
    ]:
        await builders.membership(
            client, headers, members[name]["id"], category=category, start_date=start, end_date=end
        )
    await builders.role(client, headers, "chair", eligible_categories=["full"])
    await builders.role(client, headers, "executive", max_holders=None)
    await builders.tenure(client, headers, members["Seoul"]["id"], start_date="2013-11-05")
    for name in ("Seoul", "Yokohama"):
        await builders.tenure(
            client, headers, members[name]["id"], role="executive", start_date="2012"
        )
    return members


KOICA = "Korea International Cooperation Agency"


async def test_member_list_on_a_date_lists_memberships_in_force_by_name(
    client: httpx.AsyncClient, admin_headers: Headers
) -> None:
    members = await small_citynet(client, admin_headers)
    listed = await rows(client, as_of="2014-01-01")
    assert [r["member"]["name"] for r in listed] == ["Busan", KOICA, "Seoul", "Yokohama"]
    seoul = next(r for r in listed if r["member"]["name"] == "Seoul")
    assert seoul["member"] == {
        "id": members["Seoul"]["id"],
        "kind": "city",
        "name": "Seoul",
        "country_code": "KR",
    }
    assert (seoul["category"], seoul["start_date"], seoul["end_date"]) == ("full", "1987", None)
    assert [(role["role"], role["start_date"]) for role in seoul["roles"]] == [
        ("chair", "2013-11-05"),
        ("executive", "2012"),
    ]
    assert set(seoul) >= {"membership_id", "member", "category", "start_date", "end_date", "roles"}
    assert await builders.member_names(client, as_of="2012-06-01") == [
        "Bangkok",
        "Busan",
        KOICA,
        "Seoul",
        "Yokohama",
    ]
    assert await builders.member_names(client, as_of="2016-01-01") == [
        "Busan",
        "Colombo",
        KOICA,
        "Seoul",
        "Yokohama",
    ]


async def test_member_list_filters_by_category_country_kind_role_and_name(
    client: httpx.AsyncClient, admin_headers: Headers
) -> None:
    await small_citynet(client, admin_headers)
    on = {"as_of": "2014-01-01"}
    assert await builders.member_names(client, category="full", **on) == ["Seoul", "Yokohama"]
    assert await builders.member_names(client, category="associate", **on) == ["Busan", KOICA]
    assert await builders.member_names(client, country="kr", **on) == ["Busan", KOICA, "Seoul"]
    assert await builders.member_names(client, kind="organization", **on) == [KOICA]
    assert await builders.member_names(client, kind="city", country="JP", **on) == ["Yokohama"]
    assert await builders.member_names(client, role="chair", **on) == ["Seoul"]
    assert await builders.member_names(client, role="executive", **on) == ["Seoul", "Yokohama"]
    assert await builders.member_names(client, role="chair", as_of="2013-11-04") == []
    assert await builders.member_names(client, q="yokohma", **on) == ["Yokohama"]
    assert await builders.member_names(client, q="서울", **on) == ["Seoul"]
    assert await builders.member_names(client, q="bangkok", **on) == []
    assert await builders.member_names(client, q="bangkok", as_of="2012-01-01") == ["Bangkok"]
    bad_kind = await client.get(MEMBERS, params={"kind": "village"})
    assert bad_kind.status_code == 422


async def test_member_list_orders_equal_names_by_id_and_pages_without_gaps(
    client: httpx.AsyncClient, admin_headers: Headers
) -> None:
    await builders.network(client, admin_headers)
    names = ["Springfield"] * 4 + ["Albany", "Zurich", "Madrid"]
    countries = ["US", "AU", "NZ", "ZA", "US", "CH", "ES"]
    for name, country in zip(names, countries, strict=True):
        city = await builders.city(client, admin_headers, name, country)
        await builders.membership(client, admin_headers, city["id"], start_date="2000")

    everything = await rows(client)
    keys = [(r["member"]["name"], uuid.UUID(r["member"]["id"])) for r in everything]
    assert keys == sorted(keys)
    assert [name for name, _ in keys] == ["Albany", "Madrid"] + ["Springfield"] * 4 + ["Zurich"]

    walked: list[str] = []
    params: dict[str, Any] = {"limit": 2}
    pages = 0
    while True:
        response = await client.get(MEMBERS, params=params)
        assert response.status_code == 200, response.text
        page = response.json()
        walked += [r["membership_id"] for r in page["items"]]
        pages += 1
        if page["next_cursor"] is None:
            assert "link" not in response.headers
            break
        assert 'rel="next"' in response.headers["link"]
        params["cursor"] = page["next_cursor"]
    assert pages == 4
    assert walked == [r["membership_id"] for r in everything]


async def test_a_cursor_from_one_date_is_refused_on_another(
    client: httpx.AsyncClient, admin_headers: Headers
) -> None:
    await small_citynet(client, admin_headers)
    first = await client.get(MEMBERS, params={"limit": 1, "as_of": "2014-01-01"})
    cursor = first.json()["next_cursor"]
    assert cursor is not None
    other = await client.get(MEMBERS, params={"limit": 1, "as_of": "2012-01-01", "cursor": cursor})
    assert other.status_code == 400, other.text


async def test_a_membership_ending_on_the_date_is_not_listed_that_day(
    client: httpx.AsyncClient, admin_headers: Headers
) -> None:
    await builders.network(client, admin_headers)
    left = await builders.city(client, admin_headers, "Left Today", "KR")
    stays = await builders.city(client, admin_headers, "Leaves Tomorrow", "KR")
    await builders.membership(
        client, admin_headers, left["id"], start_date="2000", end_date="2013-11-05"
    )
    await builders.membership(
        client, admin_headers, stays["id"], start_date="2000", end_date="2013-11-06"
    )
    assert await builders.member_names(client, as_of="2013-11-04") == [
        "Leaves Tomorrow",
        "Left Today",
    ]
    assert await builders.member_names(client, as_of="2013-11-05") == ["Leaves Tomorrow"]
    assert await builders.member_names(client, as_of="2013-11-06") == []


async def test_member_list_defaults_to_today_utc(
    client: httpx.AsyncClient, admin_headers: Headers
) -> None:
    today = datetime.now(UTC).date()
    await builders.network(client, admin_headers)
    for name, start, end in [
        ("Joined Yesterday", today - timedelta(days=1), None),
        ("Joins Tomorrow", today + timedelta(days=1), None),
        ("Left Today", today - timedelta(days=30), today),
        ("Leaves Tomorrow", today - timedelta(days=30), today + timedelta(days=1)),
    ]:
        city = await builders.city(client, admin_headers, name, "KR")
        await builders.membership(
            client,
            admin_headers,
            city["id"],
            start_date=start.isoformat(),
            end_date=end.isoformat() if end else None,
        )
    assert await builders.member_names(client) == ["Joined Yesterday", "Leaves Tomorrow"]
    stats = (await client.get("/v1/networks/citynet/stats")).json()
    assert stats["as_of"] == today.isoformat()
    assert stats["members_total"] == 2


async def test_member_list_of_an_unknown_network_is_404(client: httpx.AsyncClient) -> None:
    response = await client.get("/v1/networks/nowhere/members")
    assert response.status_code == 404


async def test_citynet_2013_figures(client: httpx.AsyncClient, admin_headers: Headers) -> None:
    await builders.network(client, admin_headers)
    await builders.members_of(
        client,
        admin_headers,
        [f"Full Member City {n:03d}" for n in range(85)],
        start_date="1987",
    )
    await builders.members_of(
        client,
        admin_headers,
        [f"Associate Organization {n:02d}" for n in range(46)],
        kind="organization",
        category="associate",
        start_date="2000",
    )
    response = await client.get("/v1/networks/citynet/stats", params={"as_of": "2013-12-01"})
    assert response.status_code == 200, response.text
    stats = response.json()
    assert stats["network"] == "citynet"
    assert stats["as_of"] == "2013-12-01"
    assert stats["members_total"] == 131
    assert stats["by_category"] == {"full": 85, "associate": 46}
    assert stats["by_kind"] == {"city": 85, "organization": 46}
    assert stats["countries"] == 1
    assert len(await rows(client, as_of="2013-12-01")) == 131
    before_founding = (
        await client.get("/v1/networks/citynet/stats", params={"as_of": "1986-01-01"})
    ).json()
    assert before_founding["members_total"] == 0
    assert before_founding["by_category"] == {"full": 0, "associate": 0}


async def test_holders_and_stats_answer_for_the_date_asked(
    client: httpx.AsyncClient, admin_headers: Headers
) -> None:
    members = await small_citynet(client, admin_headers)
    assert await builders.holder_names(client, "2013-11-04") == []
    assert await builders.holder_names(client, "2013-11-05") == ["Seoul"]
    assert await builders.holder_names(client, "2012-06-01", role="executive") == []
    assert await builders.holder_names(client, "2013-01-01", role="executive") == [
        "Seoul",
        "Yokohama",
    ]
    holders = (
        await client.get("/v1/networks/citynet/roles/chair/holders", params={"as_of": "2014-01-01"})
    ).json()["items"]
    assert set(holders[0]) >= {"tenure_id", "member", "start_date", "end_date", "representative"}

    stats = (await client.get("/v1/networks/citynet/stats", params={"as_of": "2014-01-01"})).json()
    assert stats["members_total"] == 4
    assert stats["by_category"] == {"full": 2, "associate": 2}
    assert stats["by_kind"] == {"city": 3, "organization": 1}
    assert stats["countries"] == 2
    assert stats["role_holders"]["chair"] == [
        {"id": members["Seoul"]["id"], "kind": "city", "name": "Seoul", "country_code": "KR"}
    ]
    assert sorted(m["name"] for m in stats["role_holders"]["executive"]) == ["Seoul", "Yokohama"]

    earlier = (
        await client.get("/v1/networks/citynet/stats", params={"as_of": "2012-06-01"})
    ).json()
    assert earlier["members_total"] == 5
    assert earlier["countries"] == 3
    assert earlier["role_holders"]["chair"] == []
    assert earlier["role_holders"]["executive"] == []


async def test_a_members_history_lists_all_its_networks_with_tenures(
    client: httpx.AsyncClient, admin_headers: Headers
) -> None:
    members = await small_citynet(client, admin_headers)
    seoul = members["Seoul"]["id"]
    await builders.network(client, admin_headers, "metropolis")
    await builders.membership(client, admin_headers, seoul, network="metropolis", start_date="1985")
    await builders.role(client, admin_headers, "president", network="metropolis")
    await builders.tenure(
        client,
        admin_headers,
        seoul,
        network="metropolis",
        role="president",
        start_date="2014",
        end_date="2017",
    )

    response = await client.get(f"/v1/members/{seoul}/memberships")
    assert response.status_code == 200, response.text
    history = response.json()
    assert history["member"]["name"] == "Seoul"
    assert sorted((m["network"], m["category"]) for m in history["memberships"]) == [
        ("citynet", "full"),
        ("metropolis", "full"),
    ]
    assert sorted((t["network"], t["role"]) for t in history["tenures"]) == [
        ("citynet", "chair"),
        ("citynet", "executive"),
        ("metropolis", "president"),
    ]
    koica = (await client.get(f"/v1/members/{members['KOICA']['id']}/memberships")).json()
    assert [m["category"] for m in koica["memberships"]] == ["associate"]
    assert koica["tenures"] == []
    missing = await client.get(f"/v1/members/{uuid.uuid4()}/memberships")
    assert missing.status_code == 404


async def test_member_list_answers_304_to_its_etag_until_it_changes(
    client: httpx.AsyncClient, admin_headers: Headers
) -> None:
    members = await small_citynet(client, admin_headers)
    params = {"as_of": "2014-01-01"}
    first = await client.get(MEMBERS, params=params)
    etag = first.headers["etag"]
    assert "max-age" in first.headers["cache-control"]

    same = await client.get(MEMBERS, params=params, headers={"If-None-Match": etag})
    assert same.status_code == 304
    assert same.content == b""
    assert same.headers["etag"] == etag

    await builders.tenure(
        client, admin_headers, members["Busan"]["id"], role="executive", start_date="2013"
    )
    changed = await client.get(MEMBERS, params=params, headers={"If-None-Match": etag})
    assert changed.status_code == 200
    assert changed.headers["etag"] != etag


async def big_citynet(client: httpx.AsyncClient, headers: Headers) -> None:
    """CITYNET with 105 members, a chair and 30 executive cities."""
    await builders.network(client, headers)
    created = await builders.members_of(
        client, headers, [f"City {n:03d}" for n in range(105)], start_date="2000"
    )
    await builders.role(client, headers, "chair")
    await builders.role(client, headers, "executive", max_holders=None)
    await builders.tenure(client, headers, created[0]["id"], start_date="2010")
    await builders.gather_in_batches(
        [
            builders.tenure(client, headers, city["id"], role="executive", start_date="2010")
            for city in created[:30]
        ]
    )


async def statements_for(app: FastAPI, client: httpx.AsyncClient, path: str, **params: Any) -> int:
    with counting_statements(app) as statements:
        response = await client.get(path, params=params)
    assert response.status_code == 200, response.text
    return len(statements)


async def test_reads_of_a_big_network_run_a_fixed_number_of_statements(
    app: FastAPI, client: httpx.AsyncClient, admin_headers: Headers
) -> None:
    """No N+1: a page of 100 rows costs the statements a page of 5 does, and the stats of
    a 105-member network cost what a 1-member network's do."""
    await big_citynet(client, admin_headers)
    await builders.network(client, admin_headers, "tiny")
    lonely = await builders.city(client, admin_headers, "Lonely", "KR")
    await builders.membership(client, admin_headers, lonely["id"], network="tiny")
    await builders.role(client, admin_headers, "chair", network="tiny")
    on = {"as_of": "2014-01-01"}
    assert len(await rows(client, **on)) == 105
    assert len(await builders.holder_names(client, "2014-01-01", role="executive")) == 30

    members_5 = await statements_for(app, client, MEMBERS, limit=5, **on)
    members_100 = await statements_for(app, client, MEMBERS, limit=100, **on)
    assert members_5 == members_100 <= 3

    search_5 = await statements_for(app, client, MEMBERS, limit=5, q="city", **on)
    search_100 = await statements_for(app, client, MEMBERS, limit=100, q="city", **on)
    assert search_5 == search_100 <= 4

    holders = "/v1/networks/citynet/roles/executive/holders"
    holders_1 = await statements_for(app, client, holders, limit=1, **on)
    holders_100 = await statements_for(app, client, holders, limit=100, **on)
    assert holders_1 == holders_100 <= 4

    big = await statements_for(app, client, "/v1/networks/citynet/stats", **on)
    tiny = await statements_for(app, client, "/v1/networks/tiny/stats", **on)
    assert big == tiny <= 3
    stats = (await client.get("/v1/networks/citynet/stats", params=on)).json()
    assert stats["members_total"] == 105
    assert len(stats["role_holders"]["executive"]) == 30
    assert len(stats["role_holders"]["chair"]) == 1


async def test_as_of_must_be_a_plain_calendar_day(
    client: httpx.AsyncClient, admin_headers: dict[str, str]
) -> None:
    await builders.network(client, admin_headers)
    for path in ("/v1/networks/citynet/members", "/v1/export", "/v1/networks/citynet/stats"):
        for bad in ("2014-01-01T00:00", "0", "1388534400", "2023-02-30", "2014-1-1"):
            response = await client.get(path, params={"as_of": bad})
            assert response.status_code == 422, (path, bad, response.text)
            assert response.headers["content-type"] == "application/problem+json"
        assert (await client.get(path, params={"as_of": "2024-02-29"})).status_code == 200


async def test_stats_follow_a_member_that_moves_country(
    client: httpx.AsyncClient, admin_headers: Headers
) -> None:
    """The stats count kinds and countries from the memberships, which take them from
    their members: a city's new country shows in every network it belongs to."""
    await builders.network(client, admin_headers)
    await builders.network(client, admin_headers, slug="metropolis")
    seoul = await builders.city(client, admin_headers, "Seoul")
    busan = await builders.city(client, admin_headers, "Busan")
    for member in (seoul, busan):
        for network in ("citynet", "metropolis"):
            await builders.membership(client, admin_headers, member["id"], network=network)

    async def countries(network: str) -> int:
        stats = (await client.get(f"/v1/networks/{network}/stats")).json()
        assert stats["by_kind"] == {"city": 2, "organization": 0}
        return int(stats["countries"])

    assert (await countries("citynet"), await countries("metropolis")) == (1, 1)
    path = f"/v1/cities/{busan['id']}"
    etag = (await client.get(path)).headers["etag"]
    moved = await client.patch(
        path, json={"country_code": "JP"}, headers={**admin_headers, "If-Match": etag}
    )
    assert moved.status_code == 200, moved.text
    assert (await countries("citynet"), await countries("metropolis")) == (2, 2)
