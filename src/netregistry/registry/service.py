"""The base of the nouns' services: what every one of them works with, and the bulk
path that imports write through."""

from __future__ import annotations

import uuid
from collections import defaultdict
from collections.abc import Callable, Sequence
from typing import Any, ClassVar, Generic, TypeVar

from pydantic import BaseModel, ValidationError
from sqlalchemy import Select, insert, inspect
from sqlalchemy.exc import DataError, DBAPIError, IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from netregistry.audit.service import AuditEntry, AuditTrail
from netregistry.auth.principal import Principal
from netregistry.errors import NetregistryError
from netregistry.kit.messages import officer_message
from netregistry.kit.schemas import WriteSchema
from netregistry.models import Network
from netregistry.models.base import UUIDPrimaryKey
from netregistry.registry.resolve import Resolver

RowT = TypeVar("RowT", bound=UUIDPrimaryKey)
SchemaT = TypeVar("SchemaT", bound=WriteSchema)
RepositoryT = TypeVar("RepositoryT")

# What a bulk writer keeps of a record itself rather than take from the body schema:
# the record's identity and history (its id, its timestamps), and the network it names
# by slug (resolved by the service).
KEPT = frozenset({"id", "created_at", "updated_at", "network"})
# The database errors that mean "this row breaks a rule": a constraint, a bad value.
REFUSALS = (IntegrityError, DataError)
# Bind parameters in one statement, at most (PostgreSQL's protocol allows 32,767).
MAX_BINDS = 30_000


class RowRefused(Exception):
    """Row ``index`` of a batch cannot be written: ``reason`` says why."""

    def __init__(self, index: int, reason: str) -> None:
        super().__init__(reason)
        self.index = index
        self.reason = reason


class RegistryService(Generic[RepositoryT]):
    """A service of one noun, in one request's session: its audit trail records what
    ``actor`` changes (or ``writer``, a name for a writer without a key, such as the
    import command), and :attr:`resolve` finds the networks, roles and members the
    request names."""

    # The noun's repository; a service builds nothing else of its own.
    repository_type: ClassVar[type[Any]]

    def __init__(
        self, session: AsyncSession, actor: Principal | None, *, writer: str | None = None
    ) -> None:
        self.session = session
        self.actor = actor
        self.audit = AuditTrail(session, actor, writer=writer)
        self.resolve = Resolver(session)
        self.repository: RepositoryT = self.repository_type(session)

    @staticmethod
    def _checked(
        rows: Sequence[dict[str, Any]], schema: type[SchemaT]
    ) -> list[tuple[SchemaT, dict[str, Any]]]:
        """Each row's writable fields checked by ``schema``, the body the noun's endpoint
        takes (so a bulk writer meets every rule a request meets), beside what the
        writer keeps itself (:data:`KEPT`). A field the schema refuses, or one it does
        not have (unless empty), is a :class:`RowRefused` naming it."""
        checked = []
        for index, row in enumerate(rows):
            fields = {
                name: value
                for name, value in row.items()
                if name not in KEPT and (value is not None or name in schema.model_fields)
            }
            try:
                data = schema.model_validate(fields)
            except ValidationError as error:
                raise RowRefused(index, _schema_reason(error)) from error
            checked.append((data, {k: v for k, v in row.items() if k in KEPT}))
        return checked

    async def _networks_of(self, kept: Sequence[dict[str, Any]]) -> list[Network]:
        """The network each row names by slug (its ``network``)."""
        found: dict[str, Network] = {}
        networks = []
        for index, row in enumerate(kept):
            slug = row["network"]
            if slug not in found:
                network = await self.resolve.find_network(slug)
                if network is None:
                    raise RowRefused(index, f"no network {slug!r}")
                found[slug] = network
            networks.append(found[slug])
        return networks

    @staticmethod
    def _check_each(rows: Sequence[Any], check: Callable[[Any], None]) -> None:
        """``check`` every row; a rule it breaks is a :class:`RowRefused` for that row."""
        for index, row in enumerate(rows):
            try:
                check(row)
            except NetregistryError as error:
                raise RowRefused(index, error.detail) from error

    async def _insert_all(
        self,
        rows: Sequence[RowT],
        reread: Callable[[list[uuid.UUID]], Select[RowT]],
    ) -> list[RowT]:
        """Insert new ``rows`` in one batch and read them back, in order, by ``reread``
        (a statement for their ids that loads what their representation needs).

        A constraint the batch breaks is a :class:`RowRefused` naming the first row
        that breaks it, found by inserting the rows one by one. Any other database error
        (a lost connection, a timeout) is raised as it is.
        """
        try:
            async with self.session.begin_nested():
                await self._insert_values(rows)
        except REFUSALS:
            for index, row in enumerate(rows):
                try:
                    async with self.session.begin_nested():
                        self.session.add(row)
                        await self.session.flush()
                except REFUSALS as error:
                    raise RowRefused(index, _reason(error)) from error
            raise
        ids = [row.id for row in rows]
        found = {
            row.id: row
            for row in await self.session.scalars(
                reread(ids).execution_options(populate_existing=True)
            )
        }
        return [found[row_id] for row_id in ids]

    async def _insert_values(self, rows: Sequence[RowT]) -> None:
        """``rows`` inserted as plain values (the ORM's unit of work costs more than the
        database for thousands of rows): one batched statement per set of columns given,
        each row's own values, the columns' defaults for the rest."""
        groups: dict[tuple[str, ...], list[dict[str, Any]]] = defaultdict(list)
        for row in rows:
            if row.id is None:
                row.id = uuid.uuid4()
            values = {
                attribute.key: row.__dict__[attribute.key]
                for attribute in inspect(type(row)).column_attrs
                if attribute.key in row.__dict__
            }
            groups[tuple(values)].append(values)
        for columns, group in groups.items():
            # Many rows to a statement (a bind parameter apiece, within PostgreSQL's
            # 32,767), not a statement per row.
            size = max(1, MAX_BINDS // max(1, len(columns)))
            for start in range(0, len(group), size):
                await self.session.execute(
                    insert(type(rows[0])).values(group[start : start + size])
                )

    async def _audit_created(
        self,
        rows: Sequence[Any],
        represent: Callable[[Any], BaseModel],
        identify: Callable[[Any], tuple[str, str, str | None]],
    ) -> None:
        """One audit entry (and change-feed entry) per created row: its representation
        as its endpoint returns it, under ``identify(row)``: (type, id, network)."""
        entries: list[AuditEntry] = []
        for row in rows:
            resource_type, resource_id, network = identify(row)
            entries.append(
                ("create", resource_type, resource_id, network, (), None, represent(row))
            )
        await self.audit.record_all(entries)

    async def _update_all(
        self,
        rows: Sequence[RowT],
        changes: Sequence[dict[str, Any]],
        reread: Callable[[list[uuid.UUID]], Select[RowT]],
    ) -> list[RowT]:
        """Apply ``changes`` to loaded ``rows`` (one dict each) in one flush and read
        them back, in order, by ``reread``.

        A constraint the batch breaks is a :class:`RowRefused` naming the first row
        that breaks it, found by applying the changes one by one. Any other database
        error is raised as it is.
        """
        ids = [row.id for row in rows]
        try:
            async with self.session.begin_nested():
                for row, change in zip(rows, changes, strict=True):
                    for field, value in change.items():
                        setattr(row, field, value)
                await self.session.flush()
        except REFUSALS:
            fresh = {
                row.id: row
                for row in await self.session.scalars(
                    reread(ids).execution_options(populate_existing=True)
                )
            }
            for index, (row_id, change) in enumerate(zip(ids, changes, strict=True)):
                try:
                    async with self.session.begin_nested():
                        for field, value in change.items():
                            setattr(fresh[row_id], field, value)
                        await self.session.flush()
                except REFUSALS as error:
                    raise RowRefused(index, _reason(error)) from error
            raise
        found = {
            row.id: row
            for row in await self.session.scalars(
                reread(ids).execution_options(populate_existing=True)
            )
        }
        return [found[row_id] for row_id in ids]


def without_network(kept: dict[str, Any]) -> dict[str, Any]:
    """What a bulk writer keeps of a record, but the network it named (resolved)."""
    return {name: value for name, value in kept.items() if name != "network"}


def _schema_reason(error: ValidationError) -> str:
    """The schema's objections, each naming its field."""
    return "; ".join(
        f"{'.'.join(str(part) for part in problem['loc']) or 'record'}: {officer_message(problem)}"
        for problem in error.errors()
    )


def _reason(error: DBAPIError) -> str:
    """The first line of the database's message: which constraint, which value."""
    return str(error.orig).split("\n", 1)[0] if error.orig else type(error).__name__
