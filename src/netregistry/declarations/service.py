"""Declarations: figures a network states about itself, written and read."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from typing import Any

from netregistry.declarations.repository import DeclarationRepository
from netregistry.declarations.schemas import DeclarationCreate, DeclarationRead
from netregistry.errors import Conflict, NetregistryError, NotFound, invalid
from netregistry.kit import integrity
from netregistry.kit.etag import require_match
from netregistry.kit.messages import in_words
from netregistry.kit.pagination import PageRequest
from netregistry.models import Declaration, Network
from netregistry.registry.service import RegistryService, RowRefused, without_network

RESOURCE = "declaration"


def _values(network: Network, data: DeclarationCreate) -> dict[str, Any]:
    """The declaration's columns; its categories must be the network's (a 422 names the
    others), kept in the network's order of categories, as stats count them."""
    unknown = sorted(set(data.by_category) - set(network.membership_categories))
    if unknown:
        raise invalid(
            "by_category",
            f"{in_words(unknown)} {'is' if len(unknown) == 1 else 'are'} not among "
            f"{network.slug}'s categories ({', '.join(network.membership_categories)})",
            type="unknown_category",
        )
    by_category = {
        category: data.by_category[category]
        for category in network.membership_categories
        if category in data.by_category
    }
    return {**data.values(), "by_category": by_category}


def _read(declaration: Declaration, network: Network) -> DeclarationRead:
    return DeclarationRead(
        id=declaration.id,
        network=network.slug,
        date=declaration.date,
        by_category=dict(declaration.by_category),
        total=declaration.total,
        countries=declaration.countries,
        source=declaration.source,
        source_url=declaration.source_url,
        note=declaration.note,
        created_at=declaration.created_at,
        updated_at=declaration.updated_at,
    )


class DeclarationService(RegistryService[DeclarationRepository]):
    repository_type = DeclarationRepository

    async def list_page(
        self, slug: str, page: PageRequest
    ) -> tuple[list[DeclarationRead], str | None]:
        network = await self.resolve.network(slug)
        found, cursor = await self.repository.list_page(network.id, page)
        return [_read(declaration, network) for declaration in found], cursor

    async def get(self, slug: str, declaration_id: uuid.UUID) -> DeclarationRead:
        network = await self.resolve.network(slug)
        return _read(await self._get(network, declaration_id), network)

    async def create(self, slug: str, data: DeclarationCreate) -> DeclarationRead:
        # Categories are read under the lock their removal takes (rules.check_categories_unused).
        network = await self.resolve.network_under_rules(slug)
        declaration = Declaration(network_id=network.id, **_values(network, data))
        async with integrity.guard(
            self.session,
            {
                "uq_declarations_network_id_date": lambda: Conflict(
                    f"{slug} already has a declaration dated {data.date}: correct that one "
                    "(delete it and declare again) rather than state two figures for one date."
                )
            },
        ):
            self.repository.add(declaration)
        await self.session.refresh(declaration)
        created = _read(declaration, network)
        await self.audit.record("create", RESOURCE, str(created.id), network=slug, after=created)
        return created

    async def import_created(self, rows: Sequence[dict[str, Any]]) -> None:
        """Declarations from an export (each naming its network by slug), with their ids
        and timestamps: each checked as a request's body is and against its network's
        categories, written in one batch, each audited."""
        checked = self._checked(rows, DeclarationCreate)
        networks = await self._networks_of([kept for _, kept in checked])
        built: list[Declaration] = []
        for index, (network, (data, kept)) in enumerate(zip(networks, checked, strict=True)):
            try:
                values = _values(network, data)
            except NetregistryError as error:
                raise RowRefused(index, error.detail) from error
            built.append(Declaration(network_id=network.id, **values, **without_network(kept)))
        declarations = await self._insert_all(built, self.repository.by_ids)
        by_id = {network.id: network for network in networks}
        await self._audit_created(
            declarations,
            lambda d: _read(d, by_id[d.network_id]),
            lambda d: (RESOURCE, str(d.id), by_id[d.network_id].slug),
        )

    async def delete(self, slug: str, declaration_id: uuid.UUID, *, if_match: str | None) -> None:
        network = await self.resolve.network(slug)
        declaration = await self._get(network, declaration_id, for_update=True)
        before = _read(declaration, network)
        require_match(if_match, before)
        await self.repository.delete(declaration)
        await self.audit.record("delete", RESOURCE, str(before.id), network=slug, before=before)

    async def _get(
        self, network: Network, declaration_id: uuid.UUID, *, for_update: bool = False
    ) -> Declaration:
        found = await self.repository.get_by_id(
            declaration_id, where=[Declaration.network_id == network.id], for_update=for_update
        )
        if found is None:
            raise NotFound(f"{network.slug} has no declaration {declaration_id}.")
        return found
