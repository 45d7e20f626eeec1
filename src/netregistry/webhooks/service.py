"""Webhook subscriptions: who may hold which, and what a subscription may point at.

A subscription belongs to the key that created it: that key (or an admin key) reads,
changes and deletes it, and reads its delivery log; no other key learns it exists. An
admin key may subscribe to anything; a key scoped to networks must name networks, all
of them its own, since the feed of a network is what its key may follow.

Subscriptions are not registry data: they are neither in the audit log nor in the
change feed (a secret would be in both).
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import UTC, datetime

from sqlalchemy.ext.asyncio import AsyncSession

from netregistry.auth.principal import Principal
from netregistry.changes.service import newest_position, parse_position
from netregistry.config import Settings
from netregistry.errors import Forbidden, NotFound, invalid
from netregistry.kit.etag import require_match
from netregistry.kit.pagination import PageRequest
from netregistry.models import WebhookDelivery, WebhookSubscription
from netregistry.webhooks import signing
from netregistry.webhooks.delivery import Sender, send_test
from netregistry.webhooks.repository import WebhookRepository
from netregistry.webhooks.schemas import (
    WebhookCreate,
    WebhookCreated,
    WebhookDeliveryRead,
    WebhookRead,
    WebhookTestEvent,
    WebhookUpdate,
)
from netregistry.webhooks.targets import TargetRefused, allowed_networks, resolve


def read_of(subscription: WebhookSubscription) -> WebhookRead:
    return WebhookRead(
        id=subscription.id,
        url=subscription.url,
        networks=list(subscription.networks),
        resource_types=list(subscription.resource_types),
        actions=list(subscription.actions),
        description=subscription.description,
        enabled=subscription.enabled,
        disabled_reason=subscription.disabled_reason,
        position=str(subscription.position),
        failures=subscription.failures,
        next_attempt_at=subscription.next_attempt_at,
        created_at=subscription.created_at,
    )


def delivery_of(delivery: WebhookDelivery) -> WebhookDeliveryRead:
    return WebhookDeliveryRead(
        id=delivery.id,
        message_id=delivery.message_id,
        cursor=str(delivery.position) if delivery.position is not None else None,
        attempt=delivery.attempt,
        attempted_at=delivery.attempted_at,
        status_code=delivery.status_code,
        error=delivery.error,
        latency_ms=delivery.latency_ms,
        succeeded=delivery.succeeded,
        next_retry_at=delivery.next_retry_at,
    )


class WebhookService:
    def __init__(self, session: AsyncSession, actor: Principal, settings: Settings) -> None:
        self.session = session
        self.repository = WebhookRepository(session)
        self.actor = actor
        self.settings = settings

    def _check_scope(self, networks: Sequence[str]) -> None:
        if self.actor.is_admin:
            return
        if not networks:
            raise Forbidden(
                f"The API key {self.actor.name!r} is scoped to networks: a subscription it "
                "makes must name them in `networks`."
            )
        others = sorted(set(networks) - self.actor.networks)
        if others:
            raise Forbidden(
                f"The API key {self.actor.name!r} may not follow {', '.join(others)}: only "
                f"its own networks ({', '.join(sorted(self.actor.networks)) or 'none'})."
            )

    async def _check_target(self, url: str) -> None:
        try:
            await resolve(url, allowed_networks(self.settings.webhook_allowed_addresses))
        except TargetRefused as refused:
            raise invalid("url", str(refused), type="webhook_target") from None

    async def _owned(self, subscription_id: uuid.UUID) -> WebhookSubscription:
        subscription = await self.repository.get(subscription_id)
        if subscription is None or not (
            self.actor.is_admin or subscription.owner_key_id == self.actor.key_id
        ):
            # Another key's subscription is not shown to exist.
            raise NotFound(f"No webhook subscription {subscription_id} for this key.")
        return subscription

    async def create(self, body: WebhookCreate) -> WebhookCreated:
        self._check_scope(body.networks)
        await self._check_target(body.url)
        if body.after is not None:
            position = parse_position(body.after)
            if position is None:
                raise invalid("after", "a cursor of the change feed: a non-negative integer")
        else:
            position = await newest_position(self.session)
        secret = signing.new_secret()
        subscription = await self.repository.add(
            WebhookSubscription(
                url=body.url,
                networks=sorted(set(body.networks)),
                resource_types=sorted(set(body.resource_types)),
                actions=sorted(set(body.actions)),
                description=body.description,
                secret=secret,
                owner_key_id=self.actor.key_id,
                position=position,
            )
        )
        return WebhookCreated(**read_of(subscription).model_dump(), secret=secret)

    async def list_page(self, page: PageRequest) -> tuple[list[WebhookRead], str | None]:
        owner = None if self.actor.is_admin else self.actor.key_id
        rows, next_cursor = await self.repository.list_page(page, owner)
        return [read_of(row) for row in rows], next_cursor

    async def get(self, subscription_id: uuid.UUID) -> WebhookRead:
        return read_of(await self._owned(subscription_id))

    async def update(
        self, subscription_id: uuid.UUID, body: WebhookUpdate, *, if_match: str | None
    ) -> WebhookRead:
        subscription = await self._owned(subscription_id)
        require_match(if_match, read_of(subscription))
        values = body.values(exclude_unset=True)
        if "networks" in values:
            values["networks"] = sorted(set(values["networks"]))
        self._check_scope(values.get("networks", subscription.networks))
        if "url" in values:
            await self._check_target(values["url"])
        for name in ("resource_types", "actions"):
            if name in values:
                values[name] = sorted(set(values[name]))
        if values.get("enabled") is True and not subscription.enabled:
            # Resumed at the change it stopped at, at once.
            values.update(
                disabled_reason=None,
                failures=0,
                failing_since=None,
                next_attempt_at=datetime.now(UTC),
            )
        elif values.get("enabled") is False:
            values.update(disabled_reason=None)
        return read_of(await self.repository.save(subscription, **values))

    async def delete(self, subscription_id: uuid.UUID, *, if_match: str | None) -> None:
        subscription = await self._owned(subscription_id)
        require_match(if_match, read_of(subscription))
        await self.repository.remove(subscription)

    async def deliveries(
        self, subscription_id: uuid.UUID, page: PageRequest
    ) -> tuple[list[WebhookDeliveryRead], str | None]:
        subscription = await self._owned(subscription_id)
        rows, next_cursor = await self.repository.deliveries_page(subscription.id, page)
        return [delivery_of(row) for row in rows], next_cursor

    async def send_test(self, subscription_id: uuid.UUID, sender: Sender) -> WebhookDeliveryRead:
        subscription = await self._owned(subscription_id)
        event = WebhookTestEvent(subscription_id=subscription.id, sent_at=datetime.now(UTC))
        delivery = await send_test(
            sender, self.session, subscription, event.model_dump_json().encode()
        )
        await self.session.refresh(delivery)
        return delivery_of(delivery)
