"""Name folding defined once: ``fold_name``, which the search text and every match use.

Names were folded three ways that disagreed: ``member_search_text`` and the matching of
cities ran ``lower(unaccent(...))``, while the CSV import folded in Python (NFKD, which
leaves ``Ł`` alone: ``Łódź`` was ``łodz`` in a file and ``lodz`` in the registry).
``public.fold_name`` is now the definition (see ``netregistry.registry.names``): NFC,
then ``unaccent`` with its dictionary named (so the function is immutable), then lower
case, then every run of Unicode white space as one space, trimmed. The service asks the
database for keys rather than folding in Python.

``member_search_text`` folds through it, so the stored ``members.search_text`` (and its
trigram index) follows: replacing a function leaves stored values as they were, so the
rows whose search text changes (doubled spaces, the trailing space of a member without
alternative names) are rewritten here, and again on downgrade. The function normalises
Unicode, which PostgreSQL does only in a UTF8 database: another encoding is refused here
rather than at the first member written.

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-02 12:00:00.000000+00:00
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0009"
down_revision: str | None = "0008"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


REQUIRE_UTF8 = """
DO $$
BEGIN
    IF current_setting('server_encoding') <> 'UTF8' THEN
        RAISE EXCEPTION 'netregistry needs a UTF8 database, not %: names are compared '
            'after Unicode normalisation', current_setting('server_encoding');
    END IF;
END
$$"""

# The white space class is spelt out (Unicode's White_Space property), because what
# ``\s`` matches beyond ASCII depends on the database's locale. An E'' string, so the
# backslashes mean the same under any standard_conforming_strings.
FOLD_NAME = r"""
CREATE FUNCTION public.fold_name(name text) RETURNS text
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT btrim(regexp_replace(
        lower(public.unaccent('public.unaccent'::regdictionary, normalize(name, NFC))),
        E'[\\t\\n\\v\\f\\r \\u0085\\u00a0\\u1680\\u2000-\\u200a\\u2028\\u2029\\u202f\\u205f\\u3000]+',
        ' ', 'g'))
$$"""

SEARCH_TEXT_FOLDED = """
CREATE OR REPLACE FUNCTION public.member_search_text(name text, alt_names varchar[])
RETURNS text LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT public.fold_name(name || ' ' || array_to_string(alt_names, ' '))
$$"""

# The body of 0002, as it was.
SEARCH_TEXT_BEFORE = """
CREATE OR REPLACE FUNCTION public.member_search_text(name text, alt_names varchar[])
RETURNS text LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT lower(public.unaccent('public.unaccent'::regdictionary,
                                 name || ' ' || array_to_string(alt_names, ' ')))
$$"""

# Setting ``name`` to itself makes PostgreSQL compute the generated column again; only
# the rows whose value changes are written. No trigger of ``members`` fires on ``name``.
RECOMPUTE_SEARCH_TEXT = """
UPDATE members SET name = name
WHERE search_text IS DISTINCT FROM public.member_search_text(name, alt_names)
"""


def upgrade() -> None:
    op.execute(REQUIRE_UTF8)
    op.execute(FOLD_NAME)
    op.execute(SEARCH_TEXT_FOLDED)
    op.execute(RECOMPUTE_SEARCH_TEXT)


def downgrade() -> None:
    op.execute(SEARCH_TEXT_BEFORE)
    op.execute(RECOMPUTE_SEARCH_TEXT)
    op.execute("DROP FUNCTION public.fold_name(text)")
