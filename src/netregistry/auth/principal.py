"""Who is calling: the API key behind a request."""

from __future__ import annotations

import uuid
from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Principal:
    """An authenticated API key: admin, or scoped to some networks.

    ``networks``: the slugs its networks have now. A key is bound to networks, not slugs,
    so a network created under a deleted one's slug is not among them.
    """

    key_id: uuid.UUID
    name: str
    is_admin: bool
    networks: frozenset[str]
    network_ids: frozenset[uuid.UUID] = frozenset()

    def may_write(self, network: str) -> bool:
        return self.is_admin or network in self.networks
