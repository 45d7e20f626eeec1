from __future__ import annotations

import uuid

from sqlalchemy import (
    CheckConstraint,
    Computed,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column

from netregistry.models.base import Base, HistoricalPeriod, UUIDPrimaryKey, period_constraints

NAME_KINDS = ("official", "common", "short", "acronym", "former")
LANG_PATTERN = r"^[A-Za-z]{2,8}(-[A-Za-z0-9]{1,8})*$"


class Name(UUIDPrimaryKey, HistoricalPeriod, Base):
    """One name of a member or of a network: its text, BCP 47 language, kind and period
    (migration 0013). ``members.alt_names`` is derived from a member's names."""

    __tablename__ = "names"
    __table_args__ = (
        CheckConstraint("num_nonnulls(member_id, network_id) = 1", name="one_owner"),
        CheckConstraint(f"kind IN ({', '.join(repr(k) for k in NAME_KINDS)})", name="kind"),
        CheckConstraint(f"lang ~ '{LANG_PATTERN}'", name="lang_format"),
        CheckConstraint("text IS NFC NORMALIZED", name="text_nfc"),
        CheckConstraint("btrim(text) <> ''", name="text_not_blank"),
        *period_constraints(),
        # One owner's names do not repeat (same text, language and kind).
        UniqueConstraint("member_id", "text", "lang", "kind"),
        UniqueConstraint("network_id", "text", "lang", "kind"),
        Index(None, "member_id", "position"),
        Index(None, "network_id", "position"),
        Index(
            "ix_names_folded",
            "folded",
            postgresql_using="gin",
            postgresql_ops={"folded": "gin_trgm_ops"},
        ),
    )

    member_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("members.id", ondelete="CASCADE")
    )
    network_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("networks.id", ondelete="CASCADE")
    )
    position: Mapped[int] = mapped_column(Integer)
    text: Mapped[str] = mapped_column(String(200))
    lang: Mapped[str] = mapped_column(String(35))
    kind: Mapped[str] = mapped_column(String(16))
    folded: Mapped[str | None] = mapped_column(Text, Computed("fold_name(text)", persisted=True))


class CategoryLabel(Base):
    """A network category's label and description in one language (migration 0013)."""

    __tablename__ = "category_labels"
    __table_args__ = (
        CheckConstraint(f"lang ~ '{LANG_PATTERN}'", name="lang_format"),
        CheckConstraint("label IS NFC NORMALIZED", name="label_nfc"),
    )

    network_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("networks.id", ondelete="CASCADE"), primary_key=True
    )
    category: Mapped[str] = mapped_column(String(63), primary_key=True)
    lang: Mapped[str] = mapped_column(String(35), primary_key=True)
    position: Mapped[int] = mapped_column(Integer)
    label: Mapped[str] = mapped_column(String(200))
    description: Mapped[str | None] = mapped_column(Text)
