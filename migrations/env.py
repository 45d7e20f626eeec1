"""Alembic environment: async, with a lock timeout so a migration never queues forever."""

from __future__ import annotations

import asyncio

from alembic import context
from sqlalchemy import Connection, pool, text
from sqlalchemy.ext.asyncio import async_engine_from_config

from netregistry.config import get_settings
from netregistry.models import Base

config = context.config
target_metadata = Base.metadata


def _run(connection: Connection) -> None:
    connection.execute(text("SET lock_timeout = '5s'"))
    context.configure(
        connection=connection,
        target_metadata=target_metadata,
        compare_type=True,
        transaction_per_migration=True,
    )
    with context.begin_transaction():
        context.run_migrations()


async def _run_with_own_engine() -> None:
    url = config.get_main_option("sqlalchemy.url") or get_settings().database_url
    if url is None:
        raise SystemExit("Set NETREGISTRY_DATABASE_URL, or use `netregistry migrate`.")
    engine = async_engine_from_config(
        {"sqlalchemy.url": url}, prefix="sqlalchemy.", poolclass=pool.NullPool
    )
    async with engine.begin() as connection:
        await connection.run_sync(_run)
    await engine.dispose()


if context.is_offline_mode():
    raise SystemExit("Offline migrations are not supported; run against a database.")

connection = config.attributes.get("connection")
if connection is not None:
    _run(connection)
else:
    asyncio.run(_run_with_own_engine())
