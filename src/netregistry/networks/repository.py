from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import Select, select
from sqlalchemy.ext.asyncio import AsyncSession

from netregistry.kit.pagination import PageRequest, fetch_page
from netregistry.models import Network


class NetworkRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    @staticmethod
    def _base() -> Select[tuple[Network]]:
        return select(Network)

    async def get_by_slug(self, slug: str, *, for_update: bool = False) -> Network | None:
        statement = self._base().where(Network.slug == slug)
        if for_update:
            statement = statement.with_for_update()
        network: Network | None = await self.session.scalar(statement)
        return network

    async def list(self, page: PageRequest) -> tuple[Sequence[Network], str | None]:
        return await fetch_page(
            self.session,
            self._base(),
            order_by=[Network.slug],
            page=page,
            key=lambda network: [network.slug],
        )

    def add(self, network: Network) -> None:
        self.session.add(network)

    async def delete(self, network: Network) -> None:
        await self.session.delete(network)
