from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, DateTime, ForeignKey, Sequence, func
from sqlalchemy.orm import Mapped, mapped_column

from netregistry.models.base import Base

CHANGE_POSITIONS = Sequence("change_positions")


class Change(Base):
    """An audit event's place in the change feed, given when its transaction commits.

    A deferred trigger on ``audit_events`` inserts the row at commit time, under an
    advisory lock held until the commit is visible, so positions follow commit order: a
    reader that has seen position N can never later find a new change below N.
    """

    __tablename__ = "changes"

    position: Mapped[int] = mapped_column(BigInteger, CHANGE_POSITIONS, primary_key=True)
    audit_event_id: Mapped[int] = mapped_column(
        BigInteger, ForeignKey("audit_events.id", ondelete="RESTRICT"), unique=True
    )
    committed_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), server_default=func.clock_timestamp()
    )
