"""API keys: issued once, stored as a hash, checked on every write."""

from __future__ import annotations

import hashlib
import hmac
import secrets
import uuid
from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy.ext.asyncio import AsyncSession

from netregistry.auth.principal import Principal
from netregistry.auth.repository import ApiKeyRepository
from netregistry.errors import NotFound, Unauthorized, ValidationFailed
from netregistry.models import ApiKey

TOKEN_PREFIX = "nr_"  # noqa: S105 (a public prefix, not a secret)


def hash_token(token: str) -> str:
    # Tokens carry 256 random bits, so a fast hash is enough: no dictionary can reach them.
    return hashlib.sha256(token.encode()).hexdigest()


@dataclass(frozen=True)
class IssuedKey:
    key: ApiKey
    token: str


@dataclass(frozen=True)
class ListedKey:
    """A key and its scope: ``networks`` it may write (their slugs now), and ``lost``, the
    slugs it was created for whose network has been deleted (a network created later
    under such a slug is not in its scope)."""

    key: ApiKey
    networks: list[str]
    lost: list[str]

    def describe_scope(self) -> str:
        if self.key.is_admin:
            return "admin"
        return ",".join(
            self.networks + [f"{slug} (network deleted: no scope)" for slug in self.lost]
        )


class ApiKeyService:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session
        self.repository = ApiKeyRepository(session)

    async def authenticate(self, token: str) -> Principal:
        """The principal behind ``token``; :class:`Unauthorized` if unknown or revoked."""
        token_hash = hash_token(token)
        found = await self.repository.get_active_by_hash(token_hash)
        if found is None or not hmac.compare_digest(found[0].token_hash, token_hash):
            raise Unauthorized("The API key is unknown or revoked.")
        key, slugs = found
        return Principal(
            key.id, key.name, key.is_admin, frozenset(slugs), frozenset(key.network_ids)
        )

    async def create(self, name: str, *, admin: bool, networks: Sequence[str]) -> IssuedKey:
        if admin == bool(networks):
            raise ValidationFailed("A key is either --admin or scoped to one or more --network.")
        known = await self.repository.existing_networks(networks)
        if unknown := sorted(set(networks) - set(known)):
            raise NotFound(f"No network with slug {', '.join(unknown)}.")
        token = TOKEN_PREFIX + secrets.token_urlsafe(32)
        key = ApiKey(
            name=name,
            prefix=token[:12],
            token_hash=hash_token(token),
            is_admin=admin,
            networks=sorted(known),
            network_ids=[known[slug] for slug in sorted(known)],
        )
        await self.repository.add(key)
        return IssuedKey(key, token)

    async def list_keys(self) -> list[ListedKey]:
        """Every key, with what its scope is now."""
        keys = await self.repository.list_keys()
        slugs = await self.repository.slugs_of([i for key in keys for i in key.network_ids])
        listed = []
        for key in keys:
            scope = sorted(slugs[i] for i in key.network_ids if i in slugs)
            lost = sorted(set(key.networks) - set(scope))
            listed.append(ListedKey(key, scope, lost))
        return listed

    async def revoke(self, key_id: uuid.UUID) -> None:
        if not await self.repository.revoke(key_id):
            raise NotFound(f"No active API key with id {key_id}.")
