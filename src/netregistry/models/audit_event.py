from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import BigInteger, DateTime, Identity, Index, String, func
from sqlalchemy.dialects.postgresql import ARRAY, JSONB
from sqlalchemy.orm import Mapped, mapped_column

from netregistry.models.base import Base


class AuditEvent(Base):
    """One committed change: who, when, what, before and after. Append-only (a trigger)."""

    __tablename__ = "audit_events"
    __table_args__ = (
        Index(None, "resource_type", "resource_id"),
        Index(None, "network"),
        Index(None, "networks", postgresql_using="gin"),
        Index(None, "occurred_at"),
    )

    id: Mapped[int] = mapped_column(BigInteger, Identity(always=True), primary_key=True)
    occurred_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), server_default=func.now()
    )
    actor_key_id: Mapped[uuid.UUID | None]
    actor_name: Mapped[str | None] = mapped_column(String(200))
    action: Mapped[str] = mapped_column(String(16))
    resource_type: Mapped[str] = mapped_column(String(40))
    resource_id: Mapped[str] = mapped_column(String(200))
    network: Mapped[str | None] = mapped_column(String(63))
    # Every network the change concerns: ``network``, or a member's networks (each sees it).
    networks: Mapped[list[str]] = mapped_column(ARRAY(String(63)), server_default="{}")
    before: Mapped[dict[str, Any] | None] = mapped_column(JSONB)
    after: Mapped[dict[str, Any] | None] = mapped_column(JSONB)
    # The server's own id of the request; the client's X-Request-ID, if any, beside it.
    request_id: Mapped[str | None] = mapped_column(String(100))
    client_request_id: Mapped[str | None] = mapped_column(String(100))
