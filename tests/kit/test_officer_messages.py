"""Messages a secretariat officer can follow (issue 12, item 11).

A value in the wrong form is refused with the rule in words and an example, never with
the pattern that refused it, nor with pydantic's "Value error, " prefix; the rules'
409s count and name things as one says them, name a partial date as it was given beside
the day the rule used, and never cite the id of a record the refusal rolled back.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import httpx

from netregistry.kit.dates import CALENDAR_PATTERN as PARTIAL_DATE_PATTERN
from netregistry.kit.messages import PATTERN_WORDS
from netregistry.kit.types import MULTI_LINE_PATTERN, SINGLE_LINE_PATTERN
from tests.conftest import Database
from tests.registry import builders

Headers = dict[str, str]
OPENAPI = Path(__file__).parents[2] / "openapi" / "openapi.json"
MEMBERSHIPS = "/v1/networks/citynet/memberships"
TENURES = "/v1/networks/citynet/tenures"
ROLES = "/v1/networks/citynet/roles"
CATEGORY_RULE = "use lowercase letters, digits, hyphens or underscores"
MONTH = "a start given as a month counts from its last day"
UUID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")


def only_error(response: httpx.Response, location: list[Any], error_type: str) -> str:
    """The message of the one error of a 422 ``response``, at ``location``."""
    assert response.status_code == 422, response.text
    problem = response.json()
    assert [(e["location"], e["type"]) for e in problem["errors"]] == [(location, error_type)], (
        problem
    )
    message: str = problem["errors"][0]["message"]
    assert message in problem["detail"]
    return message


def conflict(response: httpx.Response) -> str:
    assert response.status_code == 409, response.text
    detail: str = response.json()["detail"]
    return detail


async def assert_cites_only_stored_records(db: Database, detail: str) -> None:
    """Every id ``detail`` names is a member, membership or tenure that is stored."""
    for cited in UUID.findall(detail):
        stored = await db.scalar(
            "SELECT (SELECT count(*) FROM members WHERE id = CAST(:id AS uuid)) "
            "+ (SELECT count(*) FROM memberships WHERE id = CAST(:id AS uuid)) "
            "+ (SELECT count(*) FROM tenures WHERE id = CAST(:id AS uuid))",
            id=cited,
        )
        assert stored == 1, (cited, detail)


# --- values in the wrong form ------------------------------------------------------------


async def test_a_category_written_in_words_is_refused_with_the_slug_it_would_be(
    client: httpx.AsyncClient, admin_headers: Headers, db: Database
) -> None:
    await builders.network(client, admin_headers)
    seoul = await builders.city(client, admin_headers, "Seoul")
    response = await client.post(
        MEMBERSHIPS,
        json={"member_id": seoul["id"], "category": "Full member"},
        headers=admin_headers,
    )
    message = only_error(response, ["body", "category"], "string_pattern_mismatch")
    assert message == f'{CATEGORY_RULE}, e.g. full-member (got "Full member")'
    response = await client.post(
        MEMBERSHIPS,
        json={"member_id": seoul["id"], "category": "full--member"},
        headers=admin_headers,
    )
    message = only_error(response, ["body", "category"], "string_pattern_mismatch")
    assert message == (
        "a hyphen or underscore goes only between letters or digits, e.g. full-member "
        '(got "full--member")'
    )
    assert await db.count("memberships") == 0


async def test_category_slugs_take_underscores_as_role_slugs_do(
    client: httpx.AsyncClient, admin_headers: Headers
) -> None:
    await builders.network(client, admin_headers, membership_categories=["full", "president_city"])
    seoul = await builders.city(client, admin_headers, "Seoul")
    membership = await builders.membership(
        client, admin_headers, seoul["id"], category="president_city"
    )
    assert membership["category"] == "president_city"
    role = await builders.role(
        client, admin_headers, "secretariat_host", eligible_categories=["president_city"]
    )
    assert role["eligible_categories"] == ["president_city"]
    changed = await client.patch(
        f"{MEMBERSHIPS}/{membership['id']}", json={"category": "full"}, headers=admin_headers
    )
    assert changed.status_code == 200, changed.text
    # A network's slug keeps its own rule: no underscores.
    response = await client.post(
        "/v1/networks", json={"slug": "c40_cities", "name": "C40"}, headers=admin_headers
    )
    message = only_error(response, ["body", "slug"], "string_pattern_mismatch")
    assert (
        message == 'use lowercase letters, digits and hyphens, e.g. c40-cities (got "c40_cities")'
    )


async def test_every_pattern_of_a_query_or_body_is_refused_in_words(
    client: httpx.AsyncClient, admin_headers: Headers
) -> None:
    await builders.network(client, admin_headers)
    cases = [
        (
            client.get("/v1/networks/citynet/members", params={"as_of": "today"}),
            ["query", "as_of"],
            'must be a day written YYYY-MM-DD, such as "2013-11-05" (got "today")',
        ),
        (
            client.get("/v1/cities", params={"wikidata": "q8684"}),
            ["query", "wikidata"],
            'must be a Wikidata item id: Q and its number, e.g. Q8684 (got "q8684")',
        ),
        (
            client.post(
                "/v1/organizations",
                json={"name": "ICLEI", "wikidata": "Wikidata 12"},
                headers=admin_headers,
            ),
            ["body", "wikidata"],
            'must be a Wikidata item id: Q and its number, e.g. Q8684 (got "Wikidata 12")',
        ),
        (
            client.post(ROLES, json={"slug": "Vice Chair", "name": "Vice"}, headers=admin_headers),
            ["body", "slug"],
            f'{CATEGORY_RULE}, e.g. vice-chair (got "Vice Chair")',
        ),
        (
            client.post(
                ROLES,
                json={"slug": "vice", "name": "Vice", "eligible_categories": ["Membre associé"]},
                headers=admin_headers,
            ),
            ["body", "eligible_categories", 0],
            f'{CATEGORY_RULE}, e.g. membre-associe (got "Membre associé")',
        ),
        (
            client.patch(
                "/v1/networks/citynet",
                json={"membership_categories": ["full", "Observer"]},
                headers=admin_headers,
            ),
            ["body", "membership_categories", 1],
            f'{CATEGORY_RULE}, e.g. observer (got "Observer")',
        ),
    ]
    for request, location, expected in cases:
        assert only_error(await request, location, "string_pattern_mismatch") == expected


def test_every_pattern_the_contract_declares_has_words() -> None:
    """A pattern a request shape declares is explained in words (kit/messages.py), unless
    the service checks it with messages of its own (text hygiene, URLs, partial dates)."""
    found: set[str] = set()

    def walk(node: Any) -> None:
        if isinstance(node, dict):
            for key, value in node.items():
                if key == "pattern" and isinstance(value, str):
                    found.add(value)
                else:
                    walk(value)
        elif isinstance(node, list):
            for value in node:
                walk(value)

    walk(json.loads(OPENAPI.read_text()))
    checked_by_own_code = {
        SINGLE_LINE_PATTERN,
        MULTI_LINE_PATTERN,
        "^[Hh][Tt][Tt][Pp][Ss]?://",
        PARTIAL_DATE_PATTERN,
    }
    assert found - checked_by_own_code <= set(PATTERN_WORDS)
    assert found - checked_by_own_code  # slugs, categories, wikidata ids, days


async def test_messages_of_validators_carry_no_value_error_prefix(
    client: httpx.AsyncClient, admin_headers: Headers
) -> None:
    await builders.network(client, admin_headers)
    seoul = await builders.city(client, admin_headers, "Seoul")
    joins = {"member_id": seoul["id"], "category": "full"}
    response = await client.post(
        MEMBERSHIPS, json={**joins, "start_date": "2023-13"}, headers=admin_headers
    )
    message = only_error(response, ["body", "start_date"], "value_error")
    assert message == "month 13 does not exist"
    response = await client.post(
        MEMBERSHIPS,
        json={**joins, "start_date": "2020-05", "end_date": "2020-05"},
        headers=admin_headers,
    )
    message = only_error(response, ["body"], "period_order")
    assert message.startswith("end_date 2020-05 must be after start_date 2020-05:"), message
    response = await client.post(
        "/v1/networks",
        json={"slug": "c40", "name": "C40", "membership_categories": ["full", "full"]},
        headers=admin_headers,
    )
    message = only_error(response, ["body", "membership_categories"], "value_error")
    assert message == "name each category once: full is given more than once"
    response = await client.get("/v1/audit", params={"since": "yesterday"}, headers=admin_headers)
    message = only_error(response, ["query", "since"], "value_error")
    assert message == "must be an ISO 8601 date-time such as 2014-01-01T00:00:00Z"
    response = await client.patch(
        f"/v1/cities/{seoul['id']}", json={"note": None, "name": None}, headers=admin_headers
    )
    assert response.status_code == 422, response.text
    assert all(
        not error["message"].startswith("Value error") for error in response.json()["errors"]
    )


async def test_the_csv_import_says_the_same_words(
    client: httpx.AsyncClient, admin_headers: Headers, db: Database
) -> None:
    await builders.network(client, admin_headers)
    body = b"name,country_code,category,start_date,wikidata\r\nLyon,FR,Full member,2020-13,q\r\n"
    response = await client.post(
        "/v1/networks/citynet/memberships:import",
        content=body,
        headers={**admin_headers, "Content-Type": "text/csv"},
    )
    assert response.status_code == 422, response.text
    messages = {e["location"][-1]: e["message"] for e in response.json()["errors"]}
    assert messages == {
        "category": "'full member' is not a category of citynet; use one of full, associate "
        "(its membership_categories)",
        "start_date": "month 13 does not exist",
        "wikidata": 'must be a Wikidata item id: Q and its number, e.g. Q8684 (got "Q")',
    }
    assert await db.count("members") == 0


# --- the rules' 409s ---------------------------------------------------------------------


async def test_counts_and_articles_read_as_one_says_them(
    client: httpx.AsyncClient, admin_headers: Headers
) -> None:
    await builders.network(
        client, admin_headers, membership_categories=["full", "associate", "observer", "guest"]
    )
    seoul = await builders.city(client, admin_headers, "Seoul")
    existing = await builders.membership(client, admin_headers, seoul["id"], category="associate")
    detail = conflict(
        await client.post(
            MEMBERSHIPS, json={"member_id": seoul["id"], "category": "full"}, headers=admin_headers
        )
    )
    assert detail.startswith(
        "Seoul is already an associate member of citynet from before the records onwards "
        f"(membership {existing['id']})"
    ), detail
    busan = await builders.city(client, admin_headers, "Busan")
    await builders.membership(client, admin_headers, busan["id"], category="observer")
    detail = conflict(
        await client.patch(
            "/v1/networks/citynet",
            json={"membership_categories": ["full", "associate", "guest"]},
            headers=admin_headers,
        )
    )
    assert detail == (
        "citynet has 1 membership in observer; change its category before dropping it."
    )
    await builders.role(client, admin_headers, "treasurer", eligible_categories=["guest"])
    detail = conflict(
        await client.patch(
            "/v1/networks/citynet",
            json={"membership_categories": ["full", "associate", "observer"]},
            headers=admin_headers,
        )
    )
    assert detail == (
        "The role treasurer of citynet is open to guest; change its eligible categories "
        "before dropping it."
    )
    await builders.role(client, admin_headers, "chair", max_holders=3)
    await builders.tenure(client, admin_headers, seoul["id"], start_date="2014")
    detail = conflict(await client.delete(f"{ROLES}/chair", headers=admin_headers))
    assert detail == "The role 'chair' of citynet has 1 tenure in its history; delete it first."


async def test_a_crowded_day_counted_from_a_partial_start_names_that_start_as_given(
    client: httpx.AsyncClient, admin_headers: Headers, db: Database
) -> None:
    await builders.network(client, admin_headers)
    seoul = await builders.city(client, admin_headers, "Seoul")
    busan = await builders.city(client, admin_headers, "Busan")
    for city in (seoul, busan):
        await builders.membership(client, admin_headers, city["id"], start_date="2000")
    await builders.role(client, admin_headers, "chair", max_holders=1)
    chair = await builders.tenure(client, admin_headers, seoul["id"], start_date="2014-01-01")
    detail = conflict(
        await client.post(
            TENURES,
            json={"role": "chair", "member_id": busan["id"], "start_date": "2025-06"},
            headers=admin_headers,
        )
    )
    assert detail == (
        "The role 'chair' has at most 1 holder; it would have 2 on 2025-06-30 (the last day "
        f'of the start_date "2025-06": {MONTH}): already held by Seoul (tenure {chair["id"]}).'
    )
    await assert_cites_only_stored_records(db, detail)


async def test_an_overlap_on_a_partial_date_names_it_as_given_beside_the_day(
    client: httpx.AsyncClient, admin_headers: Headers
) -> None:
    """Rio until 2016-12 and Rio again from 2016-11: both hold on 2016-11-30, the last day
    of the month given, and the message says so."""
    await builders.network(client, admin_headers)
    rio = await builders.city(client, admin_headers, "Rio de Janeiro", "BR")
    existing = await builders.membership(
        client, admin_headers, rio["id"], start_date="2010", end_date="2016-12"
    )
    detail = conflict(
        await client.post(
            MEMBERSHIPS,
            json={"member_id": rio["id"], "category": "associate", "start_date": "2016-11"},
            headers=admin_headers,
        )
    )
    assert detail == (
        "Rio de Janeiro is already a full member of citynet from 2010 until 2016-12 "
        f"(membership {existing['id']}); the two would overlap from 2016-11-30 (the last day "
        f'of the start_date "2016-11": {MONTH}). One member\'s memberships of a network '
        "cannot overlap: end that membership first, or correct its dates."
    )
    # From 2016-12 it holds on no day the first one holds.
    later = await builders.membership(
        client, admin_headers, rio["id"], category="associate", start_date="2016-12"
    )
    assert later["start_date"] == "2016-12"


async def test_a_handover_to_a_non_member_cites_no_id_it_rolled_back(
    client: httpx.AsyncClient, admin_headers: Headers, db: Database
) -> None:
    await builders.network(client, admin_headers)
    seoul = await builders.city(client, admin_headers, "Seoul")
    paris = await builders.city(client, admin_headers, "Paris", "FR")
    await builders.membership(client, admin_headers, seoul["id"], start_date="2000")
    await builders.role(client, admin_headers, "chair", max_holders=1)
    chair = await builders.tenure(client, admin_headers, seoul["id"], start_date="2013-11-05")
    before = await db.contents()
    detail = conflict(await builders.handover(client, admin_headers, paris["id"], "2020-01-01"))
    assert "Paris as chair from 2020-01-01 onwards (the new tenure)" in detail, detail
    assert UUID.findall(detail) == []
    assert await db.contents() == before
    # A tenure that stays (its change rolled back) is named by its id, which holds.
    detail = conflict(
        await client.patch(
            f"{MEMBERSHIPS}/{(await client.get(MEMBERSHIPS)).json()['items'][0]['id']}",
            json={"start_date": "2014"},
            headers=admin_headers,
        )
    )
    assert f"Seoul as chair from 2013-11-05 onwards (tenure {chair['id']})" in detail, detail
    await assert_cites_only_stored_records(db, detail)
