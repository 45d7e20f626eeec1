"""Webhook subscriptions through the API: signed deliveries (checked with the maintained
`standardwebhooks` library), the secret shown once, targets that cannot reach the
service's own network, who may subscribe to what, the delivery log, test events, and
retries in feed order until the subscription is disabled with its reason."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from standardwebhooks import Webhook, WebhookVerificationError

from netregistry.config import Settings
from tests.conftest import Keys, running, test_settings
from tests.registry import builders
from tests.webhooks.receiver import Receiver, receiving, verified

Headers = dict[str, str]


@pytest.fixture
def settings(database_url: str, tmp_path: Path) -> Settings:
    return test_settings(database_url, tmp_path).model_copy(
        update={
            "webhook_allowed_addresses": ["127.0.0.1/32"],
            "webhook_first_retry_seconds": 0.2,
            "webhook_longest_retry_seconds": 0.4,
            "webhook_retry_seconds": 3.0,
            "webhook_timeout_seconds": 2.0,
        }
    )


@pytest.fixture
async def receiver() -> AsyncIterator[Receiver]:
    async with receiving() as receiver:
        yield receiver


async def subscribe(
    client: httpx.AsyncClient, headers: Headers, url: str, **fields: Any
) -> dict[str, Any]:
    response = await client.post("/v1/webhooks", json={"url": url, **fields}, headers=headers)
    assert response.status_code == 201, response.text
    created: dict[str, Any] = response.json()
    return created


async def feed(client: httpx.AsyncClient, **params: str) -> list[dict[str, Any]]:
    response = await client.get("/v1/changes", params={"limit": "1000", **params})
    assert response.status_code == 200, response.text
    items: list[dict[str, Any]] = response.json()["items"]
    return items


async def deliveries(client: httpx.AsyncClient, headers: Headers, hook: str) -> list[Any]:
    response = await client.get(f"/v1/webhooks/{hook}/deliveries", headers=headers)
    assert response.status_code == 200, response.text
    items: list[Any] = response.json()["items"]
    return items


async def test_a_change_is_delivered_signed_and_the_secret_is_shown_once(
    client: httpx.AsyncClient, admin_headers: Headers, receiver: Receiver
) -> None:
    await builders.network(client, admin_headers)
    hook = await subscribe(client, admin_headers, receiver.url, description="mirror")
    secret = hook["secret"]
    assert secret.startswith("whsec_")
    city = await builders.city(client, admin_headers, "Seoul")
    await builders.membership(client, admin_headers, city["id"])
    await receiver.until(2)
    changes = [item for item in await feed(client) if int(item["cursor"]) > int(hook["position"])]
    assert [verified(secret, entry) for entry in receiver.received] == changes
    assert [entry.headers["webhook-id"] for entry in receiver.received] == [
        f"chg_{change['cursor']}" for change in changes
    ]
    assert receiver.received[0].headers["content-type"] == "application/json"
    with pytest.raises(WebhookVerificationError):
        Webhook("whsec_" + "A" * 32).verify(receiver.received[0].body, receiver.received[0].headers)
    # Never again: not on reading, listing or changing it.
    read = await client.get(f"/v1/webhooks/{hook['id']}", headers=admin_headers)
    listed = await client.get("/v1/webhooks", headers=admin_headers)
    patched = await client.patch(
        f"/v1/webhooks/{hook['id']}", json={"description": "renamed"}, headers=admin_headers
    )
    for response in (read, listed, patched):
        assert response.status_code == 200, response.text
        assert secret not in response.text
        assert "secret" not in response.text
    # The position moves once the receiver's 2xx is back, just after the receiver saw it.
    position = read.json()["position"]
    for _ in range(100):
        if position == changes[-1]["cursor"]:
            break
        await asyncio.sleep(0.05)
        again = await client.get(f"/v1/webhooks/{hook['id']}", headers=admin_headers)
        position = again.json()["position"]
    assert position == changes[-1]["cursor"]
    log = await deliveries(client, admin_headers, hook["id"])
    assert [(entry["cursor"], entry["succeeded"], entry["status_code"]) for entry in log] == [
        (change["cursor"], True, 204) for change in reversed(changes)
    ]
    assert all(entry["latency_ms"] >= 0 and entry["error"] is None for entry in log)
    # A test event: signed, answered with its outcome, in the log; no change moved.
    tested = await client.post(f"/v1/webhooks/{hook['id']}/test", headers=admin_headers)
    assert tested.status_code == 201, tested.text
    assert tested.json()["succeeded"] is True
    assert tested.json()["cursor"] is None
    test_event = verified(secret, receiver.received[-1])
    assert test_event["type"] == "webhook.test"
    assert test_event["subscription_id"] == hook["id"]
    assert len(receiver.received) == 3


async def test_deliveries_follow_the_filters_and_start_where_asked(
    client: httpx.AsyncClient, admin_headers: Headers, receiver: Receiver
) -> None:
    await builders.network(client, admin_headers)
    await builders.network(client, admin_headers, "metropolis")
    hook = await subscribe(client, admin_headers, receiver.url, networks=["metropolis"], after="0")
    city = await builders.city(client, admin_headers, "Seoul")
    await builders.membership(client, admin_headers, city["id"])
    await builders.membership(client, admin_headers, city["id"], network="metropolis")
    await client.patch(f"/v1/cities/{city['id']}", json={"population": 1}, headers=admin_headers)
    wanted = await feed(client, network="metropolis")
    await receiver.until(len(wanted))
    await asyncio.sleep(0.5)
    assert [verified(hook["secret"], entry) for entry in receiver.received] == wanted
    assert wanted[0]["resource_type"] == "network"  # from the beginning: after=0


@pytest.mark.parametrize(
    ("url", "says"),
    [
        ("http://93.184.215.14/hook", "https"),
        ("https://10.1.2.3/hook", "10.1.2.3"),
        ("https://169.254.169.254/latest/meta-data", "169.254.169.254"),
        ("https://[::1]:9/hook", "::1"),
        ("https://192.168.0.1/", "private"),
        ("ftp://127.0.0.1/hook", "use an https URL"),
        ("https://user:pw@127.0.0.1/hook", "user name"),
        ("https://127.0.0.1:99999/hook", "not a URL"),
        ("https://no-such-host.invalid/hook", "cannot be resolved"),
    ],
)
async def test_a_target_in_a_private_network_or_without_https_is_refused(
    client: httpx.AsyncClient, admin_headers: Headers, db: Any, url: str, says: str
) -> None:
    response = await client.post("/v1/webhooks", json={"url": url}, headers=admin_headers)
    assert response.status_code == 422, response.text
    assert ["body", "url"] in [error["location"] for error in response.json()["errors"]]
    assert says in response.text
    assert await db.count("webhook_subscriptions") == 0


async def test_loopback_is_refused_unless_the_operator_allows_it(
    database_url: str, tmp_path: Path, receiver: Receiver
) -> None:
    async with running(test_settings(database_url, tmp_path)) as app:
        admin = {"Authorization": f"Bearer {await Keys(app).create('ops', admin=True)}"}
        async with httpx.AsyncClient(
            transport=httpx.ASGITransport(app=app), base_url="http://test"
        ) as client:
            response = await client.post("/v1/webhooks", json={"url": receiver.url}, headers=admin)
    assert response.status_code == 422, response.text
    assert "127.0.0.1" in response.json()["detail"]


async def test_a_scoped_key_subscribes_only_to_its_own_networks_and_sees_only_its_own(
    client: httpx.AsyncClient, admin_headers: Headers, keys: Keys, receiver: Receiver
) -> None:
    await builders.network(client, admin_headers)
    await builders.network(client, admin_headers, "metropolis")
    scoped = {"Authorization": f"Bearer {await keys.create('c', networks=['citynet'])}"}
    other = {"Authorization": f"Bearer {await keys.create('m', networks=['metropolis'])}"}
    for networks in ([], ["metropolis"], ["citynet", "metropolis"]):
        refused = await client.post(
            "/v1/webhooks", json={"url": receiver.url, "networks": networks}, headers=scoped
        )
        assert refused.status_code == 403, refused.text
    hook = await subscribe(client, scoped, receiver.url, networks=["citynet"])
    widened = await client.patch(
        f"/v1/webhooks/{hook['id']}", json={"networks": ["metropolis"]}, headers=scoped
    )
    assert widened.status_code == 403
    for path in ("", "/deliveries"):
        assert (
            await client.get(f"/v1/webhooks/{hook['id']}{path}", headers=other)
        ).status_code == 404
    assert (await client.delete(f"/v1/webhooks/{hook['id']}", headers=other)).status_code == 404
    assert (await client.get("/v1/webhooks", headers=other)).json()["items"] == []
    assert [
        item["id"] for item in (await client.get("/v1/webhooks", headers=scoped)).json()["items"]
    ] == [hook["id"]]
    assert (
        await client.get(f"/v1/webhooks/{hook['id']}", headers=admin_headers)
    ).status_code == 200
    assert (await client.get("/v1/webhooks")).status_code == 401
    assert (await client.post("/v1/webhooks", json={"url": receiver.url})).status_code == 401
    deleted = await client.delete(f"/v1/webhooks/{hook['id']}", headers=scoped)
    assert deleted.status_code == 204


async def test_a_failing_receiver_gets_retries_in_feed_order_then_everything(
    client: httpx.AsyncClient, admin_headers: Headers, receiver: Receiver
) -> None:
    await builders.network(client, admin_headers)
    hook = await subscribe(client, admin_headers, receiver.url)
    receiver.status = 500
    for name in ("Seoul", "Busan", "Incheon"):
        await builders.city(client, admin_headers, name)
    await receiver.until(3, accepted=False)
    assert {entry.headers["webhook-id"] for entry in receiver.received} == {
        receiver.received[0].headers["webhook-id"]
    }  # the first change, again and again: the others wait their turn
    receiver.status = 200
    await receiver.until(3)
    changes = [item for item in await feed(client) if int(item["cursor"]) > int(hook["position"])]
    ids = [entry.headers["webhook-id"] for entry in receiver.received]
    assert ids[-3:] == [f"chg_{change['cursor']}" for change in changes]
    assert [verified(hook["secret"], entry) for entry in receiver.accepted()] == changes
    log = list(reversed(await deliveries(client, admin_headers, hook["id"])))
    failed = [entry for entry in log if not entry["succeeded"]]
    assert [entry["attempt"] for entry in failed] == list(range(1, len(failed) + 1))
    assert all(entry["error"] == "answered HTTP 500" for entry in failed)
    assert all(entry["next_retry_at"] for entry in failed)
    assert log[len(failed)]["attempt"] == len(failed) + 1
    assert log[len(failed)]["succeeded"]


async def test_a_receiver_failing_for_the_retry_time_disables_it_and_enabling_resumes(
    client: httpx.AsyncClient, admin_headers: Headers, receiver: Receiver, app: FastAPI
) -> None:
    hook = await subscribe(client, admin_headers, receiver.url)
    receiver.status = 503
    await builders.network(client, admin_headers)
    await builders.city(client, admin_headers, "Seoul")
    for _ in range(100):
        read = (await client.get(f"/v1/webhooks/{hook['id']}", headers=admin_headers)).json()
        if not read["enabled"]:
            break
        await asyncio.sleep(0.1)
    assert read["enabled"] is False
    assert "HTTP 503" in read["disabled_reason"]
    assert "failed attempts" in read["disabled_reason"]
    attempts = len(receiver.received)
    await asyncio.sleep(0.6)
    assert len(receiver.received) == attempts  # disabled: nothing more is sent
    receiver.status = 204
    enabled = await client.patch(
        f"/v1/webhooks/{hook['id']}", json={"enabled": True}, headers=admin_headers
    )
    assert enabled.status_code == 200
    assert enabled.json()["disabled_reason"] is None
    await receiver.until(2)
    changes = [item for item in await feed(client) if int(item["cursor"]) > int(hook["position"])]
    assert [verified(hook["secret"], entry) for entry in receiver.accepted()] == changes
