"""The base of the nouns' services: what every one of them works with."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession

from netregistry.audit.service import AuditTrail
from netregistry.auth.principal import Principal
from netregistry.registry.resolve import Resolver


class RegistryService:
    """A service of one noun, in one request's session: its audit trail records what
    ``actor`` changes, and :attr:`resolve` finds the networks, roles and members the
    request names."""

    def __init__(self, session: AsyncSession, actor: Principal | None) -> None:
        self.session = session
        self.actor = actor
        self.audit = AuditTrail(session, actor)
        self.resolve = Resolver(session)
