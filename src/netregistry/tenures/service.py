"""Tenures: who holds which office when, and handing an office over."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import date
from typing import Any

from netregistry.errors import (
    Conflict,
    InvalidCursor,
    NotFound,
    ValidationFailed,
    invalid,
    unknown_member,
)
from netregistry.kit import integrity
from netregistry.kit.dates import PartialDate, describe_period, overlap_in_words
from netregistry.kit.etag import require_match
from netregistry.kit.languages import NameChoice
from netregistry.kit.pagination import JsonPage, PageRequest
from netregistry.models import Network, Role, Tenure
from netregistry.registry import rules
from netregistry.registry.resolve import network_not_found, role_not_found
from netregistry.registry.service import RegistryService, RowRefused, without_network
from netregistry.registry.shapes import with_member_names
from netregistry.tenures.repository import TenureRepository
from netregistry.tenures.schemas import (
    HandoverRead,
    HandoverRequest,
    TenureCreate,
    TenureRead,
    TenureUpdate,
)

RESOURCE = "tenure"


def double_holding(existing: Tenure, start: PartialDate | None) -> Conflict:
    """The tenure ``existing`` is in the way of one from ``start``."""
    return Conflict(
        f"{existing.member.name} already holds {existing.role.slug} of {existing.network.slug} "
        f"{describe_period(existing.start_date, existing.end_date)} (tenure {existing.id}); "
        f"the two would overlap {overlap_in_words(start, existing.start_date, 'that tenure')}"
        ". A member cannot hold the same role twice at once."
    )


class TenureService(RegistryService[TenureRepository]):
    repository_type = TenureRepository

    async def list_page(
        self,
        slug: str,
        page: PageRequest,
        *,
        role: str | None,
        member_id: uuid.UUID | None,
        names: NameChoice | None = None,
    ) -> tuple[list[TenureRead], str | None]:
        network = await self.resolve.network(slug)
        tenures, cursor = await self.repository.list_page(
            network.id, page, role=role, member_id=member_id
        )
        reads = [TenureRead.model_validate(tenure) for tenure in tenures]
        return await with_member_names(self.session, reads, names), cursor

    async def get(
        self, slug: str, tenure_id: uuid.UUID, *, names: NameChoice | None = None
    ) -> TenureRead:
        network = await self.resolve.network(slug)
        read = TenureRead.model_validate(await self._get(network, tenure_id))
        (named,) = await with_member_names(self.session, [read], names)
        return named

    async def holders(
        self,
        slug: str,
        role_slug: str,
        as_of: date,
        page: PageRequest,
        *,
        names: NameChoice | None = None,
    ) -> JsonPage:
        """A page of ``Page[HolderRow]``, written by PostgreSQL; holders named as
        ``names`` chooses (default: their names)."""
        try:
            found = await self.repository.holders(slug, role_slug, as_of, page, names=names)
        except InvalidCursor:
            await self.resolve.role(await self.resolve.network(slug), role_slug)  # 404s first
            raise
        if found.anchor == 2:
            raise network_not_found(slug)
        if found.anchor == 1:
            raise role_not_found(slug, role_slug)
        return found

    async def create(self, slug: str, data: TenureCreate) -> TenureRead:
        network = await self.resolve.network_under_rules(slug, reread=False)
        role = await self.resolve.find_role(network, data.role, for_update=True)
        if role is None:
            raise invalid("role", f"{slug} has no role {data.role!r}", type="unknown_role")
        await self.resolve.named_member(data.member_id)
        await rules.lock_members(self.session, network.id, [data.member_id])
        values = data.values()
        del values["role"]
        tenure = Tenure(network_id=network.id, role_id=role.id, **values)
        await self._save(network, role, tenure, {})
        created = TenureRead.model_validate(await self._get(network, tenure.id))
        await self.audit.record("create", RESOURCE, str(created.id), network=slug, after=created)
        return created

    async def import_created(self, rows: Sequence[dict[str, Any]]) -> None:
        """Tenures from an export (each naming its network by slug), with their ids and
        timestamps: each checked as a request's body is, written in one batch, each
        audited. The rules across tenures (holder limits, membership coverage) are the
        caller's to check once all are in."""
        checked = self._checked(rows, TenureCreate)
        networks = await self._networks_of([kept for _, kept in checked])
        roles: dict[tuple[str, str], Role] = {}
        tenures = []
        for index, (network, (data, kept)) in enumerate(zip(networks, checked, strict=True)):
            key = (network.slug, data.role)
            if key not in roles:
                role = await self.resolve.find_role(network, data.role)
                if role is None:
                    raise RowRefused(index, f"{network.slug} has no role {data.role!r}")
                roles[key] = role
            values = data.values()
            del values["role"]
            tenures.append(
                Tenure(
                    network_id=network.id,
                    role_id=roles[key].id,
                    **values,
                    **without_network(kept),
                )
            )
        created = await self._insert_all(tenures, self.repository.by_ids)
        await self._audit_created(
            created, TenureRead.model_validate, lambda t: (RESOURCE, str(t.id), t.network.slug)
        )

    async def update(
        self, slug: str, tenure_id: uuid.UUID, data: TenureUpdate, *, if_match: str | None
    ) -> TenureRead:
        network = await self.resolve.network_under_rules(slug, reread=False)
        # The role first, then the tenure: the order handovers take them in.
        role_slug = (await self._get(network, tenure_id)).role.slug
        role = await self.resolve.role(network, role_slug, for_update=True)
        tenure = await self._get(network, tenure_id, for_update=True)
        before = TenureRead.model_validate(tenure)
        require_match(if_match, before)
        await rules.lock_members(self.session, network.id, [tenure.member_id])
        changes = data.values(exclude_unset=True)
        start = changes.get("start_date", tenure.start_date)
        end = changes.get("end_date", tenure.end_date)
        rules.check_changed_period(start, end)
        await self._save(network, role, tenure, changes)
        after = TenureRead.model_validate(await self._get(network, tenure.id))
        await self.audit.record(
            "update", RESOURCE, str(after.id), network=slug, before=before, after=after
        )
        return after

    async def delete(self, slug: str, tenure_id: uuid.UUID, *, if_match: str | None) -> None:
        network = await self.resolve.network(slug)
        tenure = await self._get(network, tenure_id, for_update=True)
        before = TenureRead.model_validate(tenure)
        require_match(if_match, before)
        async with integrity.guard(self.session):
            await self.repository.delete(tenure)
        await self.audit.record("delete", RESOURCE, str(before.id), network=slug, before=before)

    async def handover(self, slug: str, role_slug: str, data: HandoverRequest) -> HandoverRead:
        """End the current holder's tenure on ``date`` and start the new holder's that day."""
        network = await self.resolve.network_under_rules(slug, reread=False)
        role = await self.resolve.role(network, role_slug, for_update=True)
        if role.max_holders != 1:
            raise Conflict(
                f"Handover applies to roles with exactly one holder; {role_slug!r} of {slug} "
                f"allows {role.max_holders or 'any number of'} holders. Create and end "
                "tenures instead."
            )
        await self.resolve.named_member(data.member_id)
        current = next(iter(await self.repository.holding_on(role.id, data.date)), None)
        if current is None and (later := await self.repository.first_from(role.id, data.date)):
            raise Conflict(
                f"No one certainly holds {role_slug} of {slug} on {data.date.isoformat()}, but "
                f"{later.member.name} holds it {describe_period(later.start_date, later.end_date)}"
                f" (tenure {later.id}), so a handover then would give it two holders. Hand over "
                "on a day the current tenure certainly covers, or correct its dates."
            )
        if current is not None and current.member_id == data.member_id:
            raise Conflict(
                f"{current.member.name} already holds {role_slug} of {slug} on "
                f"{data.date.isoformat()} (tenure {current.id}); nothing to hand over."
            )
        await rules.lock_members(
            self.session,
            network.id,
            [data.member_id, *([current.member_id] if current else [])],
        )
        if current is not None:  # locked now, after the role: the order every writer takes
            current = await self._get(network, current.id, for_update=True)
        day = PartialDate.from_date(data.date)
        ended_before = None
        if current is not None:
            ended_before = TenureRead.model_validate(current)
            await self._save(network, role, current, {"end_date": day})
        tenure = Tenure(
            network_id=network.id,
            role_id=role.id,
            member_id=data.member_id,
            start_date=day,
            representative=data.representative,
            source_url=data.source_url,
            note=data.note,
        )
        await self._save(network, role, tenure, {})
        result = HandoverRead(
            ended=TenureRead.model_validate(await self._get(network, current.id))
            if current is not None
            else None,
            started=TenureRead.model_validate(await self._get(network, tenure.id)),
        )
        await self.audit.record(
            "create",
            "handover",
            str(tenure.id),
            network=slug,
            before=ended_before,
            after=result,
        )
        return result

    async def _get(
        self, network: Network, tenure_id: uuid.UUID, *, for_update: bool = False
    ) -> Tenure:
        tenure = await self.repository.get(network.id, tenure_id, for_update=for_update)
        if tenure is None:
            raise NotFound(f"No tenure {tenure_id} in {network.slug}.")
        return tenure

    async def _save(
        self, network: Network, role: Role, tenure: Tenure, changes: dict[str, Any]
    ) -> None:
        """Add ``tenure`` or apply ``changes`` to it, then check every rule of its role."""
        # Read now: a failed savepoint expires the object, and messages need these values.
        own_id, member_id = tenure.id, tenure.member_id
        is_new = tenure not in self.session
        start = changes.get("start_date", tenure.start_date)
        end = changes.get("end_date", tenure.end_date)

        async def holding_twice() -> Conflict:
            existing = await self.repository.same_holder_overlapping(
                role.id, member_id, start, end, exclude=own_id
            )
            return double_holding(existing, start) if existing else Conflict("Tenures overlap.")

        def empty() -> Conflict:
            return Conflict(
                f"The tenure would end on or before it starts ({start} to {end}): a handover "
                "date must come after the current holder's first certain day."
            )

        def gone() -> ValidationFailed:  # the member was deleted by a concurrent request
            return unknown_member(member_id)

        async with integrity.guard(
            self.session,
            {
                "ex_tenures_no_double_holding": holding_twice,
                "ck_tenures_period_not_empty": empty,
                "fk_tenures_member_id_members": gone,
            },
        ):
            if tenure not in self.session:
                self.repository.add(tenure)
            for field, value in changes.items():
                setattr(tenure, field, value)
        await rules.check_capacity(self.session, role, tenure)
        if role.requires_membership:
            await rules.check_membership_coverage(
                self.session,
                network.id,
                member_id=tenure.member_id,
                role_id=role.id,
                new_tenure=tenure.id if is_new else None,
            )
