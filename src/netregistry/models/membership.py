from __future__ import annotations

import uuid
from typing import TYPE_CHECKING

from sqlalchemy import FetchedValue, ForeignKey, Index, String, Text
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


class Membership(UUIDPrimaryKey, HistoricalPeriod, Timestamps, Base):
    """A member belongs to a network in one category over ``[start_date, end_date)``.

    ``period`` is the range of days certainly inside the stated dates, computed by the
    database (``certain_period``); the exclusion constraint keeps one member's
    memberships of one network from overlapping.
    """

    __tablename__ = "memberships"
    __table_args__ = (
        *period_constraints(),
        ExcludeConstraint(
            ("network_id", "="),
            ("member_id", "="),
            ("period", "&&"),
            name="ex_memberships_no_overlap",
            using="gist",
        ),
        Index("ix_memberships_network_period", "network_id", "period", postgresql_using="gist"),
        # A name search's probe of each matching member's membership.
        Index(None, "network_id", "member_id"),
        # A network's member list, walked in member name order (migration 0012), also
        # of one country or of one kind.
        Index(None, "network_id", "member_name", "member_id"),
        Index(None, "network_id", "member_country", "member_name", "member_id"),
        Index(None, "network_id", "member_kind", "member_name", "member_id"),
        # Counts per network (deduplicated: a few pages for a network's entries).
        Index(None, "network_id"),
        Index(None, "member_id"),
    )

    network_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("networks.id", ondelete="RESTRICT"))
    member_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("members.id", ondelete="RESTRICT"))
    category: Mapped[str] = mapped_column(String(63))
    source_url: Mapped[str | None] = mapped_column(String(2000))
    note: Mapped[str | None] = mapped_column(Text)
    # The member's kind, country and name, kept equal to the member's by triggers
    # (migrations 0008 and 0012), so that a network's stats and member list read no
    # other table. Never written here.
    member_kind: Mapped[str | None] = mapped_column(
        String(16), server_default=FetchedValue(), server_onupdate=FetchedValue()
    )
    member_country: Mapped[str | None] = mapped_column(
        String(2), server_default=FetchedValue(), server_onupdate=FetchedValue()
    )
    member_name: Mapped[str | None] = mapped_column(
        String(200), server_default=FetchedValue(), server_onupdate=FetchedValue()
    )

    member: Mapped[Member] = relationship(lazy="raise")
    network: Mapped[Network] = relationship(lazy="raise")

    @property
    def network_slug(self) -> str:
        return self.network.slug
