"""The declarative base: naming convention, timestamps, UUID keys."""

from __future__ import annotations

import uuid
from datetime import date, datetime

from sqlalchemy import CheckConstraint, Computed, DateTime, MetaData, func
from sqlalchemy.dialects.postgresql import DATERANGE, Range
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from netregistry.kit.dates import PATTERN as DATE_PATTERN
from netregistry.kit.dates import PartialDate, PartialDateType

# Constraint names are predictable so that a violated constraint maps to a domain
# error by name (kit/integrity.py), never by parsing the server's message.
NAMING_CONVENTION = {
    "ix": "ix_%(table_name)s_%(column_0_N_name)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_N_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)


class UUIDPrimaryKey:
    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=uuid.uuid4)


class Timestamps:
    created_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), server_default=func.now(), nullable=False
    )
    updated_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), server_default=func.now(), onupdate=func.now(), nullable=False
    )


class HistoricalPeriod:
    """``[start_date, end_date)`` as the sources state it, and the days certainly inside.

    ``period`` is computed by the database (``certain_period``, mirroring
    ``netregistry.kit.dates``) so that rules and ``as_of`` queries use ranges and indexes.
    """

    start_date: Mapped[PartialDate | None] = mapped_column(PartialDateType)
    end_date: Mapped[PartialDate | None] = mapped_column(PartialDateType)
    period: Mapped[Range[date]] = mapped_column(
        DATERANGE, Computed("certain_period(start_date, end_date)", persisted=True)
    )


def period_constraints() -> tuple[CheckConstraint, ...]:
    """Well-formed dates, and at least one certain day (see :class:`HistoricalPeriod`)."""
    return (
        CheckConstraint(f"start_date ~ '{DATE_PATTERN}'", name="start_date_format"),
        CheckConstraint(f"end_date ~ '{DATE_PATTERN}'", name="end_date_format"),
        CheckConstraint("NOT isempty(period)", name="period_not_empty"),
    )
