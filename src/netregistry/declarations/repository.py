from __future__ import annotations

import uuid
from collections.abc import Sequence

from sqlalchemy import select

from netregistry.kit.dates import PartialDate
from netregistry.kit.pagination import PageRequest, fetch_page
from netregistry.kit.repository import Repository
from netregistry.models import Declaration


class DeclarationRepository(Repository[Declaration]):
    model = Declaration

    async def list_page(
        self, network_id: uuid.UUID, page: PageRequest
    ) -> tuple[Sequence[Declaration], str | None]:
        """The network's declarations, the latest date first."""
        return await fetch_page(
            self.session,
            self.base().where(Declaration.network_id == network_id),
            order_by=[Declaration.date, Declaration.id],
            page=page,
            key=lambda declaration: [str(declaration.date), declaration.id],
            descending=True,
        )

    async def dated(self, network_id: uuid.UUID, day: PartialDate) -> bool:
        """Whether the network has a declaration of this date."""
        found = await self.session.scalar(
            select(Declaration.id).where(
                Declaration.network_id == network_id, Declaration.date == day
            )
        )
        return found is not None
