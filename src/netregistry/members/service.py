"""Cities and organizations: the members of networks."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import date
from typing import Any, Generic, Literal, TypeVar

from sqlalchemy.ext.asyncio import AsyncSession

from netregistry.auth.principal import Principal
from netregistry.errors import Conflict, Forbidden, InvalidCursor, NotFound, invalid
from netregistry.kit import integrity
from netregistry.kit.etag import require_match
from netregistry.kit.http import json_bytes
from netregistry.kit.languages import NameChoice
from netregistry.kit.pagination import PageRequest
from netregistry.kit.schemas import WriteSchema
from netregistry.members.repository import MemberRepository
from netregistry.members.schemas import (
    CityCreate,
    CityRead,
    IdentifierMatch,
    LookupResult,
    MemberHistory,
    OrganizationCreate,
    OrganizationRead,
)
from netregistry.memberships.schemas import MembershipRead
from netregistry.models import Member
from netregistry.registry.history import memberships_of, networks_of, tenures_of
from netregistry.registry.names import (
    add_names,
    display_names,
    names_of_members,
    replace_names,
)
from netregistry.registry.resolve import network_not_found
from netregistry.registry.service import RegistryService
from netregistry.registry.shapes import MemberSummary
from netregistry.tenures.schemas import TenureRead

Kind = Literal["city", "organization"]
ReadT = TypeVar("ReadT", CityRead, OrganizationRead)

_CONSTRAINTS = {
    "uq_members_wikidata": lambda: Conflict("Another member already has this wikidata id."),
    "uq_members_geonames": lambda: Conflict("Another member already has this geonames id."),
    "uq_members_iso3166_2": lambda: Conflict("Another city already has this ISO 3166-2 code."),
    "uq_members_unlocode": lambda: Conflict("Another city already has this UN/LOCODE."),
    "ck_members_identifiers_country": lambda: invalid(
        "country_code",
        "the city's ISO 3166-2 code and UN/LOCODE begin with its country code",
        type="identifier_country",
    ),
    "uq_names_member_id_text_lang_kind": lambda: Conflict(
        "A name is given twice with the same language and kind."
    ),
}


class MemberService(RegistryService[MemberRepository], Generic[ReadT]):
    repository_type = MemberRepository

    """Creates, changes and removes members of one kind."""

    def __init__(
        self,
        session: AsyncSession,
        actor: Principal | None,
        kind: Kind,
        read: type[ReadT],
        create: type[WriteSchema],
        *,
        writer: str | None = None,
    ) -> None:
        super().__init__(session, actor, writer=writer)
        self.kind = kind
        self.read: type[ReadT] = read
        self.create_schema = create

    async def get(self, member_id: uuid.UUID) -> ReadT:
        return await self._represent(await self._get(member_id))

    async def _represent(self, member: Member) -> ReadT:
        """``member`` as ``ReadT``, with its names."""
        names = await names_of_members(self.session, [member.id])
        return self._with_names(member, names[member.id])

    def _with_names(self, member: Member, names: list[dict[str, Any]]) -> ReadT:
        fields = {
            field: getattr(member, field) for field in self.read.model_fields if field != "names"
        }
        return self.read.model_validate({**fields, "names": names})

    async def get_bytes(self, member_id: uuid.UUID) -> bytes:
        """The member's representation (``ReadT``) as JSON, serialised from its row."""
        row = await self.repository.read_one(member_id, self.kind, list(self.read.model_fields))
        if row is None:
            raise NotFound(f"No {self.kind} with id {member_id}.")
        return json_bytes(row)

    async def list_page_bytes(
        self,
        page: PageRequest,
        *,
        country: str | None,
        wikidata: str | None,
        network: str | None,
        as_of: date,
        q: str | None,
    ) -> tuple[bytes, str | None]:
        """A page of ``Page[ReadT]`` as JSON, serialised from its rows, and its cursor."""
        try:
            found = await self.repository.read_page(
                page,
                list(self.read.model_fields),
                kind=self.kind,
                country=country,
                wikidata=wikidata,
                network=network,
                as_of=as_of,
                q=q,
            )
        except InvalidCursor:
            if network is not None:
                await self.resolve.network(network)  # an unknown network is a 404 first
            raise
        if network is not None and found.anchor is None:
            raise network_not_found(network)
        body = json_bytes({"items": found.items, "next_cursor": found.next_cursor})
        return body, found.next_cursor

    async def _get(self, member_id: uuid.UUID, *, for_update: bool = False) -> Member:
        member = (
            await self.repository.get_for_update(member_id, self.kind)
            if for_update
            else await self.repository.get(member_id, kind=self.kind)
        )
        if member is None:
            raise NotFound(f"No {self.kind} with id {member_id}.")
        return member

    async def create(self, data: WriteSchema) -> ReadT:
        values = data.values()
        names = values.pop("names", None)
        await self._check_identifiers(values.get("wikidata"), values.get("geonames"), None)
        _check_identifier_countries(values, values.get("country_code"))
        member = Member(kind=self.kind, **values)
        async with integrity.guard(self.session, _CONSTRAINTS):
            self.repository.add(member)
            if names is not None:
                await self.session.flush()
                await replace_names(self.session, _name_rows(names), member_id=member.id)
        await self.session.refresh(member)
        created = await self._represent(member)
        await self.audit.record("create", self.kind, str(member.id), network=None, after=created)
        return created

    async def import_created(self, rows: Sequence[dict[str, Any]]) -> None:
        """Members of this kind from an export, with their ids and timestamps: each
        checked as a request's body is, written in one batch, each audited."""
        checked = self._checked(rows, self.create_schema)
        given: list[tuple[int, list[dict[str, Any]]]] = []
        built = []
        for index, (data, kept) in enumerate(checked):
            values = data.values()
            if (names := values.pop("names", None)) is not None:
                given.append((index, _name_rows(names)))
            built.append(Member(kind=self.kind, **values, **kept))
        members = await self._insert_all(built, self.repository.by_ids)
        ids = [member.id for member in members]
        if given:
            await add_names(self.session, {built[index].id: names for index, names in given})
            # The names' trigger rewrote those members' alt_names: read them again.
            await self.session.scalars(
                self.repository.by_ids(ids).execution_options(populate_existing=True)
            )
        # The names as stored: those given, or those the alt_names became (migration 0013).
        names_of_each = await names_of_members(self.session, ids)
        await self._audit_created(
            members,
            lambda m: self._with_names(m, names_of_each[m.id]),
            lambda m: (self.kind, str(m.id), None),
        )

    async def update(
        self, member_id: uuid.UUID, data: WriteSchema, *, if_match: str | None
    ) -> ReadT:
        member = await self._get(member_id, for_update=True)
        networks = await self._networks_in_scope(member, "change")
        before = await self._represent(member)
        require_match(if_match, before)
        changes = data.values(exclude_unset=True)
        names = changes.pop("names", None)
        await self._check_identifiers(changes.get("wikidata"), changes.get("geonames"), member.id)
        _check_identifier_countries(
            {field: changes.get(field, getattr(member, field)) for field in _COUNTRY_CODED},
            changes.get("country_code", member.country_code),
        )
        async with integrity.guard(self.session, _CONSTRAINTS):
            for field, value in changes.items():
                setattr(member, field, value)
            if names is not None:
                await self.session.flush()
                await replace_names(self.session, _name_rows(names), member_id=member.id)
        await self.session.refresh(member)
        after = await self._represent(member)
        await self.audit.record(
            "update",
            self.kind,
            str(member.id),
            network=None,
            networks=networks,
            before=before,
            after=after,
        )
        return after

    async def delete(self, member_id: uuid.UUID, *, if_match: str | None) -> None:
        member = await self._get(member_id, for_update=True)
        networks = await self._networks_in_scope(member, "delete")
        before = await self._represent(member)
        require_match(if_match, before)
        if blocking := await self.repository.commitments(member.id):
            raise Conflict(
                f"{member.name} still has memberships or tenures; delete or correct them "
                f"first: {'; '.join(blocking)}."
            )
        async with integrity.guard(
            self.session,
            {
                name: lambda: Conflict(f"{member.name} gained a membership or tenure meanwhile.")
                for name in ("fk_memberships_member_id_members", "fk_tenures_member_id_members")
            },
        ):
            await self.repository.delete(member)
        await self.audit.record(
            "delete", self.kind, str(member.id), network=None, networks=networks, before=before
        )

    async def _networks_in_scope(self, member: Member, verb: str) -> list[str]:
        """The networks the member has ever been in, each of which the actor must be
        allowed to write for it to change the member (403 naming those it may not).

        Members are shared between networks: a key of one network changing a member of
        another would rewrite that network's records. The member's row is locked
        (``_get(..., for_update=True)``) before this reads, so a membership or tenure
        written meanwhile either is seen here or waits for this change.
        """
        networks = await networks_of(self.session, member.id)
        if self.actor is None or self.actor.is_admin:
            return networks
        if others := [slug for slug in networks if slug not in self.actor.networks]:
            listed = ", ".join(others)
            raise Forbidden(
                f"The API key {self.actor.name!r} may not {verb} {member.name}: this "
                f"{self.kind} is or was also in {listed}, and the key is not for "
                f"{'that network' if len(others) == 1 else 'those networks'}. A {self.kind} "
                "shared between networks may be changed by an admin key, or by a key "
                f"for every network it has been in ({', '.join(networks)})."
            )
        return networks

    async def _check_identifiers(
        self, wikidata: str | None, geonames: int | None, own_id: uuid.UUID | None
    ) -> None:
        """Name the member that already carries an external identifier (409)."""
        for label, found in (
            ("wikidata id", wikidata and await self.repository.find_by_wikidata(wikidata)),
            ("geonames id", geonames and await self.repository.find_by_geonames(geonames)),
        ):
            if isinstance(found, Member) and found.id != own_id:
                value = wikidata if label == "wikidata id" else geonames
                raise Conflict(
                    f"The {label} {value} already belongs to "
                    f"{found.kind} {found.name} ({found.id})."
                )


# The identifiers that begin with the city's country code (migration 0016).
_COUNTRY_CODED = {"iso3166_2": "ISO 3166-2 code", "unlocode": "UN/LOCODE"}


def _check_identifier_countries(values: dict[str, Any], country_code: str | None) -> None:
    """Refuse an ISO 3166-2 code or UN/LOCODE of another country than the city's (422)."""
    for field, label in _COUNTRY_CODED.items():
        code = values.get(field)
        if code is not None and code[:2] != country_code:
            raise invalid(
                field,
                f"the {label} {code} is of country {code[:2]}, and the city is in {country_code}",
                type="identifier_country",
            )


def _name_rows(names: Sequence[Any]) -> list[dict[str, Any]]:
    """The rows of ``names`` (:class:`~netregistry.registry.shapes.NameWrite`)."""
    return [name.values() for name in names]


def city_service(
    session: AsyncSession, actor: Principal | None, *, writer: str | None = None
) -> MemberService[CityRead]:
    return MemberService(session, actor, "city", CityRead, CityCreate, writer=writer)


def organization_service(
    session: AsyncSession, actor: Principal | None, *, writer: str | None = None
) -> MemberService[OrganizationRead]:
    return MemberService(
        session, actor, "organization", OrganizationRead, OrganizationCreate, writer=writer
    )


async def member_history(
    session: AsyncSession,
    actor: Principal | None,
    member_id: uuid.UUID,
    *,
    as_of: date | None = None,
    names: NameChoice | None = None,
) -> MemberHistory:
    """Every membership and tenure of one city or organization, across networks; with
    ``as_of``, those in force that day. The member is named as ``names`` chooses, on
    ``as_of`` (default today)."""
    member = await MemberRepository(session).get(member_id)
    if member is None:
        raise NotFound(f"No city or organization with id {member_id}.")
    choice = (names or NameChoice()).on(as_of)
    shown = (await display_names(session, [(member.id, member.name)], choice))[member.id]
    summary = MemberSummary.model_validate(member).model_copy(update={"name": shown})
    memberships = [
        MembershipRead.model_validate(m).model_copy(update={"member": summary})
        for m in await memberships_of(session, member_id, as_of)
    ]
    tenures = [
        TenureRead.model_validate(t).model_copy(update={"member": summary})
        for t in await tenures_of(session, member_id, as_of)
    ]
    return MemberHistory(member=summary, memberships=memberships, tenures=tenures)


async def lookup_members(
    session: AsyncSession, identifiers: Sequence[str], names: NameChoice
) -> LookupResult:
    """The members ``identifiers`` name (each asked once, in the order asked) and the
    identifiers no member carries, in one statement; members named as ``names`` chooses."""
    asked = list(dict.fromkeys(identifiers))
    found = await MemberRepository(session).lookup(
        asked, named=not names.plain, names=names.parameters()
    )
    return LookupResult(
        found=[
            IdentifierMatch(
                identifier=identifier,
                scheme=found[identifier][0],
                member=MemberSummary.model_validate_json(found[identifier][1]),
            )
            for identifier in asked
            if identifier in found
        ],
        unknown=[identifier for identifier in asked if identifier not in found],
    )
