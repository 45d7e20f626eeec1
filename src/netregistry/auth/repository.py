from __future__ import annotations

import uuid
from collections.abc import Sequence

from sqlalchemy import func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from netregistry.models import ApiKey, Network


class ApiKeyRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def get_active_by_hash(self, token_hash: str) -> ApiKey | None:
        return await self.session.scalar(
            select(ApiKey).where(ApiKey.token_hash == token_hash, ApiKey.revoked_at.is_(None))
        )

    async def existing_networks(self, slugs: Sequence[str]) -> set[str]:
        """Those of ``slugs`` that name a network."""
        found = await self.session.scalars(select(Network.slug).where(Network.slug.in_(slugs)))
        return set(found.all())

    async def add(self, key: ApiKey) -> ApiKey:
        self.session.add(key)
        await self.session.flush()
        return key

    async def list_keys(self) -> Sequence[ApiKey]:
        return (await self.session.scalars(select(ApiKey).order_by(ApiKey.created_at))).all()

    async def revoke(self, key_id: uuid.UUID) -> bool:
        result = await self.session.execute(
            update(ApiKey)
            .where(ApiKey.id == key_id, ApiKey.revoked_at.is_(None))
            .values(revoked_at=func.now())
            .returning(ApiKey.id)
        )
        return result.scalar_one_or_none() is not None
