"""Who is calling: the API key behind a request."""

from __future__ import annotations

import uuid
from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Principal:
    """An authenticated API key: admin, or scoped to some networks."""

    key_id: uuid.UUID
    name: str
    is_admin: bool
    networks: frozenset[str]

    def may_write(self, network: str) -> bool:
        return self.is_admin or network in self.networks
