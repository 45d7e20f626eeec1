from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import (
    BigInteger,
    Boolean,
    DateTime,
    ForeignKey,
    Identity,
    Index,
    Integer,
    String,
    func,
)
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.orm import Mapped, mapped_column

from netregistry.models.base import Base, Timestamps


class WebhookSubscription(Timestamps, Base):
    """A partner's subscription to the change feed, delivered to its URL.

    ``position`` is the feed position delivered up to: deliveries follow the feed in
    order, one change at a time, and only an acknowledged (2xx) one moves it. The lease
    (``lease_holder``, ``lease_until``) says which process delivers now; another takes
    over once it lapses. ``secret`` is kept as given to the partner: signing needs it.
    """

    __tablename__ = "webhook_subscriptions"
    __table_args__ = (Index(None, "enabled", "next_attempt_at"),)

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=uuid.uuid4)
    url: Mapped[str] = mapped_column(String(2000))
    networks: Mapped[list[str]] = mapped_column(ARRAY(String(63)), server_default="{}")
    resource_types: Mapped[list[str]] = mapped_column(ARRAY(String(40)), server_default="{}")
    actions: Mapped[list[str]] = mapped_column(ARRAY(String(16)), server_default="{}")
    description: Mapped[str | None] = mapped_column(String(500))
    secret: Mapped[str] = mapped_column(String(100))
    owner_key_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("api_keys.id", ondelete="SET NULL")
    )
    enabled: Mapped[bool] = mapped_column(Boolean, server_default="true")
    disabled_reason: Mapped[str | None] = mapped_column(String(500))
    position: Mapped[int] = mapped_column(BigInteger, server_default="0")
    failures: Mapped[int] = mapped_column(Integer, server_default="0")
    failing_since: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    next_attempt_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), server_default=func.now()
    )
    lease_holder: Mapped[str | None] = mapped_column(String(100))
    lease_until: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))


class WebhookDelivery(Base):
    """One attempt to deliver a message (a change, or a test) to a subscription."""

    __tablename__ = "webhook_deliveries"
    __table_args__ = (Index(None, "subscription_id", "id"),)

    id: Mapped[int] = mapped_column(BigInteger, Identity(always=True), primary_key=True)
    subscription_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("webhook_subscriptions.id", ondelete="CASCADE")
    )
    message_id: Mapped[str] = mapped_column(String(100))
    position: Mapped[int | None] = mapped_column(BigInteger)
    attempt: Mapped[int] = mapped_column(Integer)
    attempted_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), server_default=func.now()
    )
    status_code: Mapped[int | None] = mapped_column(Integer)
    error: Mapped[str | None] = mapped_column(String(500))
    latency_ms: Mapped[int] = mapped_column(Integer)
    succeeded: Mapped[bool] = mapped_column(Boolean)
    next_retry_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
