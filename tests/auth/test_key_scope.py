"""A scoped key is bound to its networks themselves, not to their slugs: a key whose
network was deleted has no scope there, not even in a network later created with the
same slug, and `netregistry keys list` shows the scope it lost."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import create_async_engine
from sqlalchemy.pool import NullPool
from typer.testing import CliRunner, Result

from netregistry import cli, migrations
from netregistry.config import get_settings
from tests.conftest import Database, Keys
from tests.registry import builders

Headers = dict[str, str]


def bearer(token: str) -> Headers:
    return {"Authorization": f"Bearer {token}"}


async def _recreate(client: httpx.AsyncClient, admin_headers: Headers, slug: str) -> None:
    """Delete the network ``slug`` and create a new one under the same slug."""
    deleted = await client.delete(f"/v1/networks/{slug}", headers=admin_headers)
    assert deleted.status_code == 204, deleted.text
    await builders.network(client, admin_headers, slug, description="a new network")


async def test_a_key_of_a_deleted_network_may_not_write_to_a_new_one_with_its_slug(
    client: httpx.AsyncClient, admin_headers: Headers, keys: Keys, db: Database
) -> None:
    await builders.network(client, admin_headers, "c40")
    old = bearer(await keys.create("old-c40-secretariat", networks=["c40"]))
    allowed = await client.patch("/v1/networks/c40", json={"scope": "Global"}, headers=old)
    assert allowed.status_code == 200, allowed.text
    await _recreate(client, admin_headers, "c40")

    before = await db.contents()
    for method, path, body in (
        ("PATCH", "/v1/networks/c40", {"scope": "Taken over"}),
        ("POST", "/v1/networks/c40/roles", {"slug": "chair", "name": "Chair", "max_holders": 1}),
        ("POST", "/v1/networks/c40/memberships", {"member_id": "x", "category": "full"}),
    ):
        response = await client.request(method, path, json=body, headers=old)
        assert response.status_code == 403, (path, response.text)
        assert response.json()["detail"] == (
            "The API key 'old-c40-secretariat' may not write to network 'c40'."
        )
    refused = await client.get("/v1/audit", params={"network": "c40"}, headers=old)
    assert refused.status_code == 403, refused.text
    assert "own networks (none left)" in refused.json()["detail"]
    assert await db.contents() == before

    # A key created for the new network writes there.
    new = bearer(await keys.create("new-c40-secretariat", networks=["c40"]))
    accepted = await client.patch("/v1/networks/c40", json={"scope": "Cities"}, headers=new)
    assert accepted.status_code == 200, accepted.text


async def test_a_key_of_a_new_network_does_not_read_the_audit_of_the_deleted_one(
    client: httpx.AsyncClient, admin_headers: Headers, keys: Keys
) -> None:
    """The audit filter is by slug: entries written before the key's network existed
    belong to the deleted network that had its slug, and its key does not see them."""
    await builders.network(client, admin_headers, "c40")
    old = bearer(await keys.create("old-c40-secretariat", networks=["c40"]))
    await builders.role(client, old, "old-office", network="c40")
    deleted = await client.delete("/v1/networks/c40/roles/old-office", headers=old)
    assert deleted.status_code == 204, deleted.text
    await _recreate(client, admin_headers, "c40")
    new = bearer(await keys.create("new-c40-secretariat", networks=["c40"]))
    await builders.role(client, new, "chair", network="c40")

    response = await client.get("/v1/audit", params={"network": "c40"}, headers=new)
    assert response.status_code == 200, response.text
    seen = [(e["action"], e["resource_type"], e["resource_id"]) for e in response.json()["items"]]
    assert seen == [("create", "role", "c40/chair"), ("create", "network", "c40")]
    everything = await client.get("/v1/audit", params={"network": "c40"}, headers=admin_headers)
    assert "old-office" in everything.text


async def test_a_network_s_slug_is_fixed_so_no_rename_moves_a_key_s_scope(
    client: httpx.AsyncClient, admin_headers: Headers, keys: Keys
) -> None:
    await builders.network(client, admin_headers, "citynet")
    staff = bearer(await keys.create("citynet-secretariat", networks=["citynet"]))
    response = await client.patch(
        "/v1/networks/citynet", json={"slug": "citynet-asia"}, headers=admin_headers
    )
    assert response.status_code == 422, response.text
    still = await client.patch("/v1/networks/citynet", json={"scope": "Asia"}, headers=staff)
    assert still.status_code == 200, still.text


# --- the command line ------------------------------------------------------------------------


@pytest.fixture
def cli_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path, database_url: str) -> Iterator[None]:
    """Points the command line at the test's database."""
    monkeypatch.setenv("NETREGISTRY_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("NETREGISTRY_LOG_LEVEL", "WARNING")
    monkeypatch.setenv("NETREGISTRY_DATABASE_URL", database_url)
    get_settings.cache_clear()
    yield
    get_settings.cache_clear()


async def netregistry(*args: str) -> Result:
    # The commands run their own event loop (asyncio.run): give them a thread.
    return await asyncio.to_thread(CliRunner().invoke, cli.app, list(args))


def _scope_of(listing: str, name: str) -> str:
    [line] = [line for line in listing.splitlines() if f"\t{name}\t" in line]
    return line.split("\t")[3]


async def test_keys_list_shows_the_scope_a_key_lost_with_its_network(
    client: httpx.AsyncClient, admin_headers: Headers, cli_env: None
) -> None:
    await builders.network(client, admin_headers, "citynet")
    await builders.network(client, admin_headers, "c40")
    created = await netregistry(
        "keys", "create", "--name", "two-networks", "--network", "citynet", "--network", "c40"
    )
    assert created.exit_code == 0, created.output
    token = created.stdout.strip().splitlines()[-1]
    listed = await netregistry("keys", "list")
    assert listed.exit_code == 0, listed.output
    assert _scope_of(listed.stdout, "two-networks") == "c40,citynet"

    await _recreate(client, admin_headers, "c40")
    listed = await netregistry("keys", "list")
    assert listed.exit_code == 0, listed.output
    assert _scope_of(listed.stdout, "two-networks") == "citynet,c40 (network deleted: no scope)"
    assert _scope_of(listed.stdout, "admin") == "admin"

    refused = await client.patch("/v1/networks/c40", json={"scope": "X"}, headers=bearer(token))
    assert refused.status_code == 403, refused.text
    kept = await client.patch("/v1/networks/citynet", json={"scope": "X"}, headers=bearer(token))
    assert kept.status_code == 200, kept.text


# --- migration 0010 ---------------------------------------------------------------------------


SEED_0009 = [
    """
    INSERT INTO networks (id, slug, name, membership_categories) VALUES
    ('00000000-0000-0000-0000-00000000000a', 'citynet', 'CITYNET', '{full}'),
    ('00000000-0000-0000-0000-00000000000b', 'metropolis', 'M', '{full}')
    """,
    """
    INSERT INTO members (id, kind, name, country_code) VALUES
    ('00000000-0000-0000-0000-0000000000c1', 'city', 'Seoul', 'KR')
    """,
    """
    INSERT INTO memberships (id, network_id, member_id, category) VALUES
    (gen_random_uuid(), '00000000-0000-0000-0000-00000000000b',
    '00000000-0000-0000-0000-0000000000c1', 'full')
    """,
    """
    INSERT INTO api_keys (id, name, prefix, token_hash, is_admin, networks)
    VALUES ('00000000-0000-0000-0000-0000000000f1', 'old', 'nr_x', 'h1',
    false, '{citynet,gone}')
    """,
    """
    INSERT INTO audit_events (action, resource_type, resource_id, network)
    VALUES ('update', 'network', 'citynet', 'citynet'),
    ('update', 'city', '00000000-0000-0000-0000-0000000000c1', NULL),
    ('create', 'network', 'gone', NULL)
    """,
]


async def test_migration_0010_binds_keys_to_the_networks_their_slugs_name_and_back(
    database_url: str,
) -> None:
    """Keys made before 0010 are bound to the networks their slugs name at the upgrade (a
    slug that names none binds nothing); audit entries get the networks they concern (a
    member's from its memberships and tenures). The downgrade leaves a key only the slugs
    of the networks it is still bound to."""
    engine = create_async_engine(database_url, poolclass=NullPool)
    try:
        await migrations.downgrade(engine, "0009")
        async with engine.begin() as connection:
            for statement in SEED_0009:
                await connection.execute(text(statement))
        await migrations.upgrade(engine)
        async with engine.connect() as connection:
            ids = await connection.scalar(text("SELECT network_ids::text FROM api_keys"))
            assert ids == "{00000000-0000-0000-0000-00000000000a}"
            audit = (
                await connection.execute(
                    text("SELECT resource_id, networks::text FROM audit_events ORDER BY id")
                )
            ).all()
            assert [tuple(row) for row in audit] == [
                ("citynet", "{citynet}"),
                ("00000000-0000-0000-0000-0000000000c1", "{metropolis}"),
                ("gone", "{}"),
            ]
        async with engine.begin() as connection:
            await connection.execute(text("DELETE FROM networks WHERE slug = 'citynet'"))
            await connection.execute(
                text(
                    "INSERT INTO networks (id, slug, name, membership_categories) "
                    "VALUES (gen_random_uuid(), 'citynet', 'New', '{full}')"
                )
            )
        await migrations.downgrade(engine, "0009")
        async with engine.connect() as connection:
            slugs = await connection.scalar(text("SELECT networks::text FROM api_keys"))
            assert slugs == "{}"
        await migrations.upgrade(engine)
    finally:
        await engine.dispose()
