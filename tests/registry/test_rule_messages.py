"""The 409s and 422s of the registry's rules as a secretariat officer reads them: the day
that breaks the rule, the holders in order, the period in words, and only the tenures
of the network the request is about."""

from __future__ import annotations

import re
from typing import Any

import httpx
from fastapi import FastAPI
from sqlalchemy import text

from tests.conftest import Database
from tests.registry import builders

Headers = dict[str, str]
TENURES = "/v1/networks/citynet/tenures"
MEMBERSHIPS = "/v1/networks/citynet/memberships"
NETWORK = "/v1/networks/citynet"


async def member_cities(
    client: httpx.AsyncClient, headers: Headers, *names: str, start_date: str | None = "2000"
) -> list[dict[str, Any]]:
    """CITYNET, and full member cities of it from ``start_date``."""
    await builders.network(client, headers)
    cities = []
    for name in names:
        city = await builders.city(client, headers, name, "KR")
        await builders.membership(client, headers, city["id"], start_date=start_date)
        cities.append(city)
    return cities


async def refused(
    response_of: Any, status: int = 409
) -> str:  # the detail of a refused write, after checking its status
    response: httpx.Response = await response_of
    assert response.status_code == status, response.text
    detail: str = response.json()["detail"]
    return detail


def new_tenure(client: httpx.AsyncClient, headers: Headers, member_id: str, **body: Any) -> Any:
    body.setdefault("role", "chair")
    return client.post(TENURES, json={"member_id": member_id, **body}, headers=headers)


# --- holder limits -------------------------------------------------------------------


async def test_the_capacity_409_names_the_earliest_crowded_day_of_several(
    client: httpx.AsyncClient, admin_headers: Headers
) -> None:
    cities = await member_cities(
        client, admin_headers, "Seoul", "Busan", "Incheon", "Daegu", "Gwangju", "Ulsan"
    )
    await builders.role(client, admin_headers, "chair", max_holders=1)
    # Five one-year chairs, entered latest first; a sixth city claims the whole span.
    terms = {}
    for year, city in zip(range(2018, 2013, -1), cities[:5], strict=True):
        terms[year] = await builders.tenure(
            client, admin_headers, city["id"], start_date=f"{year}-03-01", end_date=f"{year + 1}"
        )
    detail = await refused(new_tenure(client, admin_headers, cities[5]["id"], start_date="2012"))
    # Gwangju, the last entered, chairs from 2014-03-01: the first day with two chairs.
    assert detail == (
        "The role 'chair' has at most 1 holder; it would have 2 on 2014-03-01: already "
        f"held by Gwangju (tenure {terms[2014]['id']})."
    )


async def test_already_held_by_names_the_holders_by_name_and_never_the_refused_tenure(
    client: httpx.AsyncClient, admin_headers: Headers, db: Database
) -> None:
    seoul, busan, incheon = await member_cities(client, admin_headers, "Seoul", "Busan", "Incheon")
    await builders.role(client, admin_headers, "vice-chair", max_holders=2)
    first = await builders.tenure(
        client, admin_headers, seoul["id"], role="vice-chair", start_date="2014-01-01"
    )
    second = await builders.tenure(
        client, admin_headers, busan["id"], role="vice-chair", start_date="2015-01-01"
    )
    detail = await refused(
        new_tenure(client, admin_headers, incheon["id"], role="vice-chair", start_date="2016-05-01")
    )
    assert detail == (
        "The role 'vice-chair' has at most 2 holders; it would have 3 on 2016-05-01: already "
        f"held by Busan (tenure {second['id']}), Seoul (tenure {first['id']})."
    )
    assert await db.count("tenures") == 2


async def test_holders_of_one_name_are_listed_in_the_order_of_their_tenure_ids(
    client: httpx.AsyncClient, admin_headers: Headers
) -> None:
    await builders.network(client, admin_headers)
    await builders.role(client, admin_headers, "board", max_holders=5)
    terms = []
    for country in ("CR", "US", "PH", "MX", "CO"):  # five cities called San José
        city = await builders.city(client, admin_headers, "San José", country)
        await builders.membership(client, admin_headers, city["id"], start_date="2000")
        terms.append(
            await builders.tenure(
                client, admin_headers, city["id"], role="board", start_date="2015-01-01"
            )
        )
    late = await builders.city(client, admin_headers, "Seoul", "KR")
    await builders.membership(client, admin_headers, late["id"], start_date="2000")
    detail = await refused(
        new_tenure(client, admin_headers, late["id"], role="board", start_date="2016-01-01")
    )
    # The ids are random: entered in one order, the holders are named in another, which
    # the message must give the same way every time.
    held_by = ", ".join(
        f"San José (tenure {term_id})" for term_id in sorted(t["id"] for t in terms)
    )
    assert detail == (
        "The role 'board' has at most 5 holders; it would have 6 on 2016-01-01: already "
        f"held by {held_by}."
    )


async def test_a_moved_tenure_that_crowds_the_role_is_not_named_among_the_holders(
    client: httpx.AsyncClient, admin_headers: Headers
) -> None:
    seoul, busan = await member_cities(client, admin_headers, "Seoul", "Busan")
    await builders.role(client, admin_headers, "chair", max_holders=1)
    seoul_term = await builders.tenure(
        client, admin_headers, seoul["id"], start_date="2010", end_date="2014"
    )
    busan_term = await builders.tenure(client, admin_headers, busan["id"], start_date="2014")
    detail = await refused(
        client.patch(
            f"{TENURES}/{seoul_term['id']}", json={"end_date": "2016"}, headers=admin_headers
        )
    )
    assert detail == (
        "The role 'chair' has at most 1 holder; it would have 2 on 2014-12-31 (the last day "
        'of Busan\'s start_date "2014": a start given as a year counts from its last day): '
        f"already held by Busan (tenure {busan_term['id']})."
    )


async def test_lowering_max_holders_names_the_first_crowded_day_and_every_holder(
    client: httpx.AsyncClient, admin_headers: Headers
) -> None:
    seoul, busan, incheon = await member_cities(client, admin_headers, "Seoul", "Busan", "Incheon")
    await builders.role(client, admin_headers, "board", max_holders=3)
    terms = [
        await builders.tenure(client, admin_headers, city["id"], role="board", start_date=start)
        for city, start in ((seoul, "2016-01-01"), (busan, "2015-01-01"), (incheon, "2019-01-01"))
    ]
    detail = await refused(
        client.patch(
            "/v1/networks/citynet/roles/board", json={"max_holders": 1}, headers=admin_headers
        )
    )
    assert detail == (
        "The role 'board' has at most 1 holder; it would have 2 on 2016-01-01: already "
        f"held by Busan (tenure {terms[1]['id']}), Seoul (tenure {terms[0]['id']})."
    )


async def test_holders_since_before_the_records_are_named_as_such(
    client: httpx.AsyncClient, admin_headers: Headers
) -> None:
    seoul, busan = await member_cities(client, admin_headers, "Seoul", "Busan", start_date=None)
    await builders.role(client, admin_headers, "board", max_holders=2)
    terms = [
        await builders.tenure(client, admin_headers, city["id"], role="board", end_date="1990")
        for city in (seoul, busan)
    ]
    detail = await refused(
        client.patch(
            "/v1/networks/citynet/roles/board", json={"max_holders": 1}, headers=admin_headers
        )
    )
    assert detail == (
        "The role 'board' has at most 1 holder; it would have 2 before the records: already "
        f"held by Busan (tenure {terms[1]['id']}), Seoul (tenure {terms[0]['id']})."
    )


async def test_a_role_at_its_limit_on_one_day_only_accepts_a_holder_on_the_other_days(
    client: httpx.AsyncClient, admin_headers: Headers
) -> None:
    seoul, busan, incheon = await member_cities(client, admin_headers, "Seoul", "Busan", "Incheon")
    await builders.role(client, admin_headers, "board", max_holders=2)
    await builders.tenure(
        client, admin_headers, seoul["id"], role="board", start_date="2014", end_date="2016"
    )
    await builders.tenure(client, admin_headers, busan["id"], role="board", start_date="2015")
    await builders.tenure(client, admin_headers, incheon["id"], role="board", start_date="2016")
    assert await builders.holder_names(client, "2017-01-01", role="board") == ["Busan", "Incheon"]


async def test_the_holders_of_another_role_neither_count_nor_are_named(
    client: httpx.AsyncClient, admin_headers: Headers
) -> None:
    seoul, busan, incheon = await member_cities(client, admin_headers, "Seoul", "Busan", "Incheon")
    for slug in ("chair", "treasurer", "auditor"):
        await builders.role(client, admin_headers, slug, max_holders=1)
    chair = await builders.tenure(client, admin_headers, seoul["id"], start_date="2014-01-01")
    await builders.tenure(
        client, admin_headers, incheon["id"], role="treasurer", start_date="2014-01-01"
    )
    detail = await refused(new_tenure(client, admin_headers, busan["id"], start_date="2015-01-01"))
    assert detail == (
        "The role 'chair' has at most 1 holder; it would have 2 on 2015-01-01: already "
        f"held by Seoul (tenure {chair['id']})."
    )
    audit = await new_tenure(client, admin_headers, busan["id"], role="auditor", start_date="2015")
    assert audit.status_code == 201, audit.text


# --- periods in words ------------------------------------------------------------------


async def test_holding_a_role_twice_names_the_existing_period_in_words(
    client: httpx.AsyncClient, admin_headers: Headers
) -> None:
    (seoul,) = await member_cities(client, admin_headers, "Seoul", start_date=None)
    await builders.role(client, admin_headers, "executive", max_holders=None)
    year = "a start given as a year counts from its last day"
    cases = [
        (
            "2010",
            "2016",
            "from 2010 until 2016",
            f'2010-12-31 (the last day of the start_date "2010": {year})',
        ),
        (
            "2016",
            None,
            "from 2016 onwards",
            f'2016-12-31 (the last day of the start_date "2016": {year})',
        ),
        (None, "1990", "from before the records until 1990", "before the records"),
    ]
    for start, end, words, overlap in cases:
        existing = await builders.tenure(
            client, admin_headers, seoul["id"], role="executive", start_date=start, end_date=end
        )
        detail = await refused(
            new_tenure(client, admin_headers, seoul["id"], role="executive", start_date=start)
        )
        assert detail == (
            f"Seoul already holds executive of citynet {words} (tenure {existing['id']}); "
            f"the two would overlap from {overlap}. A member cannot hold the same role twice "
            "at once."
        )
        deleted = await client.delete(f"{TENURES}/{existing['id']}", headers=admin_headers)
        assert deleted.status_code == 204, deleted.text


async def test_an_overlapping_membership_names_the_existing_one_since_before_the_records(
    client: httpx.AsyncClient, admin_headers: Headers
) -> None:
    await builders.network(client, admin_headers)
    seoul = await builders.city(client, admin_headers, "Seoul", "KR")
    existing = await builders.membership(client, admin_headers, seoul["id"])
    detail = await refused(
        client.post(
            MEMBERSHIPS,
            json={"member_id": seoul["id"], "category": "full", "start_date": "2013"},
            headers=admin_headers,
        )
    )
    assert detail == (
        "Seoul is already a full member of citynet from before the records onwards "
        f"(membership {existing['id']}); the two would overlap from 2013-12-31 (the last day "
        'of the start_date "2013": a start given as a year counts from its last day). One '
        "member's memberships of a network cannot overlap: end that membership first, or "
        "correct its dates."
    )


# --- membership coverage -----------------------------------------------------------------

COVERAGE = (
    "A role that requires membership would be held by a non-member (or a member outside "
    "the role's eligible categories) on some days: {listed}. Change the memberships or the "
    "tenures so that every day of a tenure is a day of membership."
)


async def test_ending_a_membership_lists_each_uncovered_tenure_by_its_start(
    client: httpx.AsyncClient, admin_headers: Headers
) -> None:
    (seoul,) = await member_cities(client, admin_headers, "Seoul", start_date=None)
    membership = (await client.get(MEMBERSHIPS)).json()["items"][0]
    for role in ("chair", "treasurer", "auditor"):
        await builders.role(client, admin_headers, role, max_holders=None)
    chair = await builders.tenure(
        client, admin_headers, seoul["id"], role="chair", start_date="2014", end_date="2018"
    )
    treasurer = await builders.tenure(
        client, admin_headers, seoul["id"], role="treasurer", start_date="2012-06"
    )
    auditor = await builders.tenure(
        client, admin_headers, seoul["id"], role="auditor", end_date="1990"
    )
    detail = await refused(
        client.patch(
            f"{MEMBERSHIPS}/{membership['id']}", json={"start_date": "2011"}, headers=admin_headers
        )
    )
    assert detail == COVERAGE.format(
        listed=f"Seoul as auditor from before the records to 1990 (tenure {auditor['id']})"
    )
    detail = await refused(
        client.patch(
            f"{MEMBERSHIPS}/{membership['id']}", json={"end_date": "2013"}, headers=admin_headers
        )
    )
    assert detail == COVERAGE.format(
        listed=f"Seoul as treasurer from 2012-06 onwards (tenure {treasurer['id']}); "
        f"Seoul as chair from 2014 to 2018 (tenure {chair['id']})"
    )


async def test_the_coverage_409_lists_at_most_five_tenures(
    client: httpx.AsyncClient, admin_headers: Headers
) -> None:
    (seoul,) = await member_cities(client, admin_headers, "Seoul")
    membership = (await client.get(MEMBERSHIPS)).json()["items"][0]
    for n in range(6):
        await builders.role(client, admin_headers, f"role-{n}", max_holders=None)
        await builders.tenure(
            client, admin_headers, seoul["id"], role=f"role-{n}", start_date=f"201{n}"
        )
    detail = await refused(
        client.delete(f"{MEMBERSHIPS}/{membership['id']}", headers=admin_headers)
    )
    listed = re.findall(r"Seoul as (role-\d) from (\d{4}) onwards", detail)
    assert listed == [(f"role-{n}", f"201{n}") for n in range(5)]


async def test_a_new_tenure_outside_membership_is_refused_naming_its_start(
    client: httpx.AsyncClient, admin_headers: Headers, db: Database
) -> None:
    await builders.network(client, admin_headers)
    paris = await builders.city(client, admin_headers, "Paris", "FR")
    await builders.role(client, admin_headers, "chair")
    detail = await refused(new_tenure(client, admin_headers, paris["id"], start_date="2014-03"))
    before, after = COVERAGE.split("{listed}")
    listed = detail.removeprefix(before).removesuffix(after)
    # The refusal rolls the tenure back: it is named as new, never by an id that never was.
    assert listed == "Paris as chair from 2014-03 onwards (the new tenure)", detail
    assert await db.count("tenures") == 0


async def test_another_networks_records_do_not_block_this_networks_writes(
    client: httpx.AsyncClient, admin_headers: Headers, app: FastAPI
) -> None:
    """A tenure of another network that its own rules would now refuse (a record restored
    from before them) is that network's business: the coverage check of this network's
    writes looks at this network's tenures only, and the other's still finds its own."""
    (seoul,) = await member_cities(client, admin_headers, "Seoul", start_date="2000")
    here = (await client.get(MEMBERSHIPS)).json()["items"][0]
    await builders.network(client, admin_headers, "metropolis")
    there = await builders.membership(
        client, admin_headers, seoul["id"], network="metropolis", start_date="2000"
    )
    await builders.role(client, admin_headers, "chair", network="metropolis")
    stray = await builders.tenure(
        client, admin_headers, seoul["id"], network="metropolis", start_date="2005"
    )
    async with app.state.engine.begin() as connection:
        await connection.execute(
            text("UPDATE memberships SET end_date = '2003' WHERE id = :id"), {"id": there["id"]}
        )

    changed = await client.patch(
        f"{MEMBERSHIPS}/{here['id']}", json={"note": "founding member"}, headers=admin_headers
    )
    assert changed.status_code == 200, changed.text
    detail = await refused(
        client.patch(
            f"/v1/networks/metropolis/memberships/{there['id']}",
            json={"note": "founding member"},
            headers=admin_headers,
        )
    )
    assert f"Seoul as chair from 2005 onwards (tenure {stray['id']})" in detail


async def test_a_role_open_to_non_members_is_not_held_to_membership_when_changed(
    client: httpx.AsyncClient, admin_headers: Headers
) -> None:
    await builders.network(client, admin_headers)
    unhabitat = await builders.organization(client, admin_headers, "UN-Habitat")
    seoul = await builders.city(client, admin_headers, "Seoul", "KR")
    membership = await builders.membership(
        client, admin_headers, seoul["id"], start_date="2000", end_date="2010"
    )
    await builders.role(
        client, admin_headers, "partner", max_holders=None, requires_membership=False
    )
    for member in (unhabitat, seoul):
        await builders.tenure(
            client, admin_headers, member["id"], role="partner", start_date="2005"
        )
    changed = await client.patch(
        f"{NETWORK}/roles/partner", json={"max_holders": 5}, headers=admin_headers
    )
    assert changed.status_code == 200, changed.text
    ended = await client.patch(
        f"{MEMBERSHIPS}/{membership['id']}", json={"end_date": "2008"}, headers=admin_headers
    )
    assert ended.status_code == 200, ended.text


async def test_a_role_open_to_everyone_does_not_open_another_role_to_every_category(
    client: httpx.AsyncClient, admin_headers: Headers, db: Database
) -> None:
    await builders.network(client, admin_headers)
    koica = await builders.organization(client, admin_headers, "KOICA")
    await builders.membership(
        client, admin_headers, koica["id"], category="associate", start_date="2000"
    )
    await builders.role(client, admin_headers, "board", max_holders=None, eligible_categories=None)
    await builders.role(client, admin_headers, "chair", eligible_categories=["full"])
    await builders.tenure(client, admin_headers, koica["id"], role="board", start_date="2014")
    detail = await refused(
        new_tenure(client, admin_headers, koica["id"], role="chair", start_date="2014")
    )
    assert "KOICA as chair from 2014 onwards" in detail
    assert await db.count("tenures") == 1


# --- the reasons of a 422 ------------------------------------------------------------------


async def test_a_422_on_a_date_states_why_it_is_not_a_date(
    client: httpx.AsyncClient, admin_headers: Headers
) -> None:
    (seoul,) = await member_cities(client, admin_headers, "Seoul")
    await builders.role(client, admin_headers, "chair")
    reasons = {
        "2023-02-29": "day 29 does not exist in 2023-02",
        "2023-13": "month 13 does not exist",
        "0000": "year must be between 0001 and 9999",
        "2023/01": "must be YYYY, YYYY-MM or YYYY-MM-DD",
    }
    for value, reason in reasons.items():
        response = await new_tenure(client, admin_headers, seoul["id"], start_date=value)
        assert response.status_code == 422, response.text
        (error,) = response.json()["errors"]
        assert error["location"] == ["body", "start_date"]
        assert error["message"] == reason, error
    response = await new_tenure(client, admin_headers, seoul["id"], start_date=2013)
    assert response.status_code == 422, response.text
    (error,) = response.json()["errors"]
    assert error["message"] == "must be a string YYYY, YYYY-MM or YYYY-MM-DD", error


async def test_a_changed_period_that_ends_before_it_starts_is_422_on_end_date(
    client: httpx.AsyncClient, admin_headers: Headers
) -> None:
    (seoul,) = await member_cities(client, admin_headers, "Seoul")
    await builders.role(client, admin_headers, "chair")
    chair = await builders.tenure(client, admin_headers, seoul["id"], start_date="2014-06")
    response = await client.patch(
        f"{TENURES}/{chair['id']}", json={"end_date": "2014-06-30"}, headers=admin_headers
    )
    assert response.status_code == 422, response.text
    (error,) = response.json()["errors"]
    assert error["location"] == ["body", "end_date"]
    assert error["message"] == (
        "end_date 2014-06-30 must be after start_date 2014-06: the period must hold at least "
        "one day for certain (a partial start counts from its last day, a partial end stops "
        "at its first day)"
    )


async def test_a_category_the_network_lacks_is_422_naming_the_categories_it_has(
    client: httpx.AsyncClient, admin_headers: Headers
) -> None:
    await builders.network(client, admin_headers, membership_categories=["full", "associate"])
    seoul = await builders.city(client, admin_headers, "Seoul", "KR")
    response = await client.post(
        MEMBERSHIPS,
        json={"member_id": seoul["id"], "category": "honorary"},
        headers=admin_headers,
    )
    assert response.status_code == 422, response.text
    (error,) = response.json()["errors"]
    assert error["location"] == ["body", "category"]
    assert error["type"] == "unknown_category"
    assert error["message"] == (
        "'honorary' is not a category of citynet; use one of full, associate "
        "(its membership_categories)"
    )

    async def refused_role(*categories: str) -> tuple[list[str], str, str]:
        response = await client.post(
            "/v1/networks/citynet/roles",
            json={"slug": "chair", "name": "Chair", "eligible_categories": list(categories)},
            headers=admin_headers,
        )
        assert response.status_code == 422, response.text
        (error,) = response.json()["errors"]
        return error["location"], error["type"], error["message"]

    assert await refused_role("observer", "honorary") == (
        ["body", "eligible_categories"],
        "unknown_category",
        "honorary and observer are not among citynet's categories (full, associate)",
    )
    assert await refused_role("full", "observer") == (
        ["body", "eligible_categories"],
        "unknown_category",
        "observer is not among citynet's categories (full, associate)",
    )
    roles = await client.get("/v1/networks/citynet/roles")
    assert roles.json()["items"] == []


async def test_dropping_categories_open_to_roles_names_the_roles_by_slug_and_the_categories(
    client: httpx.AsyncClient, admin_headers: Headers
) -> None:
    await builders.network(
        client, admin_headers, membership_categories=["full", "associate", "observer", "guest"]
    )
    # Entered out of order: the message lists the roles by slug, not as they were stored.
    await builders.role(client, admin_headers, "treasurer", eligible_categories=["full", "guest"])
    await builders.role(client, admin_headers, "auditor", eligible_categories=["observer"])
    detail = await refused(
        client.patch(
            "/v1/networks/citynet",
            json={"membership_categories": ["full", "associate"]},
            headers=admin_headers,
        )
    )
    assert detail == (
        "The roles auditor and treasurer of citynet are open to guest or observer; change "
        "their eligible categories before dropping them."
    )


async def test_a_changed_period_that_ends_before_it_starts_is_a_period_order_422(
    client: httpx.AsyncClient, admin_headers: Headers, db: Database
) -> None:
    seoul = (await member_cities(client, admin_headers, "Seoul"))[0]
    await builders.role(client, admin_headers, "chair")
    term = await builders.tenure(client, admin_headers, seoul["id"], start_date="2010")
    response = await client.patch(
        f"{TENURES}/{term['id']}", json={"end_date": "2008"}, headers=admin_headers
    )
    assert response.status_code == 422, response.text
    errors = response.json()["errors"]
    assert [(e["location"], e["type"]) for e in errors] == [
        (["body", "end_date"], "period_order")
    ], errors
    assert await db.scalar("SELECT upper_inf(period) FROM tenures") is True


async def test_dropping_a_category_in_use_is_409_naming_the_count_or_the_roles(
    client: httpx.AsyncClient, admin_headers: Headers
) -> None:
    await builders.network(
        client, admin_headers, membership_categories=["full", "associate", "observer", "guest"]
    )
    for name in ("Seoul", "Busan"):
        city = await builders.city(client, admin_headers, name, "KR")
        await builders.membership(client, admin_headers, city["id"], category="observer")
    network = "/v1/networks/citynet"
    detail = await refused(
        client.patch(
            network, json={"membership_categories": ["full", "associate"]}, headers=admin_headers
        )
    )
    assert detail == (
        "citynet has 2 memberships in guest or observer; change their category before "
        "dropping them."
    )
    for slug in ("treasurer", "auditor"):
        await builders.role(client, admin_headers, slug, eligible_categories=["full", "guest"])
    detail = await refused(
        client.patch(
            network,
            json={"membership_categories": ["full", "associate", "observer"]},
            headers=admin_headers,
        )
    )
    roles = re.fullmatch(
        r"The roles (\w+) and (\w+) of citynet are open to guest; change their eligible "
        r"categories before dropping it\.",
        detail,
    )
    assert roles is not None, detail
    assert sorted(roles.groups()) == ["auditor", "treasurer"]
    kept = await client.patch(
        network,
        json={"membership_categories": ["full", "associate", "observer", "guest"]},
        headers=admin_headers,
    )
    assert kept.status_code == 200, kept.text


async def test_another_networks_use_of_a_category_does_not_stop_dropping_it_here(
    client: httpx.AsyncClient, admin_headers: Headers
) -> None:
    categories = ["full", "associate", "observer"]
    await builders.network(client, admin_headers, membership_categories=categories)
    await builders.network(client, admin_headers, "metropolis", membership_categories=categories)
    seoul = await builders.city(client, admin_headers, "Seoul", "KR")
    await builders.membership(
        client, admin_headers, seoul["id"], network="metropolis", category="observer"
    )
    await builders.role(
        client,
        admin_headers,
        "observer-seat",
        network="metropolis",
        eligible_categories=["observer"],
    )
    # Here, roles open to everyone or to full members only.
    await builders.role(client, admin_headers, "chair", eligible_categories=None)
    await builders.role(client, admin_headers, "treasurer", eligible_categories=["full"])
    dropped = await client.patch(
        "/v1/networks/citynet",
        json={"membership_categories": ["full", "associate"]},
        headers=admin_headers,
    )
    assert dropped.status_code == 200, dropped.text
    assert dropped.json()["membership_categories"] == ["full", "associate"]
