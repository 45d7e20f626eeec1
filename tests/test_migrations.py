"""Migrations are code: they go up, down and up again, and match the models."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import Connection, text
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine
from sqlalchemy.pool import NullPool

from netregistry import migrations
from netregistry.models import Base


@pytest.fixture
async def empty_engine(database_url: str) -> AsyncIterator[AsyncEngine]:
    """The per-test database, emptied of the template's schema."""
    engine = create_async_engine(database_url, poolclass=NullPool)
    await migrations.downgrade(engine, "base")
    yield engine
    await engine.dispose()


async def _tables(engine: AsyncEngine) -> set[str]:
    async with engine.connect() as connection:
        rows = await connection.execute(
            text("SELECT tablename FROM pg_tables WHERE schemaname = 'public'")
        )
        return {row[0] for row in rows}


async def test_upgrade_downgrade_upgrade_on_an_empty_database(empty_engine: AsyncEngine) -> None:
    assert await _tables(empty_engine) <= {"alembic_version"}
    await migrations.upgrade(empty_engine)
    assert {"networks", "api_keys", "audit_events", "idempotency_keys"} <= await _tables(
        empty_engine
    )
    assert await migrations.current_revision(empty_engine) == migrations.head_revision()
    await migrations.downgrade(empty_engine, "base")
    assert await _tables(empty_engine) <= {"alembic_version"}
    await migrations.upgrade(empty_engine)
    assert await migrations.current_revision(empty_engine) == migrations.head_revision()


def _differences(connection: Connection) -> list[object]:
    context = MigrationContext.configure(connection, opts={"compare_type": True})
    return list(compare_metadata(context, Base.metadata))


async def test_models_and_migrations_agree(database_url: str) -> None:
    engine = create_async_engine(database_url, poolclass=NullPool)
    async with engine.connect() as connection:
        differences = await connection.run_sync(_differences)
    await engine.dispose()
    assert differences == [], f"models and migrations differ: {differences}"
