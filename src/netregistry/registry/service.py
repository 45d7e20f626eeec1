"""The base of the nouns' services: what every one of them works with, and the bulk
path that imports write through."""

from __future__ import annotations

import uuid
from collections.abc import Callable, Sequence
from typing import Any, TypeVar

from pydantic import BaseModel
from sqlalchemy import Select
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncSession

from netregistry.audit.service import AuditTrail
from netregistry.auth.principal import Principal
from netregistry.errors import NetregistryError
from netregistry.models import Base, Network, Role
from netregistry.registry.resolve import Resolver

RowT = TypeVar("RowT", bound=Base)


class RowRefused(Exception):
    """Row ``index`` of a batch cannot be written: ``reason`` says why."""

    def __init__(self, index: int, reason: str) -> None:
        super().__init__(reason)
        self.index = index
        self.reason = reason


class RegistryService:
    """A service of one noun, in one request's session: its audit trail records what
    ``actor`` changes (or ``writer``, a name for a writer without a key, such as the
    import command), and :attr:`resolve` finds the networks, roles and members the
    request names."""

    def __init__(
        self, session: AsyncSession, actor: Principal | None, *, writer: str | None = None
    ) -> None:
        self.session = session
        self.actor = actor
        self.audit = AuditTrail(session, actor, writer=writer)
        self.resolve = Resolver(session)

    async def _networks_of(self, rows: Sequence[dict[str, Any]]) -> list[Network]:
        """The network each row names by slug (its ``network``, taken out of the row)."""
        found: dict[str, Network] = {}
        networks = []
        for index, row in enumerate(rows):
            slug = row.pop("network")
            if slug not in found:
                network = await self.resolve.find_network(slug)
                if network is None:
                    raise RowRefused(index, f"no network {slug!r}")
                found[slug] = network
            networks.append(found[slug])
        return networks

    async def _roles_of(
        self, rows: Sequence[dict[str, Any]], networks: Sequence[Network]
    ) -> list[Role]:
        """The role of its network each row names by slug (its ``role``, taken out)."""
        found: dict[tuple[str, str], Role] = {}
        roles = []
        for index, (row, network) in enumerate(zip(rows, networks, strict=True)):
            key = (network.slug, row.pop("role"))
            if key not in found:
                role = await self.resolve.find_role(network, key[1])
                if role is None:
                    raise RowRefused(index, f"{network.slug} has no role {key[1]!r}")
                found[key] = role
            roles.append(found[key])
        return roles

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

        A database error (a constraint) is a :class:`RowRefused` naming the first row
        that breaks it, found by inserting the rows one by one.
        """
        try:
            async with self.session.begin_nested():
                self.session.add_all(rows)
                await self.session.flush()
        except DBAPIError:
            for index, row in enumerate(rows):
                try:
                    async with self.session.begin_nested():
                        self.session.add(row)
                        await self.session.flush()
                except DBAPIError as error:
                    raise RowRefused(index, _reason(error)) from error
            raise
        ids = [row.id for row in rows]  # type: ignore[attr-defined]
        found = {
            row.id: row  # type: ignore[attr-defined]
            for row in await self.session.scalars(
                reread(ids).execution_options(populate_existing=True)
            )
        }
        return [found[row_id] for row_id in ids]

    async def _audit_created(
        self,
        rows: Sequence[Any],
        represent: Callable[[Any], BaseModel],
        identify: Callable[[Any], tuple[str, str, str | None]],
    ) -> None:
        """One audit entry (and change-feed entry) per created row: its representation
        as its endpoint returns it, under ``identify(row)``: (type, id, network)."""
        for row in rows:
            resource_type, resource_id, network = identify(row)
            await self.audit.record(
                "create", resource_type, resource_id, network=network, after=represent(row)
            )


def _reason(error: DBAPIError) -> str:
    """The first line of the database's message: which constraint, which value."""
    return str(error.orig).split("\n", 1)[0] if error.orig else type(error).__name__
