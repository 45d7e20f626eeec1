"""Typed identifiers of cities: ISO 3166-2 subdivision codes and UN/LOCODEs (issue 13).

Each names one city at most (unique), is written in its canonical form (``KR-11``,
``KRSEL``), and begins with the city's country code: a code of another country is
refused by the database, whichever write path sends it.

Revision ID: 0016
Revises: 0015
Create Date: 2026-12-03 17:40:00+00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0016"
down_revision: str | None = "0015"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column("members", sa.Column("iso3166_2", sa.String(length=6), nullable=True))
    op.add_column("members", sa.Column("unlocode", sa.String(length=5), nullable=True))
    op.create_unique_constraint(op.f("uq_members_iso3166_2"), "members", ["iso3166_2"])
    op.create_unique_constraint(op.f("uq_members_unlocode"), "members", ["unlocode"])
    op.create_check_constraint(
        op.f("ck_members_iso3166_2_format"), "members", "iso3166_2 ~ '^[A-Z]{2}-[A-Z0-9]{1,3}$'"
    )
    op.create_check_constraint(
        op.f("ck_members_unlocode_format"), "members", "unlocode ~ '^[A-Z]{2}[A-Z2-9]{3}$'"
    )
    op.create_check_constraint(
        op.f("ck_members_identifiers_of_cities"),
        "members",
        "kind = 'city' OR (iso3166_2 IS NULL AND unlocode IS NULL)",
    )
    op.create_check_constraint(
        op.f("ck_members_identifiers_country"),
        "members",
        "left(iso3166_2, 2) = country_code AND left(unlocode, 2) = country_code",
    )


def downgrade() -> None:
    op.drop_column("members", "unlocode")
    op.drop_column("members", "iso3166_2")
