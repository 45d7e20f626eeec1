"""Memberships carry their member's name too, and a network's are indexed in name order.

A network's member list is in member name order. With only the member's kind and
country on the membership (migration 0008), a large network was walked over all members
in name order, probing each one's membership in the network: for a network holding a
quarter of the registry's members, four probes per row listed. With the name on the
membership too, the list walks the network's own memberships in that order
(``ix_memberships_network_id_member_name_member_id``, and for a list filtered by country
or kind the index of that filter's value in name order) and reads no other table: a row
listed is an index entry and its membership.

The triggers of migration 0008 now copy the name as well: a membership takes its
member's name when it is written or moved to another member, and a member's new name is
written through to its memberships in the same transaction.

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-02 13:40:00.000000+00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0012"
down_revision: str | None = "0011"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


TAKE_MEMBER_FACTS = """
CREATE OR REPLACE FUNCTION public.membership_member_facts() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    -- A membership written, or moved to another member, takes that member's facts.
    -- FOR SHARE waits for a change of the member in progress (and holds one off until
    -- this commits, when its write-through sees this row): never the facts of before.
    -- A member deleted meanwhile is not found: the foreign key then refuses the row.
    SELECT kind, country_code, name INTO NEW.member_kind, NEW.member_country, NEW.member_name
        FROM public.members WHERE id = NEW.member_id FOR SHARE;
    RETURN NEW;
END
$$"""

GIVE_MEMBER_FACTS = """
CREATE OR REPLACE FUNCTION public.member_facts_to_memberships() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    -- A member's new kind, country or name, written through to its memberships.
    UPDATE public.memberships
        SET member_kind = NEW.kind, member_country = NEW.country_code, member_name = NEW.name
        WHERE member_id = NEW.id;
    RETURN NULL;
END
$$"""

# The condition as one OR of three, which PostgreSQL prints as it reads it: a row
# comparison of three would print as nested ORs that a restored dump reads back flat.
WRITE_THROUGH = (
    "CREATE TRIGGER members_facts_to_memberships AFTER UPDATE OF kind, country_code, name"
    " ON members FOR EACH ROW WHEN (OLD.kind IS DISTINCT FROM NEW.kind"
    " OR OLD.country_code IS DISTINCT FROM NEW.country_code"
    " OR OLD.name IS DISTINCT FROM NEW.name)"
    " EXECUTE FUNCTION public.member_facts_to_memberships()"
)

# Migration 0008's, for the downgrade.
TAKE_MEMBER_FACTS_0008 = """
CREATE OR REPLACE FUNCTION public.membership_member_facts() RETURNS trigger
LANGUAGE plpgsql AS $$
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

GIVE_MEMBER_FACTS_0008 = """
CREATE OR REPLACE FUNCTION public.member_facts_to_memberships() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    -- A member's new kind or country, written through to its memberships.
    UPDATE public.memberships
        SET member_kind = NEW.kind, member_country = NEW.country_code
        WHERE member_id = NEW.id;
    RETURN NULL;
END
$$"""

WRITE_THROUGH_0008 = (
    "CREATE TRIGGER members_facts_to_memberships AFTER UPDATE OF kind, country_code"
    " ON members FOR EACH ROW WHEN ((OLD.kind, OLD.country_code)"
    " IS DISTINCT FROM (NEW.kind, NEW.country_code))"
    " EXECUTE FUNCTION public.member_facts_to_memberships()"
)


def upgrade() -> None:
    op.add_column("memberships", sa.Column("member_name", sa.String(200), nullable=True))
    op.execute(
        "UPDATE memberships SET member_name = members.name"
        " FROM members WHERE members.id = memberships.member_id"
    )
    op.execute(TAKE_MEMBER_FACTS)
    op.execute(GIVE_MEMBER_FACTS)
    op.execute("DROP TRIGGER members_facts_to_memberships ON members")
    op.execute(WRITE_THROUGH)
    for by in ([], ["member_country"], ["member_kind"]):
        columns = ["network_id", *by, "member_name", "member_id"]
        op.create_index(f"ix_memberships_{'_'.join(columns)}", "memberships", columns)


def downgrade() -> None:
    for index in ("member_name", "member_country_member_name", "member_kind_member_name"):
        op.drop_index(f"ix_memberships_network_id_{index}_member_id", "memberships")
    op.execute("DROP TRIGGER members_facts_to_memberships ON members")
    op.execute(WRITE_THROUGH_0008)
    op.execute(GIVE_MEMBER_FACTS_0008)
    op.execute(TAKE_MEMBER_FACTS_0008)
    op.drop_column("memberships", "member_name")
