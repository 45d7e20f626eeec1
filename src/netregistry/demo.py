"""The demo data: what the two seed articles state, and nothing they do not.

Sources (``../shared/seeds/``; the articles carry no URL, so rows cite them in ``note``):

* CITYNET: Seoul Metropolitan Government, International Relations News 4624, "Seoul
  Metropolitan Government Named New Chair City of CITYNET" (2013).
* METROPOLIS: Global Economic Times, "Metropolis 40th Anniversary Seoul General
  Assembly" (September 2025).

What the articles leave open stays open: membership start dates are null ("since
before the records"), end dates null, no day is given where only a month is known.
Wikidata ids and coordinates identify the cities; they are not claims of the articles.
Loading is idempotent: what exists already is left as it is.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from netregistry.declarations.repository import DeclarationRepository
from netregistry.declarations.schemas import DeclarationCreate
from netregistry.declarations.service import DeclarationService
from netregistry.kit.dates import PartialDate
from netregistry.members.repository import MemberRepository
from netregistry.members.schemas import CityCreate
from netregistry.members.service import city_service
from netregistry.memberships.repository import MembershipRepository
from netregistry.memberships.schemas import MembershipCreate
from netregistry.memberships.service import MembershipService
from netregistry.networks.schemas import NetworkCreate
from netregistry.networks.service import NetworkService
from netregistry.registry.resolve import Resolver
from netregistry.registry.shapes import NameWrite
from netregistry.roles.schemas import RoleCreate
from netregistry.roles.service import RoleService
from netregistry.tenures.repository import TenureRepository
from netregistry.tenures.schemas import TenureCreate
from netregistry.tenures.service import TenureService

CITYNET_SOURCE = (
    "Seoul Metropolitan Government, International Relations News 4624, 'Seoul "
    "Metropolitan Government Named New Chair City of CITYNET' (2013)"
)
METROPOLIS_SOURCE = (
    "Global Economic Times, 'Metropolis 40th Anniversary Seoul General Assembly' (2025)"
)

NETWORKS = [
    NetworkCreate(
        slug="citynet",
        name="CITYNET",
        acronym="CITYNET",
        official_name=(
            "Regional Network of Local Authorities for the Management of Human Settlements"
        ),
        founded_on=PartialDate(1987),
        scope="Asia-Pacific",
        description=(
            "An inter-city association of local governments in the Asia-Pacific region for "
            "collaboration and policy exchange, pursuing sustainable urban development with "
            "a focus on urban environment, health, poverty and infrastructure governance. In "
            "2013 it had 85 local governments as full members and 46 institutions and "
            "organizations, including international NGOs, as associate members; its "
            "secretariat moved to Seoul in March 2013."
        ),
        membership_categories=["full", "associate"],
    ),
    NetworkCreate(
        slug="metropolis",
        name="Metropolis",
        acronym="Metropolis",
        official_name="World Association of the Major Metropolises",
        founded_on=PartialDate(1985),  # its 40th anniversary fell in 2025
        scope="Global",
        description=(
            "An international network of cities with populations of over one million, with "
            "163 member cities in 65 countries (2025). Its 40th-anniversary general assembly "
            "was held in Seoul from 29 September to 1 October 2025, the second in Seoul "
            "after 2002."
        ),
        membership_criteria="Cities with populations of over one million.",
        membership_categories=["full", "associate"],
    ),
]


@dataclass(frozen=True)
class DemoCity:
    name: str
    country_code: str
    latitude: float
    longitude: float
    wikidata: str | None = None  # only where the id is certain
    alt_names: tuple[str, ...] = ()  # names of undetermined language
    # (text, language, kind): the city's names in its own script and its neighbours'.
    names: tuple[tuple[str, str, str], ...] = ()


SEOUL_NAMES = (
    ("서울특별시", "ko", "official"),
    ("서울", "ko", "short"),
    ("ソウル", "ja", "common"),
    ("首尔", "zh-Hans", "common"),
    ("Séoul", "fr", "common"),
)


CITIES = {
    city.name: city
    for city in [
        DemoCity("Seoul", "KR", 37.5665, 126.9780, "Q8684", names=SEOUL_NAMES),
        DemoCity(
            "Yokohama",
            "JP",
            35.4437,
            139.6380,
            "Q38283",
            names=(
                ("横浜市", "ja", "official"),
                ("横浜", "ja", "common"),
                ("요코하마", "ko", "common"),
            ),
        ),
        DemoCity("Colombo", "LK", 6.9271, 79.8612, "Q35381"),
        DemoCity("Lyon", "FR", 45.7640, 4.8357, "Q456"),
        DemoCity("Surabaya", "ID", -7.2575, 112.7521, "Q8652"),
        DemoCity(
            "Bangkok",
            "TH",
            13.7563,
            100.5018,
            "Q1861",
            ("Krung Thep",),
            names=(("กรุงเทพมหานคร", "th", "official"),),
        ),
        DemoCity(
            "Busan",
            "KR",
            35.1796,
            129.0756,
            "Q16520",
            ("Pusan",),
            names=(("부산광역시", "ko", "official"), ("부산", "ko", "short")),
        ),
        DemoCity(
            "Incheon", "KR", 37.4563, 126.7052, "Q20934", names=(("인천광역시", "ko", "official"),)
        ),
        DemoCity("Suwon", "KR", 37.2636, 127.0286, names=(("수원시", "ko", "official"),)),
        DemoCity("Changwon", "KR", 35.2280, 128.6811, names=(("창원시", "ko", "official"),)),
        DemoCity("Yongin", "KR", 37.2411, 127.1776, names=(("용인시", "ko", "official"),)),
        DemoCity("New York City", "US", 40.7128, -74.0060, "Q60", ("New York",)),
        DemoCity(
            "Tokyo",
            "JP",
            35.6762,
            139.6503,
            "Q1490",
            names=(
                ("東京都", "ja", "official"),
                ("東京", "ja", "common"),
                ("도쿄", "ko", "common"),
            ),
        ),
        DemoCity("Barcelona", "ES", 41.3874, 2.1686, "Q1492"),
        DemoCity("Buenos Aires", "AR", -34.6037, -58.3816, "Q1486"),
        DemoCity("Istanbul", "TR", 41.0082, 28.9784, "Q406", ("İstanbul",)),
        DemoCity(
            "Guangzhou",
            "CN",
            23.1291,
            113.2644,
            "Q16572",
            ("Canton",),
            names=(("广州", "zh-Hans", "common"),),
        ),
        DemoCity("Johannesburg", "ZA", -26.2041, 28.0473, "Q34647"),
    ]
}

# (ISO 3166-2 code, UN/LOCODE) of the demo cities, only where certain: an ISO 3166-2
# code only for a city that is a subdivision of its own.
CITY_IDENTIFIERS: dict[str, tuple[str | None, str | None]] = {
    "Seoul": ("KR-11", "KRSEL"),
    "Busan": ("KR-26", "KRPUS"),
    "Incheon": ("KR-28", "KRINC"),
    "Bangkok": ("TH-10", "THBKK"),
    "Tokyo": ("JP-13", "JPTYO"),
    "Buenos Aires": ("AR-C", "ARBUE"),
    "Yokohama": (None, "JPYOK"),
    "New York City": (None, "USNYC"),
    "Barcelona": (None, "ESBCN"),
    "Istanbul": (None, "TRIST"),
    "Colombo": (None, "LKCMB"),
    "Johannesburg": (None, "ZAJNB"),
    "Surabaya": (None, "IDSUB"),
}

CITYNET_EXECUTIVES = ["Seoul", "Yokohama", "Colombo", "Lyon", "Surabaya", "Bangkok"]
CITYNET_MEMBERS = ["Busan", "Incheon", "Suwon", "Changwon", "Yongin"]
METROPOLIS_MEMBERS = [
    "Seoul",
    "New York City",
    "Tokyo",
    "Barcelona",
    "Buenos Aires",
    "Istanbul",
    "Guangzhou",
    "Johannesburg",
]

# What each network said of itself, as the articles report it (they give no URL).
DECLARATIONS = {
    "citynet": DeclarationCreate(
        date=PartialDate(2013),
        by_category={"full": 85, "associate": 46},
        source=CITYNET_SOURCE,
        note=(
            "85 local governments as full members and 46 institutions and organizations, "
            "including international NGOs, as associate members."
        ),
    ),
    "metropolis": DeclarationCreate(
        date=PartialDate(2025, 9),
        total=163,
        countries=65,
        source=METROPOLIS_SOURCE,
        note="163 member cities in 65 countries, announced on 14 September 2025.",
    ),
}

CITYNET_ROLES = [
    RoleCreate(slug="chair", name="Chair city", max_holders=1, eligible_categories=["full"]),
    RoleCreate(slug="executive", name="Executive city", eligible_categories=["full"]),
    RoleCreate(slug="secretariat_host", name="Secretariat host city", max_holders=1),
]

# (role, city, start, end, note)
CITYNET_TENURES: list[tuple[str, str, str | None, str | None, str]] = [
    ("chair", "Yokohama", None, "2013-11", "The former chair city, until November 2013."),
    ("chair", "Seoul", "2013-11", None, "Named the new chair city in November 2013."),
    ("secretariat_host", "Seoul", "2013-03", None, "Attracted the secretariat in March 2013."),
    *[
        ("executive", name, None, None, "Named among the executive cities in 2013.")
        for name in CITYNET_EXECUTIVES
    ],
]


async def load_demo(session: AsyncSession) -> int:
    """Create what is missing; return how many records were created."""
    loader = _Loader(session)
    for network in NETWORKS:
        await loader.network(network)
    for name in CITIES:
        await loader.city(CITIES[name])
    for name in [*CITYNET_EXECUTIVES, *CITYNET_MEMBERS]:
        await loader.membership(
            "citynet",
            name,
            f"A member city of CITYNET in 2013 (category full: a local government). "
            f"Source: {CITYNET_SOURCE}.",
        )
    for name in METROPOLIS_MEMBERS:
        note = (
            "Host of the 2025 general assembly and operator of the Metropolis International "
            "Training Institute."
            if name == "Seoul"
            else "Named among the member cities whose mayors attend the 2025 general assembly."
        )
        await loader.membership("metropolis", name, f"{note} Source: {METROPOLIS_SOURCE}.")
    for slug, declaration in DECLARATIONS.items():
        await loader.declaration(slug, declaration)
    for definition in CITYNET_ROLES:
        await loader.role("citynet", definition)
    for role, name, start, end, note in CITYNET_TENURES:
        await loader.tenure("citynet", role, name, start, end, f"{note} Source: {CITYNET_SOURCE}.")
    return loader.created


class _Loader:
    """Creates demo records through the services (validated and audited) unless present."""

    def __init__(self, session: AsyncSession) -> None:
        self.session = session
        self.resolve = Resolver(session)
        self.created = 0
        self.city_ids: dict[str, Any] = {}

    async def network(self, data: NetworkCreate) -> None:
        if await self.resolve.find_network(data.slug) is None:
            await NetworkService(self.session, None).create(data)
            self.created += 1

    async def city(self, city: DemoCity) -> None:
        found = await MemberRepository(self.session).find_city(city.name, city.country_code)
        if found is None:
            iso3166_2, unlocode = CITY_IDENTIFIERS.get(city.name, (None, None))
            created = await city_service(self.session, None).create(
                CityCreate(
                    name=city.name,
                    names=[
                        NameWrite(text=text, lang=lang, kind=kind)
                        for text, lang, kind in city.names
                    ]
                    + [NameWrite(text=text, lang="und") for text in city.alt_names],
                    country_code=city.country_code,
                    latitude=city.latitude,
                    longitude=city.longitude,
                    wikidata=city.wikidata,
                    iso3166_2=iso3166_2,
                    unlocode=unlocode,
                )
            )
            self.created += 1
            self.city_ids[city.name] = created.id
        else:
            self.city_ids[city.name] = found.id

    async def membership(self, network: str, city: str, note: str) -> None:
        member_id = self.city_ids[city]
        of = await self.resolve.network(network)
        # Any membership at all: the unbounded period overlaps every one.
        if (
            await MembershipRepository(self.session).overlapping(of.id, member_id, None, None)
            is None
        ):
            await MembershipService(self.session, None).create(
                network, MembershipCreate(member_id=member_id, category="full", note=note)
            )
            self.created += 1

    async def declaration(self, network: str, data: DeclarationCreate) -> None:
        of = await self.resolve.network(network)
        if not await DeclarationRepository(self.session).dated(of.id, data.date):
            await DeclarationService(self.session, None).create(network, data)
            self.created += 1

    async def role(self, network: str, data: RoleCreate) -> None:
        if await self.resolve.find_role(await self.resolve.network(network), data.slug) is None:
            await RoleService(self.session, None).create(network, data)
            self.created += 1

    async def tenure(
        self, network: str, role: str, city: str, start: str | None, end: str | None, note: str
    ) -> None:
        member_id = self.city_ids[city]
        held = await self.resolve.role(await self.resolve.network(network), role)
        tenures = TenureRepository(self.session)
        if (
            await tenures.same_holder_overlapping(held.id, member_id, None, None, exclude=None)
            is None
        ):
            await TenureService(self.session, None).create(
                network,
                TenureCreate(
                    role=role,
                    member_id=member_id,
                    start_date=PartialDate.parse(start) if start else None,
                    end_date=PartialDate.parse(end) if end else None,
                    note=note,
                ),
            )
            self.created += 1
