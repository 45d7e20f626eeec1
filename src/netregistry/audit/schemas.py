from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any, Literal

from pydantic import Field

from netregistry.kit.schemas import ReadSchema


class AuditEventRead(ReadSchema):
    """One audited change."""

    id: int = Field(examples=[42])
    occurred_at: datetime = Field(description="When the change was made (UTC).")
    actor_key_id: uuid.UUID | None = Field(description="The API key that made it.")
    actor_name: str | None = Field(examples=["citynet-secretariat"])
    action: Literal["create", "update", "delete"]
    resource_type: str = Field(examples=["network"])
    resource_id: str = Field(examples=["citynet"])
    network: str | None = Field(
        description="The network the resource belongs to (null for a member or a key-less "
        "resource).",
        examples=["citynet"],
    )
    networks: list[str] = Field(
        description="Every network the change concerns, each of whose audit views shows "
        "it: the resource's network, or for a city or organization every network it "
        "is or was in (a membership or tenure of any period) when it was changed.",
        examples=[["citynet", "metropolis"]],
    )
    before: dict[str, Any] | None = Field(description="The resource before the change.")
    after: dict[str, Any] | None = Field(description="The resource after the change.")
    request_id: str | None = Field(
        description="The server's own id of the request that made it (the `request_id` of "
        "its log lines and problem documents); never chosen by the client.",
        examples=["5f0c6a9e2b8e4f3c9d1a7b6e4c2d8f10"],
    )
    client_request_id: str | None = Field(
        description="The `X-Request-ID` the client sent with that request, when it sent one "
        "(letters, digits and `._:-`, at most 100); null otherwise and for entries written "
        "before migration 0011.",
        examples=["partner-sync-2026-12-02.17"],
    )
