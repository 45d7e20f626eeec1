"""What the directory's pages show, read through the nouns' services in the request's
session: a network, its stats and declared figures, a page of its member list, its
roles and the whole history of their tenures, and where its members are."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import date
from typing import Any

import orjson
from markupsafe import Markup, escape
from sqlalchemy.ext.asyncio import AsyncSession

from netregistry.kit.languages import NameChoice, own_lang
from netregistry.kit.pagination import CursorCodec, PageRequest
from netregistry.memberships.service import MembershipService
from netregistry.networks.schemas import NetworkRead
from netregistry.networks.service import NetworkService
from netregistry.registry import places
from netregistry.registry.names import names_of_members
from netregistry.roles.schemas import RoleRead
from netregistry.roles.service import RoleService
from netregistry.tenures.schemas import TenureRead
from netregistry.tenures.service import TenureService

# The history drawn: at most this many tenures (pages of 1000), the earliest recorded.
MAX_TENURES = 5000
MEMBERS_PER_PAGE = 500


@dataclass(frozen=True)
class Filters:
    category: str | None = None
    country: str | None = None
    kind: str | None = None
    q: str | None = None

    def any(self) -> bool:
        return any((self.category, self.country, self.kind, self.q))


@dataclass
class NetworkView:
    network: NetworkRead
    as_of: date
    stats: dict[str, Any]
    rows: list[dict[str, Any]]
    next_cursor: str | None
    roles: list[RoleRead]
    tenures: list[TenureRead] = field(default_factory=list)
    located: dict[uuid.UUID, places.Coordinates] = field(default_factory=dict)
    # The language the page is written in, and the tagged names (text, language) of
    # every member it shows: what tells a name's own ``lang`` (kit/languages.py).
    page_lang: str = "en"
    tagged_names: dict[uuid.UUID, list[tuple[str, str]]] = field(default_factory=dict)

    def name_lang(self, member_id: uuid.UUID | str | None, text: str) -> str | None:
        """The language of the name ``text`` of a member where it is not the page's
        (see :func:`own_lang`; ``""``: unknown, in another script); else None."""
        if member_id is None:
            return None
        names = self.tagged_names.get(uuid.UUID(str(member_id)), [])
        return own_lang(text, [lang for name, lang in names if name == text], self.page_lang)

    def lang_attribute(self, member_id: uuid.UUID | str | None, text: str) -> Markup:
        """`` lang="…"`` for the element holding the name ``text`` of a member, when the
        name is in another language than the page; else nothing."""
        own = self.name_lang(member_id, text)
        return Markup("") if own is None else Markup(' lang="{}"').format(escape(own))


def _all(codec: CursorCodec, scope: str, cursor: str | None = None) -> PageRequest:
    return PageRequest(limit=1000, cursor=cursor, scope=scope, codec=codec)


async def networks(session: AsyncSession, codec: CursorCodec) -> list[NetworkRead]:
    found, _ = await NetworkService(session, None).read_page(_all(codec, "directory:networks"))
    return found


async def network_view(
    session: AsyncSession,
    codec: CursorCodec,
    slug: str,
    as_of: date,
    members: PageRequest,
    filters: Filters,
    *,
    history: bool = True,
    names: NameChoice | None = None,
    page_lang: str = "en",
) -> NetworkView:
    """What a network's page shows on ``as_of``; the members named as ``names`` chooses,
    in a page written in ``page_lang``."""
    networks = NetworkService(session, None)
    network = await networks.read(slug, names if names is not None else NameChoice())
    stats = orjson.loads(await networks.stats(slug, as_of, names))
    found = await MembershipService(session, None).members_on(
        slug,
        as_of,
        members,
        category=filters.category,
        country=filters.country,
        kind=filters.kind,
        role=None,
        q=filters.q,
        names=names,
    )
    rows: list[dict[str, Any]] = orjson.loads(b"[" + found.items.encode() + b"]")
    roles, _ = await RoleService(session, None).list_page(slug, _all(codec, "directory:roles"))
    view = NetworkView(network, as_of, stats, rows, found.next_cursor, roles, page_lang=page_lang)
    if history:
        view.tenures = await tenures(session, codec, slug, names)
    listed = [uuid.UUID(row["member"]["id"]) for row in rows]
    view.located = await places.coordinates(session, listed)
    holders = [
        uuid.UUID(holder["id"]) for held in stats["role_holders"].values() for holder in held
    ]
    shown = {*listed, *holders, *(tenure.member.id for tenure in view.tenures)}
    view.tagged_names = {
        member: [(name["text"], name["lang"]) for name in found_names]
        for member, found_names in (await names_of_members(session, list(shown))).items()
    }
    return view


async def tenures(
    session: AsyncSession, codec: CursorCodec, slug: str, names: NameChoice | None = None
) -> list[TenureRead]:
    """The network's tenures, the earliest recorded first (at most :data:`MAX_TENURES`),
    their members named by ``names``."""
    service = TenureService(session, None)
    found: list[TenureRead] = []
    cursor: str | None = None
    while len(found) < MAX_TENURES:
        page, cursor = await service.list_page(
            slug, _all(codec, "directory:tenures", cursor), role=None, member_id=None, names=names
        )
        found += page
        if cursor is None:
            break
    return found[:MAX_TENURES]
