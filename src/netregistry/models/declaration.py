from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy import CheckConstraint, ForeignKey, Integer, String, Text, UniqueConstraint
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, mapped_column

from netregistry.kit.dates import PATTERN as DATE_PATTERN
from netregistry.kit.dates import PartialDate, PartialDateType
from netregistry.models.base import Base, Timestamps, UUIDPrimaryKey


class Declaration(UUIDPrimaryKey, Timestamps, Base):
    """Figures a network states about itself on a date ("85 full members and 46
    associate members", 2013), with their source: facts of the network, not counts of
    its rows. The one in force on a day is the latest whose date began on or before it."""

    __tablename__ = "declarations"
    __table_args__ = (
        UniqueConstraint("network_id", "date"),
        CheckConstraint(f"date ~ '{DATE_PATTERN}'", name="date_format"),
        CheckConstraint("countries >= 0", name="countries_positive"),
        CheckConstraint("total >= 0", name="total_positive"),
        CheckConstraint("jsonb_typeof(by_category) = 'object'", name="by_category_object"),
        CheckConstraint(
            "total IS NOT NULL OR countries IS NOT NULL OR by_category <> '{}'::jsonb",
            name="has_figures",
        ),
        CheckConstraint("source IS NOT NULL OR source_url IS NOT NULL", name="has_source"),
    )

    network_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("networks.id", ondelete="RESTRICT"))
    date: Mapped[PartialDate] = mapped_column(PartialDateType)
    by_category: Mapped[dict[str, Any]] = mapped_column(JSONB)
    total: Mapped[int | None] = mapped_column(Integer)
    countries: Mapped[int | None] = mapped_column(Integer)
    source: Mapped[str | None] = mapped_column(String(500))
    source_url: Mapped[str | None] = mapped_column(String(2000))
    note: Mapped[str | None] = mapped_column(Text)
