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
from sqlalchemy import (
    ColumnElement,
    Select,
    Text,
    bindparam,
    func,
    literal_column,
    select,
    true,
    tuple_,
)
from sqlalchemy.dialects.postgresql import aggregate_order_by
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncSession
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
    statement = _after_cursor(statement, order_by, page.after(order_by), descending)
    ordering = _ordering(order_by, descending)
    statement = statement.order_by(*ordering).limit(page.limit + 1)
    result = await session.execute(statement)
    found = list(result.all() if rows else result.scalars().all())
    if len(found) <= page.limit:
        return found, None
    found = found[: page.limit]
    return found, page.next_cursor(key(found[-1]))


def _after_cursor(
    statement: Select[Any],
    order_by: Sequence[Column],
    after: Sequence[Any] | None,
    descending: bool,
) -> Select[Any]:
    """``statement`` restricted to the rows after the cursor's key."""
    if after is None:
        return statement
    bound = tuple_(
        *[
            bindparam(None, value, type_=column.type)
            for value, column in zip(after, order_by, strict=True)
        ]
    )
    position = tuple_(*order_by)
    return statement.where(position < bound if descending else position > bound)


def _ordering(order_by: Sequence[Column], descending: bool) -> list[ColumnElement[Any]]:
    return [column.desc() if descending else column.asc() for column in order_by]


# Pages written by PostgreSQL. The API's serialiser (pydantic) writes compact JSON: no
# spaces, keys in field order, strings escaped as PostgreSQL's to_json escapes them
# (`"`, `\`, \b \f \n \r \t, other control characters as \u00xx, the rest as UTF-8).
# PostgreSQL's json_build_object and json_agg put spaces in, so documents are written
# here as text instead. Numbers other than integers and timestamps are formatted
# differently by the two: pages holding those are serialised from rows in Python.


def json_value(value: Any) -> ColumnElement[str]:
    """``value`` as JSON text; ``null`` for SQL NULL."""
    return func.coalesce(func.to_json(value).cast(Text), sql_text("null"))


def sql_text(constant: str) -> ColumnElement[str]:
    """A constant piece of JSON text, written into the statement (not a parameter)."""
    return literal_column("'" + constant.replace("'", "''") + "'", Text)


def concatenated(*parts: ColumnElement[str]) -> ColumnElement[str]:
    joined = parts[0]
    for part in parts[1:]:
        joined = joined.op("||", return_type=Text)(part)
    return joined


def json_object(fields: dict[str, ColumnElement[str]]) -> ColumnElement[str]:
    """A JSON object with ``fields`` (values already JSON text) in this order, compact."""
    parts: list[ColumnElement[str]] = []
    for index, (name, value) in enumerate(fields.items()):
        parts += [sql_text(("{" if index == 0 else ",") + json.dumps(name) + ":"), value]
    return concatenated(*parts, sql_text("}"))


def json_array(document: ColumnElement[str], *order_by: Any) -> ColumnElement[str]:
    """The aggregate of ``document`` (JSON text) over the rows, in ``order_by``: ``[]``
    when there are none."""
    items = func.string_agg(document, aggregate_order_by(sql_text(","), *order_by))
    return concatenated(sql_text("["), func.coalesce(items, sql_text("")), sql_text("]"))


def json_object_of(
    key: ColumnElement[str], value: ColumnElement[str], *order_by: Any
) -> ColumnElement[str]:
    """The aggregate of ``key: value`` pairs (JSON text both) over the rows, in
    ``order_by``, as one object: ``{}`` when there are none."""
    pair = concatenated(key, sql_text(":"), value)
    items = func.string_agg(pair, aggregate_order_by(sql_text(","), *order_by))
    return concatenated(sql_text("{"), func.coalesce(items, sql_text("")), sql_text("}"))


@dataclass(frozen=True)
class JsonPage:
    """One page written by PostgreSQL: the items' JSON text, and the next cursor."""

    anchor: Any
    items: str
    next_cursor: str | None

    def body(self) -> bytes:
        """The bytes ``Page(items=..., next_cursor=...).model_dump_json()`` writes."""
        cursor = b"null" if self.next_cursor is None else b'"' + self.next_cursor.encode() + b'"'
        return b'{"items":[' + self.items.encode() + b'],"next_cursor":' + cursor + b"}"


def json_page_rows(
    statement: Select[Any],
    *,
    document: ColumnElement[str],
    order_by: Sequence[Column],
    page: PageRequest,
    after: Sequence[Any] | None,
    descending: bool = False,
) -> Select[Any]:
    """The rows of one page (``limit + 1`` of them) of ``statement``: the row's JSON text,
    its position and its sort key. ``statement`` gives the FROM and WHERE clauses."""
    ordering = _ordering(order_by, descending)
    return (
        _after_cursor(statement, order_by, after, descending)
        .with_only_columns(
            document.label("document"),
            func.row_number().over(order_by=ordering).label("position"),
            *[column.label(f"key_{index}") for index, column in enumerate(order_by)],
            maintain_column_froms=True,
        )
        .order_by(*ordering)
        .limit(page.limit + 1)
    )


async def fetch_json_page(
    connection: AsyncConnection,
    pages: Sequence[Select[Any]],
    *,
    order_by: Sequence[Column],
    page: PageRequest,
    anchor: ColumnElement[Any] | None = None,
) -> JsonPage:
    """One statement: the page's items as JSON text, joined by PostgreSQL, and the key
    of its last row when there are more.

    ``pages`` are :func:`json_page_rows` selects of which at most one yields rows (the
    others off by a condition PostgreSQL evaluates once); ``anchor`` is a value read
    along, such as the id of the network the list belongs to (NULL: no such network).
    """
    rows = (pages[0].union_all(*pages[1:]) if len(pages) > 1 else pages[0]).subquery("page")
    keys = range(len(order_by))
    aggregate = select(
        func.string_agg(rows.c.document, aggregate_order_by(sql_text(","), rows.c.position))
        .filter(rows.c.position <= page.limit)
        .label("items"),
        func.count().label("fetched"),
        *[
            func.array_agg(rows.c[f"key_{index}"])
            .filter(rows.c.position == page.limit)[1]
            .label(f"key_{index}")
            for index in keys
        ],
    ).subquery("aggregate")
    statement = select(
        (anchor if anchor is not None else literal_column("NULL")).label("anchor"),
        *aggregate.c,
    )
    row = (await connection.execute(statement)).one()
    cursor = (
        page.next_cursor([row._mapping[f"key_{index}"] for index in keys])
        if row.fetched > page.limit
        else None
    )
    return JsonPage(anchor=row.anchor, items=row.items or "", next_cursor=cursor)


@dataclass(frozen=True)
class RowPage:
    """One page read as plain rows (dicts of the fields asked for), and the next cursor."""

    anchor: Any
    items: list[dict[str, Any]]
    next_cursor: str | None


async def fetch_row_page(
    connection: AsyncConnection,
    statement: Select[Any],
    fields: Sequence[str],
    *,
    order_by: Sequence[Column],
    page: PageRequest,
    anchor: ColumnElement[Any] | None = None,
) -> RowPage:
    """One statement: a page of ``statement``, whose first columns are ``fields``, as
    dicts; ``anchor`` is a value read along even when the page is empty."""
    keys = range(len(order_by))
    rows = (
        _after_cursor(statement, order_by, page.after(order_by), False)
        .add_columns(*[column.label(f"key_{index}") for index, column in enumerate(order_by)])
        .order_by(*_ordering(order_by, False))
        .limit(page.limit + 1)
    )
    skip = 0
    if anchor is not None:
        paged = rows.add_columns(literal_column("true").label("present")).subquery("page")
        one = select(literal_column("1").label("one")).subquery("one")
        rows = select(anchor.label("anchor"), *paged.c).select_from(one.outerjoin(paged, true()))
        skip = 1
    found = (await connection.execute(rows)).all()
    anchor_value = found[0][0] if anchor is not None else None
    if anchor is not None:
        found = [row for row in found if row[-1] is not None]
    cursor = None
    if len(found) > page.limit:
        found = found[: page.limit]
        mapping = found[-1]._mapping
        cursor = page.next_cursor([mapping[f"key_{index}"] for index in keys])
    width = len(fields)
    return RowPage(
        anchor=anchor_value,
        items=[dict(zip(fields, row[skip : skip + width], strict=True)) for row in found],
        next_cursor=cursor,
    )


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
