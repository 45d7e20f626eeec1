"""ETags: conditional reads (If-None-Match, 304) and refused lost updates (If-Match, 412)."""

from __future__ import annotations

import asyncio

import httpx

from tests.conftest import Database
from tests.networks.builders import create_network

CITYNET = "/v1/networks/citynet"


async def test_single_resource_and_list_carry_strong_etags(
    client: httpx.AsyncClient, admin_headers: dict[str, str]
) -> None:
    await create_network(client, admin_headers, "citynet")
    single = await client.get(CITYNET)
    listing = await client.get("/v1/networks")
    for response in (single, listing):
        assert response.status_code == 200
        assert response.headers["etag"].startswith('"')
        assert not response.headers["etag"].startswith("W/")
    assert single.headers["etag"] != listing.headers["etag"]


async def test_if_none_match_with_the_current_etag_is_304_with_empty_body(
    client: httpx.AsyncClient, admin_headers: dict[str, str]
) -> None:
    await create_network(client, admin_headers, "citynet")
    etag = (await client.get(CITYNET)).headers["etag"]
    response = await client.get(CITYNET, headers={"If-None-Match": etag})
    assert response.status_code == 304
    assert response.content == b""
    assert response.headers["etag"] == etag


async def test_if_none_match_on_a_list_is_304_until_the_list_changes(
    client: httpx.AsyncClient, admin_headers: dict[str, str]
) -> None:
    await create_network(client, admin_headers, "citynet")
    etag = (await client.get("/v1/networks")).headers["etag"]
    unchanged = await client.get("/v1/networks", headers={"If-None-Match": etag})
    assert unchanged.status_code == 304
    assert unchanged.content == b""
    await create_network(client, admin_headers, "metropolis")
    changed = await client.get("/v1/networks", headers={"If-None-Match": etag})
    assert changed.status_code == 200
    assert [item["slug"] for item in changed.json()["items"]] == ["citynet", "metropolis"]


async def test_if_none_match_with_another_etag_returns_the_resource(
    client: httpx.AsyncClient, admin_headers: dict[str, str]
) -> None:
    await create_network(client, admin_headers, "citynet")
    response = await client.get(CITYNET, headers={"If-None-Match": '"not-the-etag"'})
    assert response.status_code == 200
    assert response.json()["slug"] == "citynet"


async def test_after_a_patch_the_old_etag_no_longer_gives_304(
    client: httpx.AsyncClient, admin_headers: dict[str, str]
) -> None:
    await create_network(client, admin_headers, "citynet")
    old = (await client.get(CITYNET)).headers["etag"]
    patched = await client.patch(CITYNET, json={"scope": "Asia-Pacific"}, headers=admin_headers)
    assert patched.status_code == 200
    assert patched.headers["etag"] != old
    response = await client.get(CITYNET, headers={"If-None-Match": old})
    assert response.status_code == 200
    assert response.json()["scope"] == "Asia-Pacific"
    assert response.headers["etag"] == patched.headers["etag"]


async def test_patch_with_a_stale_if_match_is_412_and_changes_nothing(
    client: httpx.AsyncClient, admin_headers: dict[str, str], db: Database
) -> None:
    await create_network(client, admin_headers, "citynet")
    stale = (await client.get(CITYNET)).headers["etag"]
    fresh = await client.patch(CITYNET, json={"scope": "Asia"}, headers=admin_headers)
    audit_rows = await db.count("audit_events")

    refused = await client.patch(
        CITYNET, json={"scope": "Europe"}, headers={**admin_headers, "If-Match": stale}
    )
    assert refused.status_code == 412
    assert refused.headers["content-type"] == "application/problem+json"
    assert refused.json()["type"].endswith("precondition-failed")
    current = await client.get(CITYNET)
    assert current.json()["scope"] == "Asia"
    assert current.headers["etag"] == fresh.headers["etag"]
    assert await db.count("audit_events") == audit_rows


async def test_patch_with_the_current_if_match_succeeds(
    client: httpx.AsyncClient, admin_headers: dict[str, str]
) -> None:
    created = await client.post(
        "/v1/networks", json={"slug": "citynet", "name": "CITYNET"}, headers=admin_headers
    )
    # The ETag of a write's response is good for the next conditional write.
    first = await client.patch(
        CITYNET,
        json={"scope": "Asia"},
        headers={**admin_headers, "If-Match": created.headers["etag"]},
    )
    assert first.status_code == 200
    second = await client.patch(
        CITYNET,
        json={"scope": "Asia-Pacific"},
        headers={**admin_headers, "If-Match": first.headers["etag"]},
    )
    assert second.status_code == 200
    assert (await client.get(CITYNET)).json()["scope"] == "Asia-Pacific"


async def test_delete_with_a_stale_if_match_is_412_and_keeps_the_resource(
    client: httpx.AsyncClient, admin_headers: dict[str, str], db: Database
) -> None:
    await create_network(client, admin_headers, "citynet")
    stale = (await client.get(CITYNET)).headers["etag"]
    await client.patch(CITYNET, json={"scope": "Asia"}, headers=admin_headers)
    audit_rows = await db.count("audit_events")

    refused = await client.delete(CITYNET, headers={**admin_headers, "If-Match": stale})
    assert refused.status_code == 412
    assert (await client.get(CITYNET)).status_code == 200
    assert await db.count("audit_events") == audit_rows


async def test_delete_with_the_current_if_match_succeeds(
    client: httpx.AsyncClient, admin_headers: dict[str, str]
) -> None:
    await create_network(client, admin_headers, "citynet")
    etag = (await client.get(CITYNET)).headers["etag"]
    response = await client.delete(CITYNET, headers={**admin_headers, "If-Match": etag})
    assert response.status_code == 204
    assert (await client.get(CITYNET)).status_code == 404


async def test_if_match_star_matches_any_current_representation(
    client: httpx.AsyncClient, admin_headers: dict[str, str]
) -> None:
    await create_network(client, admin_headers, "citynet")
    patched = await client.patch(
        CITYNET, json={"scope": "Asia"}, headers={**admin_headers, "If-Match": "*"}
    )
    assert patched.status_code == 200
    deleted = await client.delete(CITYNET, headers={**admin_headers, "If-Match": "*"})
    assert deleted.status_code == 204


async def test_if_match_among_several_etags_succeeds_when_one_is_current(
    client: httpx.AsyncClient, admin_headers: dict[str, str]
) -> None:
    await create_network(client, admin_headers, "citynet")
    etag = (await client.get(CITYNET)).headers["etag"]
    response = await client.patch(
        CITYNET,
        json={"scope": "Asia"},
        headers={**admin_headers, "If-Match": f'"0123", {etag}'},
    )
    assert response.status_code == 200


async def test_if_none_match_uses_weak_comparison(
    client: httpx.AsyncClient, admin_headers: dict[str, str]
) -> None:
    await create_network(client, admin_headers, "citynet")
    etag = (await client.get(CITYNET)).headers["etag"]
    response = await client.get(CITYNET, headers={"If-None-Match": f'"other", W/{etag}'})
    assert response.status_code == 304


async def test_concurrent_patches_with_one_if_match_let_exactly_one_win(
    client: httpx.AsyncClient, admin_headers: dict[str, str], db: Database
) -> None:
    await create_network(client, admin_headers, "citynet")
    etag = (await client.get(CITYNET)).headers["etag"]
    audit_rows = await db.count("audit_events")
    responses = await asyncio.gather(
        *(
            client.patch(
                CITYNET,
                json={"scope": f"scope-{number}"},
                headers={**admin_headers, "If-Match": etag},
            )
            for number in range(6)
        )
    )
    statuses = sorted(response.status_code for response in responses)
    assert statuses == [200, 412, 412, 412, 412, 412]
    [winner] = [response for response in responses if response.status_code == 200]
    assert (await client.get(CITYNET)).json()["scope"] == winner.json()["scope"]
    assert await db.count("audit_events") == audit_rows + 1


async def test_head_answers_with_the_headers_of_get(
    client: httpx.AsyncClient, admin_headers: dict[str, str]
) -> None:
    await create_network(client, admin_headers, "citynet")
    get = await client.get(CITYNET)
    head = await client.head(CITYNET)
    assert head.status_code == 200
    assert head.headers["etag"] == get.headers["etag"]
