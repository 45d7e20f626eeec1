"""Letting the database decide races: changes flushed inside a savepoint, and a violated
constraint translated to a domain error by its name (never by its message)."""

from __future__ import annotations

import inspect
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping
from contextlib import asynccontextmanager

from sqlalchemy.exc import DBAPIError, IntegrityError, InterfaceError, OperationalError
from sqlalchemy.exc import TimeoutError as PoolTimeout
from sqlalchemy.ext.asyncio import AsyncSession

from netregistry.errors import BadRequest, Conflict, NetregistryError, ServiceUnavailable

Translation = Mapping[str, Callable[[], NetregistryError | Awaitable[NetregistryError]]]


def database_problem(error: BaseException) -> NetregistryError | None:
    """What a database failure means for the client, by SQLSTATE class; ``None`` when it
    is a fault of ours (a 500)."""
    sqlstate = str(getattr(getattr(error, "orig", None), "sqlstate", "") or "")
    if sqlstate.startswith("22"):
        # A value PostgreSQL cannot hold or compare, such as U+0000 in text.
        return BadRequest(
            "A value in the request cannot be stored or searched for "
            "(for example a NUL character, or a number out of range)."
        )
    if sqlstate.startswith("40"):
        # Serialization failure or deadlock: another request won; this one changed nothing.
        return Conflict("A concurrent request changed the same records; retry.")
    unreachable = isinstance(error, OSError | ConnectionError | PoolTimeout) or (
        isinstance(error, DBAPIError)
        and (error.connection_invalidated or isinstance(error, OperationalError | InterfaceError))
    )
    if unreachable or sqlstate == "55P03" or sqlstate[:2] in ("08", "53", "57"):
        # The connection is gone (08), the server is out of connections or memory (53),
        # shutting down, starting up or cancelling on a timeout (57), or a lock timed out.
        return ServiceUnavailable("The database is unavailable; retry shortly.")
    return None


def constraint_name(error: IntegrityError) -> str | None:
    """The name of the constraint asyncpg reports as violated."""
    cause = getattr(error.orig, "__cause__", None)
    return getattr(cause, "constraint_name", None) or getattr(error.orig, "constraint_name", None)


@asynccontextmanager
async def guard(session: AsyncSession, translate: Translation | None = None) -> AsyncIterator[None]:
    """Make changes inside the block; they are flushed in a savepoint at its end.

    A violated constraint named in ``translate`` becomes its domain error. The savepoint
    is opened before the changes exist, because opening one flushes what is pending, and
    a failing flush outside a savepoint would end the request's whole transaction. After
    the violation the session is usable, so an async translation may query the record in
    the way to name it.
    """
    try:
        async with session.begin_nested():
            yield
            await session.flush()
    except IntegrityError as error:
        name = constraint_name(error)
        if translate is None or name is None or name not in translate:
            raise
        translated = translate[name]()
        if inspect.isawaitable(translated):
            translated = await translated
        raise translated from error
