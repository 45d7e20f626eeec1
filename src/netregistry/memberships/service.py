"""Memberships: who belongs to a network, in which category, over which period."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import date
from typing import Any

import orjson

from netregistry.audit.service import AuditEntry
from netregistry.errors import (
    Conflict,
    InvalidCursor,
    NotFound,
    ValidationFailed,
    unknown_member,
)
from netregistry.kit import integrity
from netregistry.kit.dates import PartialDate, describe_period, overlap_in_words
from netregistry.kit.etag import require_match
from netregistry.kit.languages import NameChoice
from netregistry.kit.messages import with_article
from netregistry.kit.pagination import JsonPage, PageRequest
from netregistry.memberships.repository import MembershipRepository
from netregistry.memberships.schemas import (
    MembershipCreate,
    MembershipRead,
    MembershipUpdate,
)
from netregistry.models import Membership, Network
from netregistry.registry import places, rules
from netregistry.registry.resolve import network_not_found
from netregistry.registry.service import RegistryService, without_network
from netregistry.registry.shapes import with_member_names

RESOURCE = "membership"


def overlap_conflict(existing: Membership, start: PartialDate | None) -> Conflict:
    """The membership ``existing`` is in the way of one from ``start``."""
    overlap = overlap_in_words(start, existing.start_date, "that membership")
    return Conflict(
        f"{existing.member.name} is already {with_article(existing.category)} member of "
        f"{existing.network.slug} {describe_period(existing.start_date, existing.end_date)} "
        f"(membership {existing.id}); the two would overlap {overlap}. One member's "
        "memberships of a network cannot overlap: end that membership first, or correct "
        "its dates."
    )


class MembershipService(RegistryService[MembershipRepository]):
    repository_type = MembershipRepository

    async def list_page(
        self,
        slug: str,
        page: PageRequest,
        *,
        member_id: uuid.UUID | None,
        names: NameChoice | None = None,
    ) -> tuple[list[MembershipRead], str | None]:
        network = await self.resolve.network(slug)
        memberships, cursor = await self.repository.list_page(network.id, page, member_id=member_id)
        reads = [MembershipRead.model_validate(m) for m in memberships]
        return await with_member_names(self.session, reads, names), cursor

    async def get(
        self, slug: str, membership_id: uuid.UUID, *, names: NameChoice | None = None
    ) -> MembershipRead:
        network = await self.resolve.network(slug)
        read = MembershipRead.model_validate(await self._get(network, membership_id))
        (named,) = await with_member_names(self.session, [read], names)
        return named

    async def members_on(
        self,
        slug: str,
        as_of: date,
        page: PageRequest,
        *,
        category: str | None,
        country: str | None,
        kind: str | None,
        role: str | None,
        q: str | None,
        names: NameChoice | None = None,
    ) -> JsonPage:
        """A page of ``Page[MemberListRow]``, written by PostgreSQL; members named as
        ``names`` chooses (default: their names)."""
        try:
            found = await self.repository.members_on(
                slug,
                as_of,
                page,
                category=category,
                country=country,
                kind=kind,
                role=role,
                q=q,
                names=names,
            )
        except InvalidCursor:
            await self.resolve.network(slug)  # an unknown network is a 404 first
            raise
        if found.anchor is None:
            raise network_not_found(slug)
        return found

    async def members_geojson(self, found: JsonPage) -> dict[str, Any]:
        """A page of the member list (``members_on``) as a GeoJSON FeatureCollection."""
        rows: list[dict[str, Any]] = orjson.loads(b"[" + found.items.encode() + b"]")
        located = await places.coordinates(
            self.session, [uuid.UUID(row["member"]["id"]) for row in rows]
        )
        return places.feature_collection(rows, located, found.next_cursor)

    async def create(self, slug: str, data: MembershipCreate) -> MembershipRead:
        network = await self.resolve.network_under_rules(slug)
        rules.check_category(network, data.category)
        member = await self.resolve.named_member(data.member_id)
        await rules.lock_members(self.session, network.id, [member.id])
        await self._check_no_overlap(network, member.id, data.start_date, data.end_date, None)
        membership = Membership(network_id=network.id, **data.values())
        await self._save(network, membership, {})
        created = MembershipRead.model_validate(await self._get(network, membership.id))
        await self.audit.record("create", RESOURCE, str(created.id), network=slug, after=created)
        return created

    async def import_created(self, rows: Sequence[dict[str, Any]]) -> None:
        """Memberships from an export (each naming its network by slug), with their ids
        and timestamps: each checked as a request's body is and against its network's
        categories, written in one batch (the database refuses overlaps), each
        audited."""
        checked = self._checked(rows, MembershipCreate)
        networks = await self._networks_of([kept for _, kept in checked])
        self._check_each(
            list(zip(networks, checked, strict=True)),
            lambda pair: rules.check_category(pair[0], pair[1][0].category),
        )
        memberships = await self._insert_all(
            [
                Membership(network_id=network.id, **data.values(), **without_network(kept))
                for network, (data, kept) in zip(networks, checked, strict=True)
            ],
            self.repository.by_ids,
        )
        await self._audit_created(
            memberships,
            MembershipRead.model_validate,
            lambda m: (RESOURCE, str(m.id), m.network.slug),
        )

    async def update_all(
        self, network: Network, updates: Sequence[tuple[Membership, dict[str, Any]]]
    ) -> None:
        """Changes to many memberships of ``network`` (loaded with their member and
        network), a bulk writer's: each checked as :meth:`update` checks one, written in
        one batch (the database refuses overlaps), each audited. The caller holds the
        members' locks and checks the roles' coverage once after
        (:func:`rules.check_membership_coverage`)."""
        if not updates:
            return
        befores = [MembershipRead.model_validate(membership) for membership, _ in updates]

        def check(update: tuple[Membership, dict[str, Any]]) -> None:
            membership, changes = update
            rules.check_changed_period(
                changes.get("start_date", membership.start_date),
                changes.get("end_date", membership.end_date),
            )
            if "category" in changes:
                rules.check_category(network, changes["category"])

        self._check_each(updates, check)
        updated = await self._update_all(
            [membership for membership, _ in updates],
            [changes for _, changes in updates],
            self.repository.by_ids,
        )
        entries: list[AuditEntry] = []
        for before, membership in zip(befores, updated, strict=True):
            after = MembershipRead.model_validate(membership)
            entries.append(("update", RESOURCE, str(after.id), network.slug, (), before, after))
        await self.audit.record_all(entries)

    async def update(
        self,
        slug: str,
        membership_id: uuid.UUID,
        data: MembershipUpdate,
        *,
        if_match: str | None,
    ) -> MembershipRead:
        network = await self.resolve.network_under_rules(slug)
        membership = await self._get(network, membership_id, for_update=True)
        before = MembershipRead.model_validate(membership)
        require_match(if_match, before)
        await rules.lock_members(self.session, network.id, [membership.member_id])
        changes = data.values(exclude_unset=True)
        start = changes.get("start_date", membership.start_date)
        end = changes.get("end_date", membership.end_date)
        rules.check_changed_period(start, end)
        if "category" in changes:
            rules.check_category(network, changes["category"])
        await self._check_no_overlap(network, membership.member_id, start, end, membership.id)
        await self._save(network, membership, changes)
        await rules.check_membership_coverage(
            self.session, network.id, member_id=membership.member_id
        )
        after = MembershipRead.model_validate(await self._get(network, membership.id))
        await self.audit.record(
            "update", RESOURCE, str(after.id), network=slug, before=before, after=after
        )
        return after

    async def delete(self, slug: str, membership_id: uuid.UUID, *, if_match: str | None) -> None:
        network = await self.resolve.network_under_rules(slug)
        membership = await self._get(network, membership_id, for_update=True)
        before = MembershipRead.model_validate(membership)
        require_match(if_match, before)
        await rules.lock_members(self.session, network.id, [membership.member_id])
        async with integrity.guard(self.session):
            await self.repository.delete(membership)
        await rules.check_membership_coverage(
            self.session, network.id, member_id=membership.member_id
        )
        await self.audit.record("delete", RESOURCE, str(before.id), network=slug, before=before)

    async def _get(
        self, network: Network, membership_id: uuid.UUID, *, for_update: bool = False
    ) -> Membership:
        membership = await self.repository.get(network.id, membership_id, for_update=for_update)
        if membership is None:
            raise NotFound(f"No membership {membership_id} in {network.slug}.")
        return membership

    async def _check_no_overlap(
        self,
        network: Network,
        member_id: uuid.UUID,
        start: PartialDate | None,
        end: PartialDate | None,
        exclude: uuid.UUID | None,
    ) -> None:
        existing = await self.repository.overlapping(
            network.id, member_id, start, end, exclude=exclude
        )
        if existing is not None:
            raise overlap_conflict(existing, start)

    async def _save(
        self, network: Network, membership: Membership, changes: dict[str, Any]
    ) -> None:
        """Add ``membership`` or apply ``changes`` to it; an overlap found by the
        exclusion constraint (a concurrent write) is a 409 naming the other membership."""

        # Read now: a failed savepoint expires the object, and the message needs these.
        own_id, member_id = membership.id, membership.member_id
        start = changes.get("start_date", membership.start_date)
        end = changes.get("end_date", membership.end_date)

        async def overlap() -> Conflict:
            existing = await self.repository.overlapping(
                network.id, member_id, start, end, exclude=own_id
            )
            return (
                overlap_conflict(existing, start) if existing else Conflict("Memberships overlap.")
            )

        def gone() -> ValidationFailed:  # the member was deleted by a concurrent request
            return unknown_member(member_id)

        async with integrity.guard(
            self.session,
            {
                "ex_memberships_no_overlap": overlap,
                "fk_memberships_member_id_members": gone,
                "fk_memberships_network_id_networks": lambda: NotFound(
                    f"The network {network.slug} was deleted meanwhile."
                ),
            },
        ):
            if membership not in self.session:
                self.repository.add(membership)
            for field, value in changes.items():
                setattr(membership, field, value)
