from __future__ import annotations

import uuid
from typing import TYPE_CHECKING

from sqlalchemy import CheckConstraint, ForeignKey, String, UniqueConstraint
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.orm import Mapped, mapped_column, relationship

from netregistry.models.base import Base, Timestamps, UUIDPrimaryKey

if TYPE_CHECKING:
    from netregistry.models.network import Network


class Role(UUIDPrimaryKey, Timestamps, Base):
    """An office a network defines: chair, executive, secretariat host..."""

    __tablename__ = "roles"
    __table_args__ = (
        UniqueConstraint("network_id", "slug"),
        CheckConstraint("max_holders >= 1", name="max_holders_positive"),
    )

    network_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("networks.id", ondelete="RESTRICT"))
    slug: Mapped[str] = mapped_column(String(63))
    name: Mapped[str] = mapped_column(String(200))
    max_holders: Mapped[int | None]
    requires_membership: Mapped[bool]
    eligible_categories: Mapped[list[str] | None] = mapped_column(ARRAY(String(63)))

    network: Mapped[Network] = relationship(lazy="raise")

    @property
    def network_slug(self) -> str:
        return self.network.slug
