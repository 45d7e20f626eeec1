from __future__ import annotations

import uuid
from collections.abc import Sequence

from sqlalchemy import Select, func, select
from sqlalchemy.orm import joinedload

from netregistry.kit.pagination import PageRequest
from netregistry.kit.repository import Repository
from netregistry.models import Role, Tenure


class RoleRepository(Repository[Role]):
    model = Role

    def base(self) -> Select[Role]:
        return select(Role).options(joinedload(Role.network))

    async def list_page(
        self, network_id: uuid.UUID, page: PageRequest
    ) -> tuple[Sequence[Role], str | None]:
        return await self.page(
            self.base().where(Role.network_id == network_id),
            order_by=[Role.slug],
            page=page,
            key=lambda role: [role.slug],
        )

    async def tenure_count(self, role_id: uuid.UUID) -> int:
        count: int = (
            await self.session.scalar(
                select(func.count()).select_from(Tenure).where(Tenure.role_id == role_id)
            )
        ) or 0
        return count
