"""Running Alembic from the service and the CLI.

The migration scripts live in the repository's top-level ``migrations/`` folder; a
wheel carries them inside the package (``netregistry/migrations``).
"""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.script import ScriptDirectory
from sqlalchemy import Connection, text
from sqlalchemy.ext.asyncio import AsyncEngine

_PACKAGED = Path(__file__).parent / "migrations"
_SOURCE_TREE = Path(__file__).resolve().parents[2] / "migrations"


def scripts_dir() -> Path:
    return _PACKAGED if (_PACKAGED / "env.py").exists() else _SOURCE_TREE


def alembic_config(connection: Connection | None = None) -> Config:
    config = Config()
    config.set_main_option("script_location", str(scripts_dir()))
    config.attributes["connection"] = connection
    return config


def is_known_revision(revision: str) -> bool:
    """True when ``revision`` is one of this version's migrations."""
    return ScriptDirectory.from_config(alembic_config()).get_revision(revision) is not None


def head_revision() -> str | None:
    return ScriptDirectory.from_config(alembic_config()).get_current_head()


async def current_revision(engine: AsyncEngine) -> str | None:
    async with engine.connect() as connection:
        exists = await connection.scalar(text("SELECT to_regclass('alembic_version') IS NOT NULL"))
        if not exists:
            return None
        revision: str | None = await connection.scalar(
            text("SELECT version_num FROM alembic_version")
        )
        return revision


async def upgrade(engine: AsyncEngine, revision: str = "head") -> None:
    async with engine.begin() as connection:
        await connection.run_sync(lambda sync: command.upgrade(alembic_config(sync), revision))


async def downgrade(engine: AsyncEngine, revision: str = "base") -> None:
    async with engine.begin() as connection:
        await connection.run_sync(lambda sync: command.downgrade(alembic_config(sync), revision))
