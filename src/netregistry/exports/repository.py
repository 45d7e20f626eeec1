"""The export's SQL: one consistent snapshot, read through server-side cursors.

The queries are generated from the field lists in ``records.py``; the only values that
vary, the network slug and the day, are bound parameters.
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from datetime import date
from typing import Any

import asyncpg
from sqlalchemy import func, select, text
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, AsyncSession

from netregistry.exports.records import RECORDS, RecordType
from netregistry.models import Member, Network, Role

# $1: network slug or NULL (whole registry); $2: day or NULL (full history).
_IN_SCOPE = "($1::text IS NULL OR n.slug = $1)"
_ON_DAY = "($2::date IS NULL OR ms.period @> $2::date)"

_FROM: dict[RecordType, str] = {
    "network": f"FROM networks n WHERE {_IN_SCOPE} ORDER BY n.slug",
    "member": f"""
        FROM members m
        WHERE ($1::text IS NULL AND $2::date IS NULL) OR m.id IN (
            SELECT ms.member_id FROM memberships ms JOIN networks n ON n.id = ms.network_id
            WHERE {_IN_SCOPE} AND {_ON_DAY}
            UNION
            SELECT ms.member_id FROM tenures ms JOIN networks n ON n.id = ms.network_id
            WHERE {_IN_SCOPE} AND {_ON_DAY}
        )
        ORDER BY m.id""",  # noqa: S608 (constant SQL; values bound as $1, $2)
    "role": f"""
        FROM roles r JOIN networks n ON n.id = r.network_id
        WHERE {_IN_SCOPE} ORDER BY n.slug, r.slug""",
    "membership": f"""
        FROM memberships ms
        JOIN networks n ON n.id = ms.network_id
        JOIN members m ON m.id = ms.member_id
        WHERE {_IN_SCOPE} AND {_ON_DAY}
        ORDER BY n.slug, ms.id""",
    "tenure": f"""
        FROM tenures ms
        JOIN networks n ON n.id = ms.network_id
        JOIN roles r ON r.id = ms.role_id
        JOIN members m ON m.id = ms.member_id
        WHERE {_IN_SCOPE} AND {_ON_DAY}
        ORDER BY n.slug, ms.id""",
    # As of a day: the declarations made by then (the one in force is the latest).
    "declaration": f"""
        FROM declarations d JOIN networks n ON n.id = d.network_id
        WHERE {_IN_SCOPE} AND ($2::date IS NULL OR public.partial_date_first_day(d.date) <= $2)
        ORDER BY n.slug, d.date, d.id""",
}


def _columns(record: RecordType) -> str:
    return ", ".join(f"{field.sql} AS {field.name}" for field in RECORDS[record])


def json_query(record: RecordType, *, typed: bool) -> str:
    """One JSON object per row, its keys in field order (with ``type`` first if typed)."""
    kind = f"'{record}'::text AS type, " if typed else ""
    # Built from the constant field lists only; values are bound ($1, $2).
    return f"SELECT row_to_json(r)::text FROM (SELECT {kind}{_columns(record)} {_FROM[record]}) r"  # noqa: S608


def row_query(record: RecordType) -> str:
    """One row of plain values per record, in field order (for CSV)."""
    return f"SELECT {_columns(record)} {_FROM[record]}"


class ExportSnapshot:
    """A read-only REPEATABLE READ transaction: every query sees the same registry."""

    def __init__(
        self, connection: AsyncConnection, driver: Any, network: str | None, day: date | None
    ):
        self._connection = connection
        self._driver = driver
        self.params = (network, day)

    async def network_exists(self, slug: str) -> bool:
        return bool(await self._driver.fetchval("SELECT 1 FROM networks WHERE slug = $1", slug))

    async def rows(self, query: str, batch: int = 2000) -> AsyncIterator[Any]:
        """Rows of ``query`` from a server-side cursor, ``batch`` at a time."""
        # Networks and roles are not filtered by day: bind only the parameters named.
        params = self.params if "$2" in query else self.params[:1]
        cursor = await self._driver.cursor(query, *params)
        while records := await cursor.fetch(batch):
            yield records

    async def close(self) -> None:
        """End the transaction and return the connection; one too far gone for that (a
        cursor cut off mid-fetch, a server gone) is dropped from the pool instead."""
        try:
            await self._connection.close()
        except (SQLAlchemyError, OSError, asyncpg.PostgresError, asyncpg.InterfaceError):
            with contextlib.suppress(SQLAlchemyError, OSError, asyncpg.InterfaceError):
                await self._connection.invalidate()
            with contextlib.suppress(SQLAlchemyError, OSError, asyncpg.InterfaceError):
                await self._connection.close()


@asynccontextmanager
async def open_snapshot(
    engine: AsyncEngine, network: str | None, day: date | None
) -> AsyncIterator[ExportSnapshot]:
    snapshot = await begin_snapshot(engine, network, day)
    try:
        yield snapshot
    finally:
        await snapshot.close()


async def begin_snapshot(
    engine: AsyncEngine, network: str | None, day: date | None
) -> ExportSnapshot:
    """Open the snapshot; the caller closes it (a streamed response does, when done)."""
    connection = await engine.connect()
    try:
        connection = await connection.execution_options(
            isolation_level="REPEATABLE READ", postgresql_readonly=True
        )
        await connection.begin()
        # Through SQLAlchemy, so that its driver adapter issues the BEGIN with the isolation
        # level before the cursors below use the driver directly.
        await connection.execute(text("SET LOCAL timezone = 'UTC'"))
        # SET takes no snapshot: without a query here, the snapshot would be taken by the
        # first cursor, after the header (and its generated_at) has already gone out.
        await connection.execute(text("SELECT 1"))
        raw = await connection.get_raw_connection()
        driver = raw.driver_connection
        assert driver is not None
    except BaseException:
        await connection.close()
        raise
    return ExportSnapshot(connection, driver, network, day)


async def registry_size(session: AsyncSession) -> tuple[int, int]:
    """How many networks and members the registry holds (an import wants none)."""
    networks = await session.scalar(select(func.count()).select_from(Network))
    members = await session.scalar(select(func.count()).select_from(Member))
    return networks or 0, members or 0


async def every_role(session: AsyncSession) -> Sequence[Role]:
    """Every role of every network (an import checks their rules once all is in)."""
    return (await session.scalars(select(Role))).all()
