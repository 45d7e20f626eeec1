from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, Field

Action = Literal["create", "update", "delete"]
# What the feed carries changes of: the audit trail's resource types.
ResourceType = Literal[
    "network", "city", "organization", "membership", "role", "tenure", "handover", "declaration"
]
ACTIONS: tuple[str, ...] = ("create", "update", "delete")
RESOURCE_TYPES: tuple[str, ...] = (
    "network",
    "city",
    "organization",
    "membership",
    "role",
    "tenure",
    "handover",
    "declaration",
)


@dataclass(frozen=True, slots=True)
class ChangeFilter:
    """Which changes a reader wants; an empty set takes every value.

    ``networks``: the changes that concern one of them, as the audit trail recorded it at
    the write (the resource's network, or every network a member was in then). What a
    filter matches is fixed once the change commits, so a cursor resumes a filtered feed
    as exactly as the whole one.
    """

    networks: frozenset[str] = frozenset()
    resource_types: frozenset[str] = frozenset()
    actions: frozenset[str] = frozenset()

    def concerns(self, network: str | None) -> bool:
        """Whether a notification about ``network`` (None: any network) may bring a
        change this filter takes."""
        return not self.networks or network is None or network in self.networks


class ChangeRead(BaseModel):
    """One committed write, as the change feed publishes it (never who made it)."""

    cursor: str = Field(description="Pass as `after` to read the changes after this one.")
    committed_at: datetime = Field(description="When the write committed (UTC).")
    action: Action
    resource_type: str = Field(
        description="network, city, organization, membership, role, tenure or handover.",
        examples=["membership"],
    )
    resource_id: str = Field(examples=["6f1c8f5e-8a7b-4c1e-9a53-3f4f2c9b7d10"])
    network: str | None = Field(description="The network the resource belongs to.")
    data: dict[str, Any] | None = Field(
        description=(
            "The resource after the write, as its endpoint returns it; null after a delete. "
            "A handover carries {ended, started}: the two tenures it wrote."
        )
    )


class ChangePage(BaseModel):
    """Changes in commit order."""

    items: list[ChangeRead]
    next_cursor: str = Field(
        description="Where to resume: the last change's cursor (or `after` when none came)."
    )
