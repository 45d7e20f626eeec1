"""Names as the world writes them: language-tagged, dated names; category labels.

``names`` holds the names of members (cities, organizations) and of networks: the text
(NFC, one line), a BCP 47 language tag (validated by the service with ``langcodes``;
the database checks its form), a kind (``official``, ``common``, ``short``,
``acronym``, ``former``) and an optional period, with the partial-date rules of
memberships (``certain_period``). A name belongs to one member or to one network, and
one owner's names do not repeat (same text, language and kind).

``members.alt_names`` stays, derived: the texts of the member's names in their order,
each once, kept so by triggers in both directions. A change of ``names`` rewrites
``alt_names`` (so ``search_text`` and its trigram index see every name in every
script); a write of ``alt_names`` itself (a client of before, an older importer) is
carried over to ``names``: a text that left the list takes its names with it, a new
text becomes a name of undetermined language (``und``), kind ``common``. Today's
``alt_names`` become such names here, in NFC, without loss.

``public.display_name`` picks the name a reader asks for (netregistry.registry.names).

``category_labels`` gives each category of a network a label and a description per
language.

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-03 12:00:00.000000+00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0013"
down_revision: str | None = "0012"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

DATE_PATTERN = r"^[0-9]{4}(-(0[1-9]|1[0-2])(-(0[1-9]|[12][0-9]|3[01]))?)?$"
LANG_PATTERN = r"^[A-Za-z]{2,8}(-[A-Za-z0-9]{1,8})*$"
KINDS = ("official", "common", "short", "acronym", "former")

DERIVED_ALT_NAMES = """
CREATE FUNCTION public.derived_alt_names(member uuid) RETURNS varchar[]
LANGUAGE sql STABLE PARALLEL SAFE AS $$
    SELECT coalesce(array_agg(text ORDER BY first, text), '{}'::varchar[])
    FROM (SELECT text, min(position) AS first FROM public.names
          WHERE member_id = member GROUP BY text) AS texts
$$"""

# Statement-level: a batch of names rewrites each member once.
NAMES_TO_ALT_NAMES = """
CREATE FUNCTION public.names_to_alt_names() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    UPDATE public.members AS m SET alt_names = public.derived_alt_names(m.id)
    WHERE m.id IN (SELECT member_id FROM changed_names WHERE member_id IS NOT NULL)
      AND m.alt_names IS DISTINCT FROM public.derived_alt_names(m.id);
    RETURN NULL;
END
$$"""

ALT_NAMES_TO_NAMES = """
CREATE FUNCTION public.alt_names_to_names() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    IF NEW.alt_names IS NOT DISTINCT FROM public.derived_alt_names(NEW.id) THEN
        RETURN NULL;  -- the names' own rewrite, or nothing new
    END IF;
    DELETE FROM public.names
        WHERE member_id = NEW.id AND NOT (text = ANY (NEW.alt_names));
    INSERT INTO public.names (id, member_id, position, text, lang, kind)
        SELECT gen_random_uuid(), NEW.id,
               coalesce((SELECT max(position) FROM public.names WHERE member_id = NEW.id), 0)
                   + given.position,
               given.text, 'und', 'common'
        FROM (SELECT DISTINCT ON (normalize(t, NFC)) normalize(t, NFC) AS text, ord AS position
              FROM unnest(NEW.alt_names) WITH ORDINALITY AS a(t, ord)
              ORDER BY normalize(t, NFC), ord) AS given
        WHERE NOT EXISTS (SELECT 1 FROM public.names
                          WHERE member_id = NEW.id AND text = given.text);
    -- Texts stored decomposed, or given twice: the list becomes the names' own.
    UPDATE public.members SET alt_names = public.derived_alt_names(NEW.id)
        WHERE id = NEW.id AND alt_names IS DISTINCT FROM public.derived_alt_names(NEW.id);
    RETURN NULL;
END
$$"""

CARRY_OVER = """
INSERT INTO names (id, member_id, position, text, lang, kind)
SELECT gen_random_uuid(), id, position, text, 'und', 'common'
FROM (SELECT DISTINCT ON (m.id, normalize(a.t, NFC))
             m.id, normalize(a.t, NFC) AS text, a.ord AS position
      FROM members AS m, unnest(m.alt_names) WITH ORDINALITY AS a(t, ord)
      ORDER BY m.id, normalize(a.t, NFC), a.ord) AS given
"""

# Which name a reader sees: the first language of ``langs`` with a name in force on
# ``day`` (exactly that tag, else a more specific one: ``zh`` takes ``zh-Hans``), a name
# with an end before one without, then by kind and order; else a name of any language
# that was in force on ``day`` and has ended since (a former name); else ``fallback``.
DISPLAY_NAME = """
CREATE FUNCTION public.display_name(
    owner uuid, fallback text, langs text[], day date, today date
) RETURNS text
LANGUAGE sql STABLE PARALLEL SAFE AS $$
    SELECT coalesce(
        (SELECT n.text
         FROM public.names AS n,
              unnest(langs) WITH ORDINALITY AS wanted(tag, rank)
         WHERE (n.member_id = owner OR n.network_id = owner)
           AND (lower(n.lang) = lower(wanted.tag) OR lower(n.lang) LIKE lower(wanted.tag) || '-%')
           AND n.period @> day
         ORDER BY wanted.rank, lower(n.lang) <> lower(wanted.tag), upper_inf(n.period),
                  array_position(ARRAY['official', 'common', 'short', 'former', 'acronym'],
                                 n.kind::text),
                  n.position
         LIMIT 1),
        (SELECT n.text
         FROM public.names AS n
         WHERE (n.member_id = owner OR n.network_id = owner)
           AND n.period @> day AND NOT upper_inf(n.period) AND upper(n.period) <= today
         ORDER BY lower(n.lang) <> 'en', lower(n.lang) NOT LIKE 'en-%',
                  array_position(ARRAY['official', 'common', 'short', 'former', 'acronym'],
                                 n.kind::text),
                  n.position
         LIMIT 1),
        fallback)
$$"""


def upgrade() -> None:
    op.create_table(
        "names",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("member_id", sa.Uuid(), nullable=True),
        sa.Column("network_id", sa.Uuid(), nullable=True),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("text", sa.String(200), nullable=False),
        sa.Column("lang", sa.String(35), nullable=False),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("start_date", sa.String(10), nullable=True),
        sa.Column("end_date", sa.String(10), nullable=True),
        sa.Column(
            "period",
            postgresql.DATERANGE(),
            sa.Computed("certain_period(start_date, end_date)", persisted=True),
            nullable=False,
        ),
        sa.Column("folded", sa.Text(), sa.Computed("fold_name(text)", persisted=True)),
        sa.CheckConstraint("num_nonnulls(member_id, network_id) = 1", name="one_owner"),
        sa.CheckConstraint(f"kind IN ({', '.join(repr(k) for k in KINDS)})", name="kind"),
        sa.CheckConstraint(f"lang ~ '{LANG_PATTERN}'", name="lang_format"),
        sa.CheckConstraint("text IS NFC NORMALIZED", name="text_nfc"),
        sa.CheckConstraint("btrim(text) <> ''", name="text_not_blank"),
        sa.CheckConstraint(f"start_date ~ '{DATE_PATTERN}'", name="start_date_format"),
        sa.CheckConstraint(f"end_date ~ '{DATE_PATTERN}'", name="end_date_format"),
        sa.CheckConstraint("NOT isempty(period)", name="period_not_empty"),
        sa.ForeignKeyConstraint(
            ["member_id"], ["members.id"], name="fk_names_member_id_members", ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["network_id"],
            ["networks.id"],
            name="fk_names_network_id_networks",
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name="pk_names"),
        sa.UniqueConstraint(
            "member_id", "text", "lang", "kind", name="uq_names_member_id_text_lang_kind"
        ),
        sa.UniqueConstraint(
            "network_id", "text", "lang", "kind", name="uq_names_network_id_text_lang_kind"
        ),
    )
    op.create_index("ix_names_member_id_position", "names", ["member_id", "position"])
    op.create_index("ix_names_network_id_position", "names", ["network_id", "position"])
    op.create_index(
        "ix_names_folded",
        "names",
        ["folded"],
        postgresql_using="gin",
        postgresql_ops={"folded": "gin_trgm_ops"},
    )
    op.create_table(
        "category_labels",
        sa.Column("network_id", sa.Uuid(), nullable=False),
        sa.Column("category", sa.String(63), nullable=False),
        sa.Column("lang", sa.String(35), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("label", sa.String(200), nullable=False),
        sa.Column("description", sa.Text(), nullable=True),
        sa.CheckConstraint(f"lang ~ '{LANG_PATTERN}'", name="lang_format"),
        sa.CheckConstraint("label IS NFC NORMALIZED", name="label_nfc"),
        sa.ForeignKeyConstraint(
            ["network_id"],
            ["networks.id"],
            name="fk_category_labels_network_id_networks",
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("network_id", "category", "lang", name="pk_category_labels"),
    )
    op.execute(CARRY_OVER)
    op.execute(DERIVED_ALT_NAMES)
    op.execute(NAMES_TO_ALT_NAMES)
    op.execute(ALT_NAMES_TO_NAMES)
    op.execute(DISPLAY_NAME)
    op.execute(
        "UPDATE members SET alt_names = public.derived_alt_names(id)"
        " WHERE alt_names IS DISTINCT FROM public.derived_alt_names(id)"
    )
    for event, table in (("INSERT", "NEW"), ("UPDATE", "NEW"), ("DELETE", "OLD")):
        op.execute(
            f"CREATE TRIGGER names_{event.lower()}_to_alt_names AFTER {event} ON names"
            f" REFERENCING {table} TABLE AS changed_names FOR EACH STATEMENT"
            " EXECUTE FUNCTION public.names_to_alt_names()"
        )
    op.execute(
        "CREATE TRIGGER members_alt_names_to_names AFTER INSERT OR UPDATE OF alt_names"
        " ON members FOR EACH ROW EXECUTE FUNCTION public.alt_names_to_names()"
    )


def downgrade() -> None:
    op.execute("DROP TRIGGER members_alt_names_to_names ON members")
    for event in ("insert", "update", "delete"):
        op.execute(f"DROP TRIGGER names_{event}_to_alt_names ON names")
    op.drop_table("category_labels")
    op.drop_table("names")
    op.execute("DROP FUNCTION public.display_name(uuid, text, text[], date, date)")
    op.execute("DROP FUNCTION public.alt_names_to_names()")
    op.execute("DROP FUNCTION public.names_to_alt_names()")
    op.execute("DROP FUNCTION public.derived_alt_names(uuid)")
