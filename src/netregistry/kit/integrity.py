"""Letting the database decide races: a flush inside a savepoint, and the violated
constraint translated to a domain error by its name (never by its message)."""

from __future__ import annotations

import inspect
from collections.abc import Awaitable, Callable, Mapping

from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from netregistry.errors import NetregistryError

Translation = Mapping[str, Callable[[], NetregistryError | Awaitable[NetregistryError]]]


def constraint_name(error: IntegrityError) -> str | None:
    """The name of the constraint asyncpg reports as violated."""
    cause = getattr(error.orig, "__cause__", None)
    return getattr(cause, "constraint_name", None) or getattr(error.orig, "constraint_name", None)


async def flush(session: AsyncSession, translate: Translation) -> None:
    """Flush pending changes; a violated constraint named in ``translate`` becomes its error.

    The savepoint keeps the request's transaction usable after the violation, so an
    async translation may query the record in the way to name it.
    """
    try:
        async with session.begin_nested():
            await session.flush()
    except IntegrityError as error:
        name = constraint_name(error)
        if name is None or name not in translate:
            raise
        translated = translate[name]()
        if inspect.isawaitable(translated):
            translated = await translated
        raise translated from error
