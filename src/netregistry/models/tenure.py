from __future__ import annotations

import uuid
from typing import TYPE_CHECKING

from sqlalchemy import ForeignKey, Index, String, Text
from sqlalchemy.dialects.postgresql import ExcludeConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from netregistry.models.base import (
    Base,
    HistoricalPeriod,
    Timestamps,
    UUIDPrimaryKey,
    period_constraints,
)

if TYPE_CHECKING:
    from netregistry.models.member import Member
    from netregistry.models.network import Network
    from netregistry.models.role import Role


class Tenure(UUIDPrimaryKey, HistoricalPeriod, Timestamps, Base):
    """A member holds a role over ``[start_date, end_date)`` (see :class:`Membership`)."""

    __tablename__ = "tenures"
    __table_args__ = (
        *period_constraints(),
        ExcludeConstraint(
            ("role_id", "="),
            ("member_id", "="),
            ("period", "&&"),
            name="ex_tenures_no_double_holding",
            using="gist",
        ),
        Index("ix_tenures_role_period", "role_id", "period", postgresql_using="gist"),
        Index(
            "ix_tenures_network_member_period",
            "network_id",
            "member_id",
            "period",
            postgresql_using="gist",
        ),
        Index(None, "member_id"),
    )

    network_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("networks.id", ondelete="RESTRICT"))
    role_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("roles.id", ondelete="RESTRICT"))
    member_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("members.id", ondelete="RESTRICT"))
    representative: Mapped[str | None] = mapped_column(String(200))
    source_url: Mapped[str | None] = mapped_column(String(2000))
    note: Mapped[str | None] = mapped_column(Text)

    member: Mapped[Member] = relationship(lazy="raise")
    network: Mapped[Network] = relationship(lazy="raise")
    role: Mapped[Role] = relationship(lazy="raise")

    @property
    def network_slug(self) -> str:
        return self.network.slug

    @property
    def role_slug(self) -> str:
        return self.role.slug
