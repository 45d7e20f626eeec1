from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, Field


class ChangeRead(BaseModel):
    """One committed write, as the change feed publishes it (never who made it)."""

    cursor: str = Field(description="Pass as `after` to read the changes after this one.")
    committed_at: datetime = Field(description="When the write committed (UTC).")
    action: Literal["create", "update", "delete"]
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
