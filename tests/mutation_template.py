"""The template database ``make mutation`` makes once for all its runs.

Each mutant is tested in a pytest session of its own, which would otherwise migrate a
template of its own (``tests/conftest.py``: ``template_database``) before its first
test. ``python -m tests.mutation_template create`` makes ``nr_template_mutation`` on the
server ``NETREGISTRY_TEST_DATABASE_URL`` names, migrated to head from the repository's
own migrations (the mutated modules play no part in them); ``drop`` removes it.
"""

from __future__ import annotations

import asyncio
import os
import sys

import asyncpg
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import create_async_engine
from sqlalchemy.pool import NullPool

from netregistry import migrations

NAME = "nr_template_mutation"


async def _admin(sql: str) -> None:
    server = make_url(os.environ["NETREGISTRY_TEST_DATABASE_URL"]).set(database="postgres")
    dsn = server.set(drivername="postgresql").render_as_string(hide_password=False)
    connection = await asyncpg.connect(dsn)
    try:
        await connection.execute(sql)
    finally:
        await connection.close()


async def create() -> None:
    await _admin(f'DROP DATABASE IF EXISTS "{NAME}" WITH (FORCE)')
    await _admin(f'CREATE DATABASE "{NAME}"')
    url = make_url(os.environ["NETREGISTRY_TEST_DATABASE_URL"]).set(database=NAME)
    engine = create_async_engine(url, poolclass=NullPool)
    try:
        await migrations.upgrade(engine)
    finally:
        await engine.dispose()
    print(NAME)


async def drop() -> None:
    await _admin(f'DROP DATABASE IF EXISTS "{NAME}" WITH (FORCE)')


if __name__ == "__main__":
    action = {"create": create, "drop": drop}.get(sys.argv[1] if sys.argv[1:] else "")
    if action is None:
        sys.exit("usage: python -m tests.mutation_template create|drop")
    asyncio.run(action())
