"""The registry: members (cities, organizations), memberships, roles, tenures.

Periods are stored as the dates the sources give (YYYY, YYYY-MM, YYYY-MM-DD) and, beside
them, the range of days certainly inside them, computed by `certain_period` (mirroring
`netregistry.kit.dates`); exclusion constraints on those ranges keep memberships and
tenures from overlapping.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-22 04:58:57.149892+00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


EXTENSIONS = ("btree_gist", "pg_trgm", "unaccent")

FUNCTIONS = {
    # unaccent() is only STABLE (its dictionary could change); naming the dictionary makes
    # the result fixed, which lets the search text be a stored generated column.
    "member_search_text(text, varchar[])": """
CREATE FUNCTION member_search_text(name text, alt_names varchar[]) RETURNS text
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT lower(public.unaccent('public.unaccent'::regdictionary,
                                 name || ' ' || array_to_string(alt_names, ' ')))
$$""",
    "partial_date_first_day(text)": """
CREATE FUNCTION partial_date_first_day(value text) RETURNS date
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT make_date(substr(value, 1, 4)::int,
                     coalesce(nullif(substr(value, 6, 2), '')::int, 1),
                     coalesce(nullif(substr(value, 9, 2), '')::int, 1))
$$""",
    "partial_date_last_day(text)": """
CREATE FUNCTION partial_date_last_day(value text) RETURNS date
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT CASE length(value)
        WHEN 4 THEN make_date(value::int, 12, 31)
        WHEN 7 THEN (make_date(substr(value, 1, 4)::int, substr(value, 6, 2)::int, 1)
                     + interval '1 month' - interval '1 day')::date
        ELSE partial_date_first_day(value)
    END
$$""",
    # The days certainly inside [start, end): from the last day a partial start may mean
    # to the first day a partial end may mean; NULL bounds are unbounded.
    "certain_period(text, text)": """
CREATE FUNCTION certain_period(start_date text, end_date text) RETURNS daterange
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT CASE
        WHEN lower_day IS NOT NULL AND upper_day IS NOT NULL AND lower_day >= upper_day
            THEN 'empty'::daterange
        ELSE daterange(lower_day, upper_day, '[)')
    END
    FROM (SELECT partial_date_last_day(start_date) AS lower_day,
                 partial_date_first_day(end_date) AS upper_day) AS bounds
$$""",
}


def upgrade() -> None:
    for extension in EXTENSIONS:
        op.execute(f"CREATE EXTENSION IF NOT EXISTS {extension}")
    for definition in FUNCTIONS.values():
        op.execute(definition)
    op.create_table(
        "members",
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column(
            "alt_names",
            postgresql.ARRAY(sa.String(length=200)),
            server_default=sa.text("'{}'::varchar[]"),
            nullable=False,
        ),
        sa.Column("country_code", sa.String(length=2), nullable=True),
        sa.Column("subdivision", sa.String(length=200), nullable=True),
        sa.Column("population", sa.BigInteger(), nullable=True),
        sa.Column("latitude", sa.Float(), nullable=True),
        sa.Column("longitude", sa.Float(), nullable=True),
        sa.Column("geonames", sa.Integer(), nullable=True),
        sa.Column("org_type", sa.String(length=100), nullable=True),
        sa.Column("website", sa.String(length=2000), nullable=True),
        sa.Column("wikidata", sa.String(length=20), nullable=True),
        sa.Column(
            "search_text",
            sa.Text(),
            sa.Computed("member_search_text(name, alt_names)", persisted=True),
            nullable=False,
        ),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.Column(
            "updated_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.CheckConstraint(
            "country_code ~ '^[A-Z]{2}$'", name=op.f("ck_members_country_code_format")
        ),
        sa.CheckConstraint(
            "kind = 'organization' OR country_code IS NOT NULL",
            name=op.f("ck_members_city_country"),
        ),
        sa.CheckConstraint("kind IN ('city', 'organization')", name=op.f("ck_members_kind")),
        sa.CheckConstraint("wikidata ~ '^Q[1-9][0-9]*$'", name=op.f("ck_members_wikidata_format")),
        sa.CheckConstraint("geonames > 0", name=op.f("ck_members_geonames_positive")),
        sa.CheckConstraint("latitude BETWEEN -90 AND 90", name=op.f("ck_members_latitude_range")),
        sa.CheckConstraint(
            "longitude BETWEEN -180 AND 180", name=op.f("ck_members_longitude_range")
        ),
        sa.CheckConstraint("population >= 0", name=op.f("ck_members_population_positive")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_members")),
        sa.UniqueConstraint("geonames", name=op.f("uq_members_geonames")),
        sa.UniqueConstraint("wikidata", name=op.f("uq_members_wikidata")),
    )
    op.create_index(op.f("ix_members_country_code"), "members", ["country_code"], unique=False)
    op.create_index(
        op.f("ix_members_kind_name_id"), "members", ["kind", "name", "id"], unique=False
    )
    op.create_index(op.f("ix_members_name_id"), "members", ["name", "id"], unique=False)
    op.create_index(
        "ix_members_search_text",
        "members",
        ["search_text"],
        unique=False,
        postgresql_using="gin",
        postgresql_ops={"search_text": "gin_trgm_ops"},
    )
    op.create_table(
        "memberships",
        sa.Column("network_id", sa.Uuid(), nullable=False),
        sa.Column("member_id", sa.Uuid(), nullable=False),
        sa.Column("category", sa.String(length=63), nullable=False),
        sa.Column("start_date", sa.String(length=10), nullable=True),
        sa.Column("end_date", sa.String(length=10), nullable=True),
        sa.Column(
            "period",
            postgresql.DATERANGE(),
            sa.Computed("certain_period(start_date, end_date)", persisted=True),
            nullable=False,
        ),
        sa.Column("source_url", sa.String(length=2000), nullable=True),
        sa.Column("note", sa.Text(), nullable=True),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.Column(
            "updated_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        postgresql.ExcludeConstraint(
            (sa.column("network_id"), "="),
            (sa.column("member_id"), "="),
            (sa.column("period"), "&&"),
            using="gist",
            name="ex_memberships_no_overlap",
        ),
        sa.CheckConstraint(
            "end_date ~ '^\\d{4}(-\\d{2}(-\\d{2})?)?$'", name=op.f("ck_memberships_end_date_format")
        ),
        sa.CheckConstraint(
            "start_date ~ '^\\d{4}(-\\d{2}(-\\d{2})?)?$'",
            name=op.f("ck_memberships_start_date_format"),
        ),
        sa.CheckConstraint("NOT isempty(period)", name=op.f("ck_memberships_period_not_empty")),
        sa.ForeignKeyConstraint(
            ["member_id"],
            ["members.id"],
            name=op.f("fk_memberships_member_id_members"),
            ondelete="RESTRICT",
        ),
        sa.ForeignKeyConstraint(
            ["network_id"],
            ["networks.id"],
            name=op.f("fk_memberships_network_id_networks"),
            ondelete="RESTRICT",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_memberships")),
    )
    op.create_index(op.f("ix_memberships_member_id"), "memberships", ["member_id"], unique=False)
    op.create_index(
        "ix_memberships_network_period",
        "memberships",
        ["network_id", "period"],
        unique=False,
        postgresql_using="gist",
    )
    op.create_table(
        "roles",
        sa.Column("network_id", sa.Uuid(), nullable=False),
        sa.Column("slug", sa.String(length=63), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("max_holders", sa.Integer(), nullable=True),
        sa.Column("requires_membership", sa.Boolean(), nullable=False),
        sa.Column("eligible_categories", postgresql.ARRAY(sa.String(length=63)), nullable=True),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.Column(
            "updated_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.CheckConstraint("max_holders >= 1", name=op.f("ck_roles_max_holders_positive")),
        sa.ForeignKeyConstraint(
            ["network_id"],
            ["networks.id"],
            name=op.f("fk_roles_network_id_networks"),
            ondelete="RESTRICT",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_roles")),
        sa.UniqueConstraint("network_id", "slug", name=op.f("uq_roles_network_id_slug")),
    )
    op.create_table(
        "tenures",
        sa.Column("network_id", sa.Uuid(), nullable=False),
        sa.Column("role_id", sa.Uuid(), nullable=False),
        sa.Column("member_id", sa.Uuid(), nullable=False),
        sa.Column("start_date", sa.String(length=10), nullable=True),
        sa.Column("end_date", sa.String(length=10), nullable=True),
        sa.Column(
            "period",
            postgresql.DATERANGE(),
            sa.Computed("certain_period(start_date, end_date)", persisted=True),
            nullable=False,
        ),
        sa.Column("representative", sa.String(length=200), nullable=True),
        sa.Column("source_url", sa.String(length=2000), nullable=True),
        sa.Column("note", sa.Text(), nullable=True),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.Column(
            "updated_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        postgresql.ExcludeConstraint(
            (sa.column("role_id"), "="),
            (sa.column("member_id"), "="),
            (sa.column("period"), "&&"),
            using="gist",
            name="ex_tenures_no_double_holding",
        ),
        sa.CheckConstraint(
            "end_date ~ '^\\d{4}(-\\d{2}(-\\d{2})?)?$'", name=op.f("ck_tenures_end_date_format")
        ),
        sa.CheckConstraint(
            "start_date ~ '^\\d{4}(-\\d{2}(-\\d{2})?)?$'", name=op.f("ck_tenures_start_date_format")
        ),
        sa.CheckConstraint("NOT isempty(period)", name=op.f("ck_tenures_period_not_empty")),
        sa.ForeignKeyConstraint(
            ["member_id"],
            ["members.id"],
            name=op.f("fk_tenures_member_id_members"),
            ondelete="RESTRICT",
        ),
        sa.ForeignKeyConstraint(
            ["network_id"],
            ["networks.id"],
            name=op.f("fk_tenures_network_id_networks"),
            ondelete="RESTRICT",
        ),
        sa.ForeignKeyConstraint(
            ["role_id"], ["roles.id"], name=op.f("fk_tenures_role_id_roles"), ondelete="RESTRICT"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_tenures")),
    )
    op.create_index(op.f("ix_tenures_member_id"), "tenures", ["member_id"], unique=False)
    op.create_index(
        "ix_tenures_network_member_period",
        "tenures",
        ["network_id", "member_id", "period"],
        unique=False,
        postgresql_using="gist",
    )
    op.create_index(
        "ix_tenures_role_period",
        "tenures",
        ["role_id", "period"],
        unique=False,
        postgresql_using="gist",
    )


def downgrade() -> None:
    op.drop_index("ix_tenures_role_period", table_name="tenures", postgresql_using="gist")
    op.drop_index("ix_tenures_network_member_period", table_name="tenures", postgresql_using="gist")
    op.drop_index(op.f("ix_tenures_member_id"), table_name="tenures")
    op.drop_table("tenures")
    op.drop_table("roles")
    op.drop_index(
        "ix_memberships_network_period", table_name="memberships", postgresql_using="gist"
    )
    op.drop_index(op.f("ix_memberships_member_id"), table_name="memberships")
    op.drop_table("memberships")
    op.drop_index(
        "ix_members_search_text",
        table_name="members",
        postgresql_using="gin",
        postgresql_ops={"search_text": "gin_trgm_ops"},
    )
    op.drop_index(op.f("ix_members_name_id"), table_name="members")
    op.drop_index(op.f("ix_members_kind_name_id"), table_name="members")
    op.drop_index(op.f("ix_members_country_code"), table_name="members")
    op.drop_table("members")
    for signature in reversed(FUNCTIONS):
        op.execute(f"DROP FUNCTION {signature}")
    # The extensions stay: other schemas of the database may use them.
