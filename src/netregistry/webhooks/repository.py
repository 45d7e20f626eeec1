"""The SQL of webhook subscriptions, their leases and their delivery log."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import delete, func, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from netregistry.kit.pagination import PageRequest, fetch_page
from netregistry.models import Change, WebhookDelivery, WebhookSubscription

# Delivery log rows kept per subscription, newest first.
LOG_KEPT = 1000


class WebhookRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def add(self, subscription: WebhookSubscription) -> WebhookSubscription:
        self.session.add(subscription)
        await self.session.flush()
        await self.session.refresh(subscription)
        return subscription

    async def get(self, subscription_id: uuid.UUID) -> WebhookSubscription | None:
        return await self.session.get(WebhookSubscription, subscription_id)

    async def list_page(
        self, page: PageRequest, owner: uuid.UUID | None
    ) -> tuple[Sequence[WebhookSubscription], str | None]:
        """``owner``: only that key's subscriptions; None: all of them."""
        statement = select(WebhookSubscription)
        if owner is not None:
            statement = statement.where(WebhookSubscription.owner_key_id == owner)
        return await fetch_page(
            self.session,
            statement,
            order_by=[WebhookSubscription.created_at, WebhookSubscription.id],
            page=page,
            key=lambda row: [row.created_at, row.id],
        )

    async def save(self, subscription: WebhookSubscription, **values: Any) -> WebhookSubscription:
        for name, value in values.items():
            setattr(subscription, name, value)
        await self.session.flush()
        await self.session.refresh(subscription)
        return subscription

    async def remove(self, subscription: WebhookSubscription) -> None:
        await self.session.delete(subscription)
        await self.session.flush()

    async def deliveries_page(
        self, subscription_id: uuid.UUID, page: PageRequest
    ) -> tuple[Sequence[WebhookDelivery], str | None]:
        return await fetch_page(
            self.session,
            select(WebhookDelivery).where(WebhookDelivery.subscription_id == subscription_id),
            order_by=[WebhookDelivery.id],
            page=page,
            key=lambda row: [row.id],
            descending=True,
        )

    async def log(self, delivery: WebhookDelivery) -> WebhookDelivery:
        """Add an attempt to the log, keeping the newest :data:`LOG_KEPT` of its
        subscription."""
        self.session.add(delivery)
        await self.session.flush()
        oldest_kept = (
            select(WebhookDelivery.id)
            .where(WebhookDelivery.subscription_id == delivery.subscription_id)
            .order_by(WebhookDelivery.id.desc())
            .offset(LOG_KEPT - 1)
            .limit(1)
            .scalar_subquery()
        )
        await self.session.execute(
            delete(WebhookDelivery).where(
                WebhookDelivery.subscription_id == delivery.subscription_id,
                WebhookDelivery.id < oldest_kept,
            )
        )
        return delivery

    # The deliveries' lease: which process delivers a subscription now.

    async def claim(self, holder: str, lease: timedelta) -> WebhookSubscription | None:
        """Take the lease of one enabled subscription that is due, not leased (or whose
        lease lapsed) and behind the feed; rows another process is claiming are skipped
        (``SKIP LOCKED``), so two processes never take the same one."""
        newest = select(func.max(Change.position)).scalar_subquery()
        now = func.clock_timestamp()
        due = select(WebhookSubscription.id).where(
            WebhookSubscription.enabled,
            WebhookSubscription.next_attempt_at <= now,
            or_(
                WebhookSubscription.lease_until.is_(None),
                WebhookSubscription.lease_until < now,
            ),
            WebhookSubscription.position < func.coalesce(newest, 0),
        )
        # Most commits find nothing due: a read then, and no UPDATE statement (which would
        # fire the tables' statement triggers and take row locks for nothing).
        if not await self.session.scalar(select(due.exists())):
            return None
        candidate = (
            due.order_by(WebhookSubscription.next_attempt_at)
            .limit(1)
            .with_for_update(skip_locked=True)
            .scalar_subquery()
        )
        statement = (
            update(WebhookSubscription)
            .where(WebhookSubscription.id == candidate)
            .values(lease_holder=holder, lease_until=now + lease)
            .returning(WebhookSubscription)
            .execution_options(synchronize_session=False)
        )
        result = await self.session.execute(select(WebhookSubscription).from_statement(statement))
        return result.scalar_one_or_none()

    async def _held(self, subscription_id: uuid.UUID, holder: str, **values: Any) -> bool:
        """Change the subscription only while ``holder`` holds its lease."""
        result = await self.session.execute(
            update(WebhookSubscription)
            .where(
                WebhookSubscription.id == subscription_id,
                WebhookSubscription.lease_holder == holder,
                WebhookSubscription.enabled,
            )
            .values(**values)
            .returning(WebhookSubscription.id)
            .execution_options(synchronize_session=False)
        )
        return result.scalar_one_or_none() is not None

    async def renew(self, subscription_id: uuid.UUID, holder: str, lease: timedelta) -> bool:
        return await self._held(subscription_id, holder, lease_until=func.clock_timestamp() + lease)

    async def delivered(self, subscription_id: uuid.UUID, holder: str, position: int) -> bool:
        return await self._held(
            subscription_id,
            holder,
            position=func.greatest(WebhookSubscription.position, position),
            failures=0,
            failing_since=None,
        )

    async def failed(
        self,
        subscription_id: uuid.UUID,
        holder: str,
        *,
        failures: int,
        failing_since: datetime,
        next_attempt_at: datetime,
        disabled_reason: str | None,
    ) -> bool:
        values: dict[str, Any] = {
            "failures": failures,
            "failing_since": failing_since,
            "next_attempt_at": next_attempt_at,
            "lease_holder": None,
            "lease_until": None,
        }
        if disabled_reason is not None:
            values.update(enabled=False, disabled_reason=disabled_reason)
        return await self._held(subscription_id, holder, **values)

    async def release(self, subscription_id: uuid.UUID, holder: str) -> None:
        await self.session.execute(
            update(WebhookSubscription)
            .where(
                WebhookSubscription.id == subscription_id,
                WebhookSubscription.lease_holder == holder,
            )
            .values(lease_holder=None, lease_until=None)
            .execution_options(synchronize_session=False)
        )
