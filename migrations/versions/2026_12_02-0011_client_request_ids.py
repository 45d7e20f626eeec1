"""The client's X-Request-ID beside the server's own request id in the audit log.

``audit_events.request_id`` was the client's ``X-Request-ID`` when it sent one, so a client
could choose what the audit log calls its request (another request's id included). From
now on it is always the server's own id, and the client's goes in ``client_request_id``.
Entries written before keep what they have: which of their ids a client chose is not
known, so none is moved.

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-02 07:00:00.000000+00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0011"
down_revision: str | None = "0010"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column(
        "audit_events",
        sa.Column("client_request_id", sa.String(length=100), nullable=True),
    )


def downgrade() -> None:
    op.drop_column("audit_events", "client_request_id")
