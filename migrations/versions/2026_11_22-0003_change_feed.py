"""The change feed: every audit event gets a position in commit order.

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-22 05:46:54.696459+00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


RECORD_CHANGE = """
CREATE FUNCTION record_change() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    -- Runs at COMMIT (a deferred trigger). The lock is held until this transaction's
    -- commit is visible, so committers take positions one at a time, in commit order:
    -- no reader ever sees position N before every position below N.
    PERFORM pg_advisory_xact_lock(hashtextextended('netregistry:changes', 0));
    INSERT INTO changes (position, audit_event_id) VALUES (nextval('change_positions'), NEW.id);
    RETURN NULL;
END
$$
"""

TRIGGER = """
CREATE CONSTRAINT TRIGGER audit_events_record_change
    AFTER INSERT ON audit_events DEFERRABLE INITIALLY DEFERRED
    FOR EACH ROW EXECUTE FUNCTION record_change()
"""


def upgrade() -> None:
    op.execute(sa.schema.CreateSequence(sa.Sequence("change_positions")))
    op.create_table(
        "changes",
        sa.Column("position", sa.BigInteger(), nullable=False),
        sa.Column("audit_event_id", sa.BigInteger(), nullable=False),
        sa.Column(
            "committed_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("clock_timestamp()"),
            nullable=False,
        ),
        sa.ForeignKeyConstraint(
            ["audit_event_id"],
            ["audit_events.id"],
            name=op.f("fk_changes_audit_event_id_audit_events"),
            ondelete="RESTRICT",
        ),
        sa.PrimaryKeyConstraint("position", name=op.f("pk_changes")),
        sa.UniqueConstraint("audit_event_id", name=op.f("uq_changes_audit_event_id")),
    )
    # Changes made before the feed existed, in the order they were recorded.
    op.execute(
        "INSERT INTO changes (position, audit_event_id) "
        "SELECT nextval('change_positions'), id FROM audit_events ORDER BY id"
    )
    op.execute(RECORD_CHANGE)
    op.execute(TRIGGER)
    # The feed is as append-only as the audit log it orders.
    for timing in ("BEFORE UPDATE OR DELETE", "BEFORE TRUNCATE"):
        level = "STATEMENT" if "TRUNCATE" in timing else "ROW"
        name = "changes_no_truncate" if "TRUNCATE" in timing else "changes_append_only"
        op.execute(
            f"CREATE TRIGGER {name} {timing} ON changes "
            f"FOR EACH {level} EXECUTE FUNCTION audit_events_append_only()"
        )


def downgrade() -> None:
    op.execute("DROP TRIGGER changes_no_truncate ON changes")
    op.execute("DROP TRIGGER changes_append_only ON changes")
    op.execute("DROP TRIGGER audit_events_record_change ON audit_events")
    op.execute("DROP FUNCTION record_change()")
    op.drop_table("changes")
    op.execute(sa.schema.DropSequence(sa.Sequence("change_positions")))
