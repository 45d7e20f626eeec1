"""Every commit that changes the registry notifies ``netregistry_changes``.

The read cache of each process (``kit/readcache.py``) drops what a change made stale
when it hears of it (``kit/invalidation.py``). The deferred trigger that gives every
audit event its place in the change feed runs at the commit of every change, so it is
where the notification is sent; PostgreSQL delivers it once the commit is visible, and
sends one notification per distinct payload and transaction (an import of 10,000 rows
into one network is one notification).

The payload is the network's slug, or empty when the change is not one network's: a
member's name, kind and country are in every network's member list, so a member write
drops everything. Like the rest of the body, ``pg_notify`` needs no schema (it is in
``pg_catalog``).

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-01 21:00:00.000000+00:00
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


NOTIFYING = """
CREATE OR REPLACE FUNCTION public.record_change() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    -- Runs at COMMIT (a deferred trigger). The lock is held until this transaction's
    -- commit is visible, so committers take positions one at a time, in commit order:
    -- no reader ever sees position N before every position below N.
    PERFORM pg_advisory_xact_lock(hashtextextended('netregistry:changes', 0));
    INSERT INTO public.changes (position, audit_event_id)
        VALUES (nextval('public.change_positions'), NEW.id);
    -- Delivered after the commit to every process's read cache: the network whose
    -- answers changed, or '' for a change that may show in any network's answers.
    PERFORM pg_notify('netregistry_changes', coalesce(NEW.network, ''));
    RETURN NULL;
END
$$"""

# The body of 0004, as it was.
SILENT = """
CREATE OR REPLACE FUNCTION public.record_change() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    -- Runs at COMMIT (a deferred trigger). The lock is held until this transaction's
    -- commit is visible, so committers take positions one at a time, in commit order:
    -- no reader ever sees position N before every position below N.
    PERFORM pg_advisory_xact_lock(hashtextextended('netregistry:changes', 0));
    INSERT INTO public.changes (position, audit_event_id)
        VALUES (nextval('public.change_positions'), NEW.id);
    RETURN NULL;
END
$$"""


def upgrade() -> None:
    op.execute(NOTIFYING)


def downgrade() -> None:
    op.execute(SILENT)
