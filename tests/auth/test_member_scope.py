"""Members are shared between networks: a scoped key may create them, and may change one
only when every network it has ever been in (a membership or tenure of any period) is in
the key's scope. Every network a member write concerns sees it in its audit view; a
scoped key reads its own networks' audit log, never another's."""

from __future__ import annotations

import asyncio
from typing import Any

import httpx
import pytest
from sqlalchemy import text

from tests.conftest import Database, Keys
from tests.registry import builders

Headers = dict[str, str]


def bearer(token: str) -> Headers:
    return {"Authorization": f"Bearer {token}"}


@pytest.fixture
async def registry(client: httpx.AsyncClient, admin_headers: Headers) -> dict[str, str]:
    """CITYNET and Metropolis; New York City in Metropolis only; Seoul in both; Busan in
    CITYNET only; Yokohama once in Metropolis (ended); ICLEI hosting Metropolis's
    secretariat without being a member; Osaka in no network."""
    await builders.network(client, admin_headers, "citynet")
    await builders.network(client, admin_headers, "metropolis")
    ids: dict[str, str] = {}
    for name, country in (
        ("New York City", "US"),
        ("Seoul", "KR"),
        ("Busan", "KR"),
        ("Yokohama", "JP"),
        ("Osaka", "JP"),
    ):
        ids[name] = (await builders.city(client, admin_headers, name, country))["id"]
    await builders.membership(client, admin_headers, ids["New York City"], network="metropolis")
    await builders.membership(client, admin_headers, ids["Seoul"], network="metropolis")
    await builders.membership(client, admin_headers, ids["Seoul"], network="citynet")
    await builders.membership(client, admin_headers, ids["Busan"], network="citynet")
    await builders.membership(client, admin_headers, ids["Yokohama"], network="citynet")
    await builders.membership(
        client,
        admin_headers,
        ids["Yokohama"],
        network="metropolis",
        start_date="1990",
        end_date="2005",
    )
    ids["ICLEI"] = (await builders.organization(client, admin_headers, "ICLEI"))["id"]
    await builders.role(
        client, admin_headers, "secretariat_host", network="metropolis", requires_membership=False
    )
    await builders.tenure(
        client, admin_headers, ids["ICLEI"], role="secretariat_host", network="metropolis"
    )
    return ids


@pytest.fixture
async def citynet(keys: Keys, registry: dict[str, str]) -> Headers:
    return bearer(await keys.create("citynet-secretariat", networks=["citynet"]))


async def test_a_citynet_key_may_not_rewrite_a_member_of_metropolis_only(
    client: httpx.AsyncClient, db: Database, registry: dict[str, str], citynet: Headers
) -> None:
    """The issue's case: New York City renamed, moved and stripped of its Wikidata id by
    the CITYNET key. Refused, naming Metropolis, and nothing written."""
    before = await db.contents()
    response = await client.patch(
        f"/v1/cities/{registry['New York City']}",
        json={"name": "Gotham", "country_code": "CA", "wikidata": None},
        headers=citynet,
    )
    assert response.status_code == 403, response.text
    assert response.headers["content-type"] == "application/problem+json"
    problem = response.json()
    assert problem["type"] == "urn:netregistry:problem:forbidden"
    assert problem["detail"] == (
        "The API key 'citynet-secretariat' may not change New York City: this city is or "
        "was also in metropolis, and the key is not for that network. A city shared "
        "between networks may be changed by an admin key, or by a key for every network "
        "it has been in (metropolis)."
    )
    assert await db.contents() == before


@pytest.mark.parametrize(
    ("member", "path", "others"),
    [
        ("Seoul", "cities", "metropolis"),  # in both: the other network is named
        ("Yokohama", "cities", "metropolis"),  # a membership that ended long ago counts
        ("ICLEI", "organizations", "metropolis"),  # so does an office without membership
    ],
)
async def test_a_member_that_was_ever_in_another_network_is_refused_naming_it(
    client: httpx.AsyncClient,
    db: Database,
    registry: dict[str, str],
    citynet: Headers,
    member: str,
    path: str,
    others: str,
) -> None:
    before = await db.contents()
    response = await client.patch(
        f"/v1/{path}/{registry[member]}", json={"alt_names": ["X"]}, headers=citynet
    )
    assert response.status_code == 403, response.text
    detail = response.json()["detail"]
    assert f"may not change {member}: " in detail
    assert f"is or was also in {others}, and the key is not for that network" in detail
    assert await db.contents() == before


async def test_a_scoped_key_may_change_a_member_of_its_own_networks_and_one_of_none(
    client: httpx.AsyncClient, keys: Keys, registry: dict[str, str], citynet: Headers
) -> None:
    busan = await client.patch(
        f"/v1/cities/{registry['Busan']}", json={"population": 3_400_000}, headers=citynet
    )
    assert busan.status_code == 200, busan.text
    osaka = await client.patch(
        f"/v1/cities/{registry['Osaka']}", json={"population": 2_700_000}, headers=citynet
    )
    assert osaka.status_code == 200, osaka.text
    both = bearer(await keys.create("both", networks=["citynet", "metropolis"]))
    seoul = await client.patch(
        f"/v1/cities/{registry['Seoul']}", json={"population": 9_400_000}, headers=both
    )
    assert seoul.status_code == 200, seoul.text


async def test_a_scoped_key_may_create_members(
    client: httpx.AsyncClient, registry: dict[str, str], citynet: Headers
) -> None:
    city = await client.post(
        "/v1/cities", json={"name": "Kathmandu", "country_code": "NP"}, headers=citynet
    )
    assert city.status_code == 201, city.text
    organization = await client.post(
        "/v1/organizations", json={"name": "UN-Habitat"}, headers=citynet
    )
    assert organization.status_code == 201, organization.text


async def test_an_admin_key_may_change_any_member(
    client: httpx.AsyncClient, admin_headers: Headers, registry: dict[str, str]
) -> None:
    response = await client.patch(
        f"/v1/cities/{registry['New York City']}",
        json={"name": "New York"},
        headers=admin_headers,
    )
    assert response.status_code == 200, response.text


async def test_a_member_gaining_another_network_is_then_out_of_the_key_s_reach(
    client: httpx.AsyncClient,
    admin_headers: Headers,
    registry: dict[str, str],
    citynet: Headers,
) -> None:
    """The rule reads the memberships as they are at the write: Busan joining Metropolis
    takes it out of the CITYNET key's reach."""
    await builders.membership(client, admin_headers, registry["Busan"], network="metropolis")
    response = await client.patch(
        f"/v1/cities/{registry['Busan']}", json={"population": 1}, headers=citynet
    )
    assert response.status_code == 403, response.text


async def _audit(client: httpx.AsyncClient, headers: Headers, **params: Any) -> list[Any]:
    response = await client.get("/v1/audit", params=params, headers=headers)
    assert response.status_code == 200, response.text
    items: list[Any] = response.json()["items"]
    return items


async def test_a_member_change_is_in_the_audit_view_of_every_network_it_concerns(
    client: httpx.AsyncClient,
    admin_headers: Headers,
    keys: Keys,
    registry: dict[str, str],
    citynet: Headers,
) -> None:
    seoul = registry["Seoul"]
    response = await client.patch(
        f"/v1/cities/{seoul}", json={"name": "Seoul Special City"}, headers=admin_headers
    )
    assert response.status_code == 200, response.text
    metropolis = bearer(await keys.create("metropolis-secretariat", networks=["metropolis"]))
    for headers, network in (
        (admin_headers, "citynet"),
        (admin_headers, "metropolis"),
        (citynet, "citynet"),
        (metropolis, "metropolis"),
    ):
        [entry] = await _audit(
            client, headers, network=network, resource_type="city", resource_id=seoul
        )
        # `network` keeps its meaning (the network the resource belongs to: none for a
        # member); `networks` names every network the change concerns.
        assert entry["network"] is None
        assert entry["networks"] == ["citynet", "metropolis"]
        assert entry["after"]["name"] == "Seoul Special City"
        assert entry["action"] == "update"


async def test_a_scoped_key_reads_its_own_networks_audit_log_and_no_other(
    client: httpx.AsyncClient, keys: Keys, registry: dict[str, str], citynet: Headers
) -> None:
    own = await _audit(client, citynet, network="citynet", limit=1000)
    assert own
    assert all("citynet" in entry["networks"] for entry in own)
    # Metropolis's own records (New York's membership, its roles) are not among them.
    assert not [e for e in own if e["network"] == "metropolis"]

    for params, expected in (
        ({}, "may read the audit log of its own networks (citynet), one at a time"),
        ({"resource_type": "city"}, "may read the audit log of its own networks"),
        ({"network": "metropolis"}, "may not read the audit log of metropolis"),
        ({"network": "no-such-network"}, "may not read the audit log of no-such-network"),
    ):
        refused = await client.get("/v1/audit", params=params, headers=citynet)
        assert refused.status_code == 403, (params, refused.text)
        assert refused.headers["content-type"] == "application/problem+json"
        assert expected in refused.json()["detail"]
        assert "metropolis-" not in refused.text


async def test_a_membership_written_meanwhile_is_seen_by_the_rule_or_waits_for_the_change(
    client: httpx.AsyncClient, app: Any, registry: dict[str, str], citynet: Headers
) -> None:
    """The rule reads the member's networks after locking its row: a Metropolis membership
    of Busan being written (not yet committed) makes the CITYNET key's change wait, and
    once it commits the change is refused, never let through on a stale reading."""
    busan = registry["Busan"]
    metropolis = await db_scalar(app, "SELECT id FROM networks WHERE slug = 'metropolis'")
    async with app.state.engine.connect() as other:
        transaction = await other.begin()
        await other.execute(
            text(
                "INSERT INTO memberships (id, network_id, member_id, category) "
                "VALUES (gen_random_uuid(), :network, :member, 'full')"
            ),
            {"network": metropolis, "member": busan},
        )
        change = asyncio.create_task(
            client.patch(f"/v1/cities/{busan}", json={"population": 1}, headers=citynet)
        )
        await asyncio.sleep(0.5)
        assert not change.done(), "the change must wait for the membership being written"
        await transaction.commit()
    response = await asyncio.wait_for(change, 10)
    assert response.status_code == 403, response.text
    assert "also in metropolis" in response.json()["detail"]


async def db_scalar(app: Any, sql: str) -> Any:
    async with app.state.engine.connect() as connection:
        return await connection.scalar(text(sql))
