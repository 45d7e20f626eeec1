from __future__ import annotations

import uuid
from collections.abc import Sequence

from sqlalchemy import any_, func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from netregistry.models import ApiKey, Network


class ApiKeyRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def get_active_by_hash(self, token_hash: str) -> tuple[ApiKey, list[str]] | None:
        """The active key with this hash and the slugs its networks have now (those of
        its networks that still exist): one statement."""
        scope = (
            select(func.array_agg(Network.slug))
            .where(Network.id == any_(ApiKey.network_ids))
            .correlate(ApiKey)
            .scalar_subquery()
        )
        row = (
            await self.session.execute(
                select(ApiKey, scope).where(
                    ApiKey.token_hash == token_hash, ApiKey.revoked_at.is_(None)
                )
            )
        ).first()
        return None if row is None else (row[0], list(row[1] or []))

    async def existing_networks(self, slugs: Sequence[str]) -> dict[str, uuid.UUID]:
        """Those of ``slugs`` that name a network, with its id."""
        found = await self.session.execute(
            select(Network.slug, Network.id).where(Network.slug.in_(slugs))
        )
        return {row[0]: row[1] for row in found}

    async def slugs_of(self, network_ids: Sequence[uuid.UUID]) -> dict[uuid.UUID, str]:
        """The slug of each of ``network_ids`` that is still a network."""
        found = await self.session.execute(
            select(Network.id, Network.slug).where(Network.id.in_(network_ids))
        )
        return {row[0]: row[1] for row in found}

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
