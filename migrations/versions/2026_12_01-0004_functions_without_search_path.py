"""The schema's functions work under an empty search_path, so pg_restore can rebuild it.

pg_restore (like pg_dump) runs with ``search_path = ''``. Creating ``memberships`` and
``tenures`` there plans their generated ``period`` column, which parses the body of
``certain_period``; that body, and ``partial_date_last_day``'s, named the functions
they call without a schema, so both tables failed to be created, and a restore with
``--clean`` into the live database dropped them for good. ``record_change`` named the
feed's table and sequence without a schema too: a session with another search_path
that wrote an audit event failed at commit.

The bodies now qualify what lives in ``public``; ``pg_catalog`` is searched first under
any search_path, so built-ins stay as they are. ``SET search_path`` on the functions
would also do, but PostgreSQL never inlines an SQL function that has it (the
``partial_date_*`` functions are inlined into their callers) and it costs a
configuration change on every call. ``member_search_text`` already names
``public.unaccent`` and its dictionary; ``partial_date_first_day`` and
``audit_events_append_only`` use only built-ins.

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-01 20:12:00.000000+00:00
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


QUALIFIED = [
    """
CREATE OR REPLACE FUNCTION public.partial_date_last_day(value text) RETURNS date
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT CASE length(value)
        WHEN 4 THEN make_date(value::int, 12, 31)
        WHEN 7 THEN (make_date(substr(value, 1, 4)::int, substr(value, 6, 2)::int, 1)
                     + interval '1 month' - interval '1 day')::date
        ELSE public.partial_date_first_day(value)
    END
$$""",
    """
CREATE OR REPLACE FUNCTION public.certain_period(start_date text, end_date text)
RETURNS daterange LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT CASE
        WHEN lower_day IS NOT NULL AND upper_day IS NOT NULL AND lower_day >= upper_day
            THEN 'empty'::daterange
        ELSE daterange(lower_day, upper_day, '[)')
    END
    FROM (SELECT public.partial_date_last_day(start_date) AS lower_day,
                 public.partial_date_first_day(end_date) AS upper_day) AS bounds
$$""",
    """
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
$$""",
]

# The bodies of 0002 and 0003, as they were.
UNQUALIFIED = [
    """
CREATE OR REPLACE FUNCTION public.partial_date_last_day(value text) RETURNS date
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT CASE length(value)
        WHEN 4 THEN make_date(value::int, 12, 31)
        WHEN 7 THEN (make_date(substr(value, 1, 4)::int, substr(value, 6, 2)::int, 1)
                     + interval '1 month' - interval '1 day')::date
        ELSE partial_date_first_day(value)
    END
$$""",
    """
CREATE OR REPLACE FUNCTION public.certain_period(start_date text, end_date text)
RETURNS daterange LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT CASE
        WHEN lower_day IS NOT NULL AND upper_day IS NOT NULL AND lower_day >= upper_day
            THEN 'empty'::daterange
        ELSE daterange(lower_day, upper_day, '[)')
    END
    FROM (SELECT partial_date_last_day(start_date) AS lower_day,
                 partial_date_first_day(end_date) AS upper_day) AS bounds
$$""",
    """
CREATE OR REPLACE FUNCTION public.record_change() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    -- Runs at COMMIT (a deferred trigger). The lock is held until this transaction's
    -- commit is visible, so committers take positions one at a time, in commit order:
    -- no reader ever sees position N before every position below N.
    PERFORM pg_advisory_xact_lock(hashtextextended('netregistry:changes', 0));
    INSERT INTO changes (position, audit_event_id) VALUES (nextval('change_positions'), NEW.id);
    RETURN NULL;
END
$$""",
]


def upgrade() -> None:
    # Replacing a body changes no stored value: the functions compute what they did.
    for definition in QUALIFIED:
        op.execute(definition)


def downgrade() -> None:
    for definition in UNQUALIFIED:
        op.execute(definition)
