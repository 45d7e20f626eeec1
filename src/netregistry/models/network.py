from __future__ import annotations

from sqlalchemy import CheckConstraint, String, Text
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.orm import Mapped, mapped_column

from netregistry.kit.dates import PATTERN as DATE_PATTERN
from netregistry.kit.dates import PartialDate, PartialDateType
from netregistry.kit.types import SLUG_PATTERN
from netregistry.models.base import Base, Timestamps, UUIDPrimaryKey


class Network(UUIDPrimaryKey, Timestamps, Base):
    """A city network: CITYNET, Metropolis, C40..."""

    __tablename__ = "networks"
    __table_args__ = (
        CheckConstraint(f"slug ~ '{SLUG_PATTERN}'", name="slug_format"),
        CheckConstraint(f"founded_on ~ '{DATE_PATTERN}'", name="founded_on_format"),
        CheckConstraint("cardinality(membership_categories) > 0", name="has_categories"),
    )

    slug: Mapped[str] = mapped_column(String(63), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    acronym: Mapped[str | None] = mapped_column(String(50))
    official_name: Mapped[str | None] = mapped_column(String(500))
    founded_on: Mapped[PartialDate | None] = mapped_column(PartialDateType)
    scope: Mapped[str | None] = mapped_column(String(200))
    website: Mapped[str | None] = mapped_column(String(2000))
    description: Mapped[str | None] = mapped_column(Text)
    membership_criteria: Mapped[str | None] = mapped_column(Text)
    membership_categories: Mapped[list[str]] = mapped_column(ARRAY(String(63)))
