"""Memberships carry their member's kind and country, kept equal by triggers.

A network's stats count its memberships in force by category, by the member's kind and
by distinct country. Reading kind and country from ``members`` joined every membership
in force of a network to its member (for a network of 15,000, a hash of the whole
members table on every request); with the two facts on the membership row the stats
read only the network's memberships. PostgreSQL keeps them equal to the member's: a
membership takes them when it is written or moved to another member, and a member's
change of kind or country is written through to its memberships in the same
transaction. The columns are nullable only so that a membership of a member deleted
meanwhile fails on its foreign key (which names the member) rather than on NOT NULL:
every committed membership has a member, and so its facts.

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-02 02:20:00.000000+00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0008"
down_revision: str | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


TAKE_MEMBER_FACTS = """
CREATE FUNCTION public.membership_member_facts() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    -- A membership written, or moved to another member, takes that member's facts.
    -- FOR SHARE waits for a change of the member in progress (and holds one off until
    -- this commits, when its write-through sees this row): never the facts of before.
    -- A member deleted meanwhile is not found: the foreign key then refuses the row.
    SELECT kind, country_code INTO NEW.member_kind, NEW.member_country
        FROM public.members WHERE id = NEW.member_id FOR SHARE;
    RETURN NEW;
END
$$"""

GIVE_MEMBER_FACTS = """
CREATE FUNCTION public.member_facts_to_memberships() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    -- A member's new kind or country, written through to its memberships.
    UPDATE public.memberships
        SET member_kind = NEW.kind, member_country = NEW.country_code
        WHERE member_id = NEW.id;
    RETURN NULL;
END
$$"""


def upgrade() -> None:
    op.add_column("memberships", sa.Column("member_kind", sa.String(16), nullable=True))
    op.add_column("memberships", sa.Column("member_country", sa.String(2), nullable=True))
    op.execute(
        "UPDATE memberships SET member_kind = members.kind, member_country = members.country_code"
        " FROM members WHERE members.id = memberships.member_id"
    )
    op.execute(TAKE_MEMBER_FACTS)
    op.execute(GIVE_MEMBER_FACTS)
    op.execute(
        "CREATE TRIGGER memberships_member_facts BEFORE INSERT OR UPDATE OF member_id"
        " ON memberships FOR EACH ROW EXECUTE FUNCTION public.membership_member_facts()"
    )
    op.execute(
        "CREATE TRIGGER members_facts_to_memberships AFTER UPDATE OF kind, country_code"
        " ON members FOR EACH ROW WHEN ((OLD.kind, OLD.country_code)"
        " IS DISTINCT FROM (NEW.kind, NEW.country_code))"
        " EXECUTE FUNCTION public.member_facts_to_memberships()"
    )


def downgrade() -> None:
    op.execute("DROP TRIGGER members_facts_to_memberships ON members")
    op.execute("DROP TRIGGER memberships_member_facts ON memberships")
    op.execute("DROP FUNCTION public.member_facts_to_memberships()")
    op.execute("DROP FUNCTION public.membership_member_facts()")
    op.drop_column("memberships", "member_country")
    op.drop_column("memberships", "member_kind")
