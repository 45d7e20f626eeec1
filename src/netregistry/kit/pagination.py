"""Keyset pagination with signed, opaque cursors.

A cursor carries the sort key of the last row of a page, signed with the service's
secret and bound to the list it came from (path and filters), so a cursor cannot be
forged, edited, or replayed against another list: any of those is a 400.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Annotated, Any, Generic, TypeVar

from fastapi import Query, Request
from pydantic import BaseModel, Field
from sqlalchemy import ColumnElement, Select, bindparam, tuple_
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import QueryableAttribute

from netregistry.errors import InvalidCursor

T = TypeVar("T")

DEFAULT_LIMIT = 100
MAX_LIMIT = 1000


class Page(BaseModel, Generic[T]):
    """One page of a list, in a stable order."""

    items: list[T]
    next_cursor: str | None = Field(
        description="Pass as `cursor` to get the next page; null on the last page.",
        examples=[None],
    )


class CursorCodec:
    """Signs and verifies cursors with an HMAC."""

    def __init__(self, secret: bytes) -> None:
        self._secret = secret

    def _sign(self, scope: str, payload: bytes) -> bytes:
        return hmac.new(self._secret, scope.encode() + b"\0" + payload, hashlib.sha256).digest()[
            :16
        ]

    def encode(self, scope: str, key: Sequence[Any]) -> str:
        payload = json.dumps([_to_json(value) for value in key], separators=(",", ":")).encode()
        token = payload + b"." + self._sign(scope, payload)
        return base64.urlsafe_b64encode(token).decode().rstrip("=")

    def decode(self, scope: str, cursor: str) -> list[Any]:
        try:
            raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
            payload, signature = raw[:-17], raw[-16:]
            if raw[-17:-16] != b"." or not hmac.compare_digest(
                signature, self._sign(scope, payload)
            ):
                raise ValueError("bad signature")
            values = json.loads(payload)
        except (ValueError, binascii.Error, UnicodeDecodeError) as exc:
            raise InvalidCursor(
                "The cursor was not issued for this list or was altered; "
                "start again without a cursor."
            ) from exc
        if not isinstance(values, list):
            raise InvalidCursor("The cursor is malformed.")
        return values


def _to_json(value: Any) -> Any:
    if isinstance(value, uuid.UUID | date | datetime):
        return value.isoformat() if not isinstance(value, uuid.UUID) else str(value)
    return value


def _from_json(value: Any, python_type: type) -> Any:
    if value is None:
        return None
    if python_type is uuid.UUID:
        return uuid.UUID(value)
    if python_type is datetime:
        return datetime.fromisoformat(value)
    if python_type is date:
        return date.fromisoformat(value)
    return value


@dataclass(frozen=True)
class PageRequest:
    """What the client asked for: how many rows, after which key, in which list."""

    limit: int
    cursor: str | None
    scope: str
    codec: CursorCodec

    def after(self, columns: Sequence[Column]) -> list[Any] | None:
        """The decoded sort key of the previous page's last row, typed like ``columns``."""
        if self.cursor is None:
            return None
        values = self.codec.decode(self.scope, self.cursor)
        if len(values) != len(columns):
            raise InvalidCursor("The cursor does not fit this list.")
        try:
            return [
                _from_json(value, column.type.python_type)
                for value, column in zip(values, columns, strict=True)
            ]
        except (ValueError, TypeError) as exc:
            raise InvalidCursor("The cursor is malformed.") from exc

    def next_cursor(self, key: Sequence[Any]) -> str:
        return self.codec.encode(self.scope, key)


Column = ColumnElement[Any] | QueryableAttribute[Any]


async def fetch_page(
    session: AsyncSession,
    statement: Select[Any],
    *,
    order_by: Sequence[Column],
    page: PageRequest,
    key: Callable[[Any], Sequence[Any]],
    descending: bool = False,
    rows: bool = False,
) -> tuple[list[Any], str | None]:
    """Run ``statement`` for one page, ordered by ``order_by`` (a unique key).

    Returns ORM objects (the first column), or whole rows with ``rows=True``.
    """
    after = page.after(order_by)
    if after is not None:
        bound = tuple_(
            *[
                bindparam(None, value, type_=column.type)
                for value, column in zip(after, order_by, strict=True)
            ]
        )
        position = tuple_(*order_by)
        statement = statement.where(position < bound if descending else position > bound)
    ordering = [column.desc() if descending else column.asc() for column in order_by]
    statement = statement.order_by(*ordering).limit(page.limit + 1)
    result = await session.execute(statement)
    found = list(result.all() if rows else result.scalars().all())
    if len(found) <= page.limit:
        return found, None
    found = found[: page.limit]
    return found, page.next_cursor(key(found[-1]))


def _list_scope(request: Request) -> str:
    filters = sorted(
        (name, value)
        for name, value in request.query_params.multi_items()
        if name not in ("cursor", "limit")
    )
    return request.url.path + "?" + json.dumps(filters, separators=(",", ":"))


async def page_request(
    request: Request,
    limit: Annotated[
        int, Query(ge=1, le=MAX_LIMIT, description="Rows per page (1 to 1000).")
    ] = DEFAULT_LIMIT,
    cursor: Annotated[
        str | None,
        Query(max_length=2000, description="The `next_cursor` of the previous page."),
    ] = None,
) -> PageRequest:
    """The pagination parameters every list endpoint takes."""
    codec: CursorCodec = request.app.state.cursor_codec
    return PageRequest(limit=limit, cursor=cursor, scope=_list_scope(request), codec=codec)
