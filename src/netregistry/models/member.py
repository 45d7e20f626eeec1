from __future__ import annotations

from sqlalchemy import (
    BigInteger,
    CheckConstraint,
    Computed,
    Float,
    Index,
    Integer,
    String,
    Text,
    text,
)
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.orm import Mapped, mapped_column

from netregistry.models.base import Base, Timestamps, UUIDPrimaryKey


class Member(UUIDPrimaryKey, Timestamps, Base):
    """A member of networks: a city (local government) or an organization.

    Both live in one table so that a membership or tenure points at either with one
    foreign key; ``kind`` says which, and the kind-specific columns stay null otherwise.
    """

    __tablename__ = "members"
    __table_args__ = (
        CheckConstraint("kind IN ('city', 'organization')", name="kind"),
        CheckConstraint("kind = 'organization' OR country_code IS NOT NULL", name="city_country"),
        CheckConstraint("country_code ~ '^[A-Z]{2}$'", name="country_code_format"),
        CheckConstraint("wikidata ~ '^Q[1-9][0-9]*$'", name="wikidata_format"),
        CheckConstraint("latitude BETWEEN -90 AND 90", name="latitude_range"),
        CheckConstraint("longitude BETWEEN -180 AND 180", name="longitude_range"),
        CheckConstraint("population >= 0", name="population_positive"),
        CheckConstraint("geonames > 0", name="geonames_positive"),
        CheckConstraint("iso3166_2 ~ '^[A-Z]{2}-[A-Z0-9]{1,3}$'", name="iso3166_2_format"),
        CheckConstraint("unlocode ~ '^[A-Z]{2}[A-Z2-9]{3}$'", name="unlocode_format"),
        CheckConstraint(
            "kind = 'city' OR (iso3166_2 IS NULL AND unlocode IS NULL)",
            name="identifiers_of_cities",
        ),
        CheckConstraint(
            "left(iso3166_2, 2) = country_code AND left(unlocode, 2) = country_code",
            name="identifiers_country",
        ),
        Index(
            "ix_members_search_text",
            "search_text",
            postgresql_using="gin",
            postgresql_ops={"search_text": "gin_trgm_ops"},
        ),
        Index(None, "kind", "name", "id"),
        # Member lists are read in name order: a nested loop from here beats sorting them all.
        Index(None, "name", "id"),
        # Filtered by country, a member list walks the country's members in name order.
        Index(None, "country_code", "name", "id"),
    )

    kind: Mapped[str] = mapped_column(String(16))
    name: Mapped[str] = mapped_column(String(200))
    alt_names: Mapped[list[str]] = mapped_column(
        ARRAY(String(200)), server_default=text("'{}'::varchar[]")
    )
    country_code: Mapped[str | None] = mapped_column(String(2))
    subdivision: Mapped[str | None] = mapped_column(String(200))
    population: Mapped[int | None] = mapped_column(BigInteger)
    latitude: Mapped[float | None] = mapped_column(Float)
    longitude: Mapped[float | None] = mapped_column(Float)
    geonames: Mapped[int | None] = mapped_column(Integer, unique=True)
    org_type: Mapped[str | None] = mapped_column(String(100))
    website: Mapped[str | None] = mapped_column(String(2000))
    wikidata: Mapped[str | None] = mapped_column(String(20), unique=True)
    # Typed identifiers of cities (migration 0016): an ISO 3166-2 subdivision code for a
    # city that is a subdivision of its own (Seoul, KR-11), and its UN/LOCODE (KRSEL).
    iso3166_2: Mapped[str | None] = mapped_column(String(6), unique=True)
    unlocode: Mapped[str | None] = mapped_column(String(5), unique=True)
    # The name and alternative names folded by public.fold_name (netregistry.registry.names),
    # for the trigram index that name search reads.
    search_text: Mapped[str] = mapped_column(
        Text, Computed("member_search_text(name, alt_names)", persisted=True)
    )
