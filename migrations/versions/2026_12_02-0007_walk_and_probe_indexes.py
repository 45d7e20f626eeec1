"""Indexes for the member walks: memberships by network, members by country and name.

Whether a network is walked in members' name order is decided by counting its
memberships up to a bound: a bitmap of ``ix_memberships_network_id``, whose entries for
one network deduplicate into a few pages, costs a tenth of one over the two-column
``ix_memberships_network_id_member_id`` (which the walk's probe of each member reads).
A member list filtered by country walks ``ix_members_country_code_name_id`` in name
order, which replaces ``ix_members_country_code`` (its prefix) for equality on country.

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-02 02:00:00.000000+00:00
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0007"
down_revision: str | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_index("ix_memberships_network_id", "memberships", ["network_id"])
    op.create_index("ix_members_country_code_name_id", "members", ["country_code", "name", "id"])
    op.drop_index("ix_members_country_code", table_name="members")


def downgrade() -> None:
    op.create_index("ix_members_country_code", "members", ["country_code"])
    op.drop_index("ix_members_country_code_name_id", table_name="members")
    op.drop_index("ix_memberships_network_id", table_name="memberships")
