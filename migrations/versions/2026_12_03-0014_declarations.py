"""Declared figures: what a network states about itself on a date, with its source.

CITYNET's "85 full members and 46 associate members" (2013) and Metropolis's "163 member
cities in 65 countries" (2025) are facts of the network, not counts of its rows: each is
a row of ``declarations``, dated as the source dates it (YYYY, YYYY-MM or YYYY-MM-DD),
one per network and date. Stats and the public page show the one in force on a day (the
latest whose date began on or before it) beside the counted figures.

Revision ID: 0014
Revises: 0013
Create Date: 2026-12-03 12:30:00.000000+00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0014"
down_revision: str | None = "0013"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

DATE_PATTERN = r"^\d{4}(-\d{2}(-\d{2})?)?$"


def upgrade() -> None:
    op.create_table(
        "declarations",
        sa.Column("network_id", sa.Uuid(), nullable=False),
        sa.Column("date", sa.String(length=10), nullable=False),
        sa.Column("by_category", postgresql.JSONB(astext_type=sa.Text()), nullable=False),
        sa.Column("total", sa.Integer(), nullable=True),
        sa.Column("countries", sa.Integer(), nullable=True),
        sa.Column("source", sa.String(length=500), nullable=True),
        sa.Column("source_url", sa.String(length=2000), nullable=True),
        sa.Column("note", sa.Text(), nullable=True),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.Column(
            "updated_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.CheckConstraint(f"date ~ '{DATE_PATTERN}'", name=op.f("ck_declarations_date_format")),
        sa.CheckConstraint("countries >= 0", name=op.f("ck_declarations_countries_positive")),
        sa.CheckConstraint("total >= 0", name=op.f("ck_declarations_total_positive")),
        sa.CheckConstraint(
            "jsonb_typeof(by_category) = 'object'",
            name=op.f("ck_declarations_by_category_object"),
        ),
        sa.CheckConstraint(
            "total IS NOT NULL OR countries IS NOT NULL OR by_category <> '{}'::jsonb",
            name=op.f("ck_declarations_has_figures"),
        ),
        sa.CheckConstraint(
            "source IS NOT NULL OR source_url IS NOT NULL", name=op.f("ck_declarations_has_source")
        ),
        sa.ForeignKeyConstraint(
            ["network_id"],
            ["networks.id"],
            name=op.f("fk_declarations_network_id_networks"),
            ondelete="RESTRICT",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_declarations")),
        sa.UniqueConstraint("network_id", "date", name=op.f("uq_declarations_network_id_date")),
    )


def downgrade() -> None:
    op.drop_table("declarations")
