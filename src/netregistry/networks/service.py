"""Networks: creating, changing and removing the registry's top-level resource."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date
from typing import Any

from netregistry.errors import Conflict, FieldError, ValidationFailed
from netregistry.kit import integrity
from netregistry.kit.etag import require_match
from netregistry.kit.languages import NameChoice
from netregistry.kit.pagination import PageRequest
from netregistry.models import Network
from netregistry.networks.repository import NetworkRepository
from netregistry.networks.schemas import (
    NetworkCreate,
    NetworkRead,
    NetworkUpdate,
    unknown_categories,
)
from netregistry.registry import rules
from netregistry.registry.names import display_names, names_of_networks, replace_names
from netregistry.registry.resolve import network_not_found
from netregistry.registry.service import RegistryService

RESOURCE = "network"
PLAIN = NameChoice()


class NetworkService(RegistryService[NetworkRepository]):
    repository_type = NetworkRepository

    async def list_page(self, page: PageRequest) -> tuple[Sequence[Network], str | None]:
        return await self.repository.list_page(page)

    async def read_page(
        self, page: PageRequest, choice: NameChoice = PLAIN
    ) -> tuple[list[NetworkRead], str | None]:
        """A page of networks as read, names chosen by ``choice``."""
        networks, next_cursor = await self.repository.list_page(page)
        return await self.represent_all(networks, choice), next_cursor

    async def read(self, slug: str, choice: NameChoice = PLAIN) -> NetworkRead:
        """The network as read: its ``name`` the one ``choice`` picks."""
        (read,) = await self.represent_all([await self.get(slug)], choice)
        return read

    async def get(self, slug: str, *, for_update: bool = False) -> Network:
        return await self.resolve.network(slug, for_update=for_update)

    async def represent_all(
        self, networks: Sequence[Network], choice: NameChoice = PLAIN
    ) -> list[NetworkRead]:
        """``networks`` as :class:`NetworkRead`, with their names and category labels
        (two statements for them all) and, when asked, the name chosen by ``choice``."""
        ids = [network.id for network in networks]
        names = await names_of_networks(self.session, ids)
        labels = await self.repository.category_labels(ids)
        shown = await display_names(self.session, [(n.id, n.name) for n in networks], choice)
        reads = []
        for network in networks:
            fields = {
                field: getattr(network, field)
                for field in NetworkRead.model_fields
                if field not in ("names", "category_labels")
            }
            fields.update(
                name=shown[network.id], names=names[network.id], category_labels=labels[network.id]
            )
            reads.append(NetworkRead.model_validate(fields))
        return reads

    async def _represent(self, network: Network) -> NetworkRead:
        (read,) = await self.represent_all([network])
        return read

    async def _write_names_and_labels(self, network: Network, values: dict[str, Any]) -> None:
        names = values.pop("names", None)
        labels = values.pop("category_labels", None)
        if names is None and labels is None:
            return
        await self.session.flush()
        if names is not None:
            await replace_names(
                self.session, [name.values() for name in names], network_id=network.id
            )
        if labels is not None:
            await self.repository.replace_category_labels(
                network.id, [label.values() for label in labels]
            )

    async def stats(self, slug: str, as_of: date, names: NameChoice | None = None) -> bytes:
        """The network's :class:`NetworkStats` on ``as_of``, written by PostgreSQL; the
        role holders named by ``names`` on that day."""
        network_id, document = await self.repository.stats(
            slug, as_of, None if names is None else names.on(as_of)
        )
        if network_id is None:
            raise network_not_found(slug)
        return document.encode()

    async def create(self, data: NetworkCreate) -> NetworkRead:
        values = data.values()
        given: dict[str, Any] = {key: values.pop(key) for key in ("names", "category_labels")}
        network = Network(**values)
        async with integrity.guard(
            self.session,
            {
                "uq_networks_slug": lambda: Conflict(
                    f"A network with slug {data.slug!r} already exists."
                )
            },
        ):
            self.repository.add(network)
            await self._write_names_and_labels(network, given)
        await self.session.refresh(network)
        created = await self._represent(network)
        await self.audit.record(
            "create", RESOURCE, network.slug, network=network.slug, after=created
        )
        return created

    async def import_created(self, rows: Sequence[dict[str, Any]]) -> None:
        """Networks from an export, with their timestamps: each checked as a request's
        body is, written in one batch, each audited."""
        checked = self._checked(rows, NetworkCreate)
        given = []
        built = []
        for data, kept in checked:
            values = data.values()
            given.append({key: values.pop(key) for key in ("names", "category_labels")})
            built.append(Network(**values, **kept))
        networks = await self._insert_all(built, self.repository.by_ids)
        for network, extra in zip(built, given, strict=True):
            await self._write_names_and_labels(network, extra)
        reads = {read.slug: read for read in await self.represent_all(networks)}
        await self._audit_created(
            networks, lambda n: reads[n.slug], lambda n: (RESOURCE, n.slug, n.slug)
        )

    async def update(self, slug: str, data: NetworkUpdate, *, if_match: str | None) -> NetworkRead:
        network = await self.get(slug, for_update=True)
        before = await self._represent(network)
        require_match(if_match, before)
        changes = data.values(exclude_unset=True)
        given: dict[str, Any] = {
            key: changes.pop(key) for key in ("names", "category_labels") if key in changes
        }
        categories = changes.get("membership_categories", network.membership_categories)
        if given.get("category_labels") and (
            unknown := unknown_categories(given["category_labels"], categories)
        ):
            problem = (
                f"category_labels name {', '.join(unknown)}, not one of the "
                f"membership_categories ({', '.join(categories)})"
            )
            raise ValidationFailed(
                f"category_labels: {problem}",
                [
                    FieldError(
                        location=["body", "category_labels"], message=problem, type="value_error"
                    )
                ],
            )
        if "membership_categories" in changes:
            gone = set(network.membership_categories) - set(changes["membership_categories"])
            await rules.check_categories_unused(self.session, network, gone)
            if gone and "category_labels" not in given:
                await self.repository.drop_category_labels(network.id, sorted(gone))
        async with integrity.guard(self.session):
            for field, value in changes.items():
                setattr(network, field, value)
            await self._write_names_and_labels(network, given)
        await self.session.refresh(network)
        after = await self._represent(network)
        await self.audit.record("update", RESOURCE, slug, network=slug, before=before, after=after)
        return after

    async def delete(self, slug: str, *, if_match: str | None) -> None:
        network = await self.get(slug, for_update=True)
        before = await self._represent(network)
        require_match(if_match, before)
        async with integrity.guard(
            self.session,
            {
                f"fk_{table}_network_id_networks": lambda: Conflict(
                    f"{slug} still has memberships, roles, tenures or declarations; "
                    "delete them first."
                )
                for table in ("memberships", "roles", "tenures", "declarations")
            },
        ):
            await self.repository.delete(network)
        await self.audit.record("delete", RESOURCE, slug, network=slug, before=before)
