from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import DateTime, Index, LargeBinary, String, func
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, mapped_column

from netregistry.models.base import Base


class IdempotencyKey(Base):
    """A POST's Idempotency-Key and, once it succeeded, the response to replay."""

    __tablename__ = "idempotency_keys"
    __table_args__ = (Index(None, "created_at"),)

    owner: Mapped[str] = mapped_column(String(64), primary_key=True)
    key: Mapped[str] = mapped_column(String(255), primary_key=True)
    fingerprint: Mapped[str] = mapped_column(String(64))
    status_code: Mapped[int | None]
    response_headers: Mapped[dict[str, Any] | None] = mapped_column(JSONB)
    response_body: Mapped[bytes | None] = mapped_column(LargeBinary)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
