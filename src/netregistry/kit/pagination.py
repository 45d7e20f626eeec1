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
from typing import TYPE_CHECKING, Annotated, Any, Generic, TypeAlias, TypeVar

from fastapi import Query, Request
from pydantic import BaseModel, Field
from sqlalchemy import (
    BindParameter,
    ColumnElement,
    Integer,
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
from netregistry.kit.types import CURSOR_PATTERN

if TYPE_CHECKING:
    from netregistry.kit.direct import DirectConnection

# What a one-statement read runs on (netregistry.db.read_connection): the session's
# connection, or a direct read's raw one.
ReadConnection: TypeAlias = "AsyncConnection | DirectConnection"

T = TypeVar("T")

DEFAULT_LIMIT = 100
# The longest cursor a list takes (ours are far shorter).
MAX_CURSOR_LENGTH = 2000
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
    statement = _after_cursor(
        statement, order_by, _bound_values(order_by, page.after(order_by)), descending
    )
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
    bound: Sequence[ColumnElement[Any]] | None,
    descending: bool,
) -> Select[Any]:
    """``statement`` restricted to the rows after the cursor's key (``bound``: its
    values or placeholders, one per column of ``order_by``)."""
    if bound is None:
        return statement
    position = tuple_(*order_by)
    key = tuple_(*bound)
    return statement.where(position < key if descending else position > key)


def _bound_values(order_by: Sequence[Column], after: Sequence[Any] | None) -> list[Any] | None:
    if after is None:
        return None
    return [
        bindparam(None, value, type_=column.type)
        for value, column in zip(after, order_by, strict=True)
    ]


# Statements built once per shape (the read path's repositories cache them) hold
# placeholders where a page's values go: the page size, the rows fetched (one more, to
# know whether there is a next page) and the cursor's key; :func:`page_parameters` gives
# their values for one request. A statement object reused keeps its cache key, so
# SQLAlchemy finds its compiled form without walking it again.


def _page_limit() -> BindParameter[int]:
    return bindparam("page_limit", type_=Integer)


def _page_fetch() -> BindParameter[int]:
    return bindparam("page_fetch", type_=Integer)


def _after_placeholders(order_by: Sequence[Column]) -> list[BindParameter[Any]]:
    return [bindparam(f"after_{index}", type_=column.type) for index, column in enumerate(order_by)]


def page_parameters(page: PageRequest, after: Sequence[Any] | None) -> dict[str, Any]:
    """The values of a page statement's placeholders for ``page``, after the key
    ``after`` (``page.after(...)``; None: the first page)."""
    values: dict[str, Any] = {"page_limit": page.limit, "page_fetch": page.limit + 1}
    if after is not None:
        values.update({f"after_{index}": value for index, value in enumerate(after)})
    return values


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
    after: bool,
    descending: bool = False,
) -> Select[Any]:
    """The rows of one page (``page_fetch`` of them) of ``statement``: the row's JSON
    text, its position and its sort key, after the cursor's key when ``after``.
    ``statement`` gives the FROM and WHERE clauses."""
    ordering = _ordering(order_by, descending)
    bound = _after_placeholders(order_by) if after else None
    return (
        _after_cursor(statement, order_by, bound, descending)
        .with_only_columns(
            document.label("document"),
            func.row_number().over(order_by=ordering).label("position"),
            *[column.label(f"key_{index}") for index, column in enumerate(order_by)],
            maintain_column_froms=True,
        )
        .order_by(*ordering)
        .limit(_page_fetch())
    )


def json_page_statement(
    pages: Sequence[Select[Any]],
    *,
    keys: int,
    anchor: ColumnElement[Any] | None = None,
) -> Select[Any]:
    """One statement: a page's items as JSON text, joined by PostgreSQL, and the key
    (``keys`` columns) of its last row when there are more.

    ``pages`` are :func:`json_page_rows` selects of which at most one yields rows (the
    others off by a condition PostgreSQL evaluates once); ``anchor`` is a value read
    along, such as the id of the network the list belongs to (NULL: no such network).
    Built once per shape; run with :func:`read_json_page`.
    """
    rows = (pages[0].union_all(*pages[1:]) if len(pages) > 1 else pages[0]).subquery("page")
    aggregate = select(
        func.string_agg(rows.c.document, aggregate_order_by(sql_text(","), rows.c.position))
        .filter(rows.c.position <= _page_limit())
        .label("items"),
        func.count().label("fetched"),
        *[
            func.array_agg(rows.c[f"key_{index}"])
            .filter(rows.c.position == _page_limit())[1]
            .label(f"key_{index}")
            for index in range(keys)
        ],
    ).subquery("aggregate")
    return select(
        (anchor if anchor is not None else literal_column("NULL")).label("anchor"),
        *aggregate.c,
    )


async def read_json_page(
    connection: ReadConnection,
    statement: Select[Any],
    parameters: dict[str, Any],
    *,
    page: PageRequest,
    keys: int,
) -> JsonPage:
    """Run a :func:`json_page_statement` with ``parameters`` (those of
    :func:`page_parameters` and the statement's own)."""
    row = (await connection.execute(statement, parameters)).one()
    cursor = (
        page.next_cursor([row[3 + index] for index in range(keys)])
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


def row_page_statement(
    statement: Select[Any],
    *,
    order_by: Sequence[Column],
    after: bool,
    anchor: ColumnElement[Any] | None = None,
) -> Select[Any]:
    """One statement: a page of ``statement`` (``page_fetch`` rows, after the cursor's
    key when ``after``) with its sort key; ``anchor`` is a value read along even when the
    page is empty. Built once per shape; run with :func:`read_row_page`."""
    bound = _after_placeholders(order_by) if after else None
    rows = (
        _after_cursor(statement, order_by, bound, False)
        .add_columns(*[column.label(f"key_{index}") for index, column in enumerate(order_by)])
        .order_by(*_ordering(order_by, False))
        .limit(_page_fetch())
    )
    if anchor is None:
        return rows
    paged = rows.add_columns(literal_column("true").label("present")).subquery("page")
    one = select(literal_column("1").label("one")).subquery("one")
    return select(anchor.label("anchor"), *paged.c).select_from(one.outerjoin(paged, true()))


async def read_row_page(
    connection: ReadConnection,
    statement: Select[Any],
    parameters: dict[str, Any],
    fields: Sequence[str],
    *,
    page: PageRequest,
    keys: int,
    anchor: bool = False,
) -> RowPage:
    """Run a :func:`row_page_statement`, whose first columns (after the anchor) are
    ``fields``, with ``parameters``: the rows as dicts."""
    found = (await connection.execute(statement, parameters)).all()
    anchor_value = found[0][0] if anchor else None
    if anchor:
        found = [row for row in found if row[-1] is not None]
    skip = 1 if anchor else 0
    width = len(fields)
    cursor = None
    if len(found) > page.limit:
        found = found[: page.limit]
        last = found[-1]
        key_at = len(last) - keys - (1 if anchor else 0)
        cursor = page.next_cursor(list(last[key_at : key_at + keys]))
    return RowPage(
        anchor=anchor_value,
        items=[dict(zip(fields, row[skip : skip + width], strict=True)) for row in found],
        next_cursor=cursor,
    )


def list_scope(request: Request) -> str:
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
        Query(
            max_length=MAX_CURSOR_LENGTH,
            pattern=CURSOR_PATTERN,
            description="The `next_cursor` of the previous page.",
        ),
    ] = None,
) -> PageRequest:
    """The pagination parameters every list endpoint takes."""
    codec: CursorCodec = request.app.state.cursor_codec
    return PageRequest(limit=limit, cursor=cursor, scope=list_scope(request), codec=codec)
