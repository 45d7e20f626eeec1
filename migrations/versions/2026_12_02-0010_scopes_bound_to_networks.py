"""Key scopes bound to networks, not slugs; audit entries name every network concerned.

``api_keys.network_ids`` holds the ids of the networks a scoped key may write; its
``networks`` stays as the slugs the key was created with, a label for ``keys list``. A key
whose network is deleted keeps the id of a network that no longer exists, so a network
created later with the same slug is not in its scope. Existing keys are bound to the
networks their slugs name today; a slug that names no network binds nothing.

``audit_events.networks`` lists the networks a change concerns: the resource's network, or,
for a member, every network it has belonged to or held an office in. Existing entries get
their ``network``, and member entries the member's networks as they stand now (what a
member belonged to before is not recorded). The log is append-only, so its trigger is
set aside for that one update.

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-02 06:00:00.000000+00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0010"
down_revision: str | None = "0009"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

BIND_KEYS = """
UPDATE public.api_keys AS k
SET network_ids = ARRAY(
    SELECT n.id FROM public.networks AS n WHERE n.slug = ANY(k.networks) ORDER BY n.slug
)
WHERE NOT k.is_admin
"""

FILL_AUDIT = """
UPDATE public.audit_events AS e
SET networks = CASE
    WHEN e.network IS NOT NULL THEN ARRAY[e.network]
    WHEN e.resource_type IN ('city', 'organization') THEN ARRAY(
        SELECT DISTINCT n.slug
        FROM public.networks AS n
        WHERE n.id IN (
            SELECT m.network_id FROM public.memberships AS m
            WHERE m.member_id::text = e.resource_id
            UNION
            SELECT t.network_id FROM public.tenures AS t
            WHERE t.member_id::text = e.resource_id
        )
        ORDER BY n.slug
    )
    ELSE '{}'
END
"""

# On downgrade a key keeps only the slugs whose network is still the one it was bound to.
UNBIND_KEYS = """
UPDATE public.api_keys AS k
SET networks = ARRAY(
    SELECT n.slug FROM public.networks AS n
    WHERE n.id = ANY(k.network_ids) AND n.slug = ANY(k.networks)
    ORDER BY n.slug
)
WHERE NOT k.is_admin
"""


def upgrade() -> None:
    op.add_column(
        "api_keys",
        sa.Column(
            "network_ids",
            postgresql.ARRAY(sa.Uuid()),
            server_default=sa.text("'{}'"),
            nullable=False,
        ),
    )
    op.execute(BIND_KEYS)
    op.add_column(
        "audit_events",
        sa.Column(
            "networks",
            postgresql.ARRAY(sa.String(length=63)),
            server_default=sa.text("'{}'"),
            nullable=False,
        ),
    )
    op.execute("ALTER TABLE public.audit_events DISABLE TRIGGER audit_events_append_only")
    op.execute(FILL_AUDIT)
    op.execute("ALTER TABLE public.audit_events ENABLE TRIGGER audit_events_append_only")
    op.create_index(
        op.f("ix_audit_events_networks"),
        "audit_events",
        ["networks"],
        unique=False,
        postgresql_using="gin",
    )


def downgrade() -> None:
    op.drop_index(op.f("ix_audit_events_networks"), table_name="audit_events")
    op.drop_column("audit_events", "networks")
    op.execute(UNBIND_KEYS)
    op.drop_column("api_keys", "network_ids")
