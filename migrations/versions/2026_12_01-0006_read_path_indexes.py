"""Indexes for the cold read path: memberships by network and member.

A big network's member list walks the members in name order and probes each one's
membership of the network; stats, the member list's choice of plan (how many
memberships the network has, counted up to a bound) and the probe read this btree
index. The GiST index on ``(network_id, period)`` still answers "in force on a day" for
the smaller networks, whose memberships are fetched and sorted.

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-01 22:00:00.000000+00:00
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_index(
        "ix_memberships_network_id_member_id", "memberships", ["network_id", "member_id"]
    )


def downgrade() -> None:
    op.drop_index("ix_memberships_network_id_member_id", table_name="memberships")
