"""The demo data: what the two seed articles state, and nothing they do not.

Sources (``../shared/seeds/``):

* Seoul Metropolitan Government, "Seoul Metropolitan Government Named New Chair City
  of CITYNET" (International Relations News, 2013).
* Global Economic Times, "Metropolis 40th Anniversary Seoul General Assembly" (2025).

Loading is idempotent: a record that exists already is left as it is.
"""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession

from netregistry.errors import NotFound
from netregistry.networks.schemas import NetworkCreate
from netregistry.networks.service import NetworkService

CITYNET = NetworkCreate(
    slug="citynet",
    name="CITYNET",
    acronym="CITYNET",
    official_name="Regional Network of Local Authorities for the Management of Human Settlements",
    founded_on="1987",
    scope="Asia-Pacific",
    description=(
        "An inter-city association of local governments in the Asia-Pacific region for "
        "collaboration and policy exchange, pursuing sustainable urban development with a "
        "focus on urban environment, health, poverty and infrastructure governance. In 2013 "
        "it had 85 local governments as full members and 46 institutions and organizations, "
        "including international NGOs, as associate members; its secretariat moved to Seoul "
        "in March 2013."
    ),
    membership_categories=["full", "associate"],
)

METROPOLIS = NetworkCreate(
    slug="metropolis",
    name="Metropolis",
    acronym="Metropolis",
    official_name="World Association of the Major Metropolises",
    founded_on="1985",  # its 40th anniversary fell in 2025
    scope="Global",
    description=(
        "An international network of cities with populations of over one million, with 163 "
        "member cities in 65 countries (2025). Its 40th-anniversary general assembly was "
        "held in Seoul from 29 September to 1 October 2025, the second in Seoul after 2002."
    ),
    membership_criteria="Cities with populations of over one million.",
    membership_categories=["full", "associate"],
)


async def load_demo(session: AsyncSession) -> int:
    """Create what is missing; return how many records were created."""
    networks = NetworkService(session, actor=None)
    created = 0
    for network in (CITYNET, METROPOLIS):
        try:
            await networks.get(network.slug)
        except NotFound:
            await networks.create(network)
            created += 1
    return created
