"""The shapes of webhook subscriptions, their deliveries and the messages they send."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated, Any, Literal

from pydantic import AfterValidator, ConfigDict, Field, StringConstraints
from pydantic_core import PydanticCustomError

from netregistry.changes.schemas import Action, ResourceType
from netregistry.kit.schemas import ReadSchema, UpdateSchema, WriteSchema
from netregistry.kit.types import POSITION_PATTERN, SLUG_PATTERN, WEBHOOK_URL_PATTERN, ShortText
from netregistry.webhooks.targets import check_form


def _target_form(url: str) -> str:
    reason = check_form(url)
    if reason is not None:
        raise PydanticCustomError("webhook_target", "the URL {reason}", {"reason": reason})
    return url


TargetUrl = Annotated[
    str,
    StringConstraints(min_length=8, max_length=2000, pattern=WEBHOOK_URL_PATTERN),
    AfterValidator(_target_form),
]
NetworkSlug = Annotated[str, StringConstraints(pattern=SLUG_PATTERN, min_length=1, max_length=63)]
Networks = Annotated[
    list[NetworkSlug],
    Field(
        max_length=100,
        description="Only changes that concern one of these networks (as the feed's `network` "
        "filter); empty: all. A scoped key must name networks, all of them its own.",
    ),
]
ResourceTypes = Annotated[
    list[ResourceType],
    Field(max_length=20, description="Only changes of these resource types; empty: all."),
]
Actions = Annotated[
    list[Action], Field(max_length=3, description="Only these actions; empty: all.")
]

_EXAMPLE: dict[str, Any] = {
    "url": "https://partner.example.org/netregistry-hook",
    "networks": ["citynet"],
    "resource_types": [],
    "actions": [],
    "description": "Mirror of CITYNET for the partner site",
}


class WebhookCreate(WriteSchema):
    """A new subscription: where to deliver and which changes."""

    model_config = ConfigDict(json_schema_extra={"examples": [_EXAMPLE]})

    url: TargetUrl = Field(
        description="https URL of the receiver (http only on this host's loopback); its host "
        "must resolve to public addresses."
    )
    networks: Networks = Field(default_factory=list)
    resource_types: ResourceTypes = Field(default_factory=list)
    actions: Actions = Field(default_factory=list)
    description: ShortText | None = None
    after: Annotated[str, StringConstraints(max_length=19, pattern=POSITION_PATTERN)] | None = (
        Field(
            default=None,
            description="Deliver the changes after this feed cursor (`0`: the whole feed). "
            "Default: the changes committed from now on.",
        )
    )


class WebhookUpdate(UpdateSchema):
    """Changes to a subscription. `enabled: true` resumes a disabled one from the change
    it stopped at (nothing is skipped); `enabled: false` pauses it."""

    required = ("url", "networks", "resource_types", "actions", "enabled")

    url: TargetUrl | None = None
    networks: Networks | None = None
    resource_types: ResourceTypes | None = None
    actions: Actions | None = None
    description: ShortText | None = None
    enabled: bool | None = None


class WebhookRead(ReadSchema):
    """A subscription (never its secret)."""

    id: uuid.UUID
    url: str
    networks: list[str]
    resource_types: list[str]
    actions: list[str]
    description: str | None
    enabled: bool
    disabled_reason: str | None = Field(
        description="Why deliveries stopped (the service disabled it after failing for the "
        "configured time), or null."
    )
    position: str = Field(description="The feed cursor delivered up to.")
    failures: int = Field(description="Failed attempts in a row at the next change.")
    next_attempt_at: datetime = Field(description="When the next attempt may start.")
    created_at: datetime


class WebhookCreated(WebhookRead):
    """A subscription just created, with its secret: shown this once, never again."""

    secret: str = Field(
        description="The Standard Webhooks signing secret (`whsec_` and base64); keep it: "
        "it is never shown again.",
        examples=["whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"],
    )


class WebhookDeliveryRead(ReadSchema):
    """One attempt to deliver a message."""

    id: int
    message_id: str = Field(description="The `webhook-id` sent: the same on every retry.")
    cursor: str | None = Field(description="The change's feed cursor; null for a test.")
    attempt: int = Field(description="1 for the first attempt at this message, then 2, 3…")
    attempted_at: datetime
    status_code: int | None = Field(description="The receiver's HTTP status, if it answered.")
    error: str | None = Field(description="What went wrong, in words; null on success.")
    latency_ms: int
    succeeded: bool
    next_retry_at: datetime | None = Field(description="When it is tried again, if it failed.")


class WebhookTestEvent(ReadSchema):
    """The body of a test delivery (`POST /v1/webhooks/{id}/test`)."""

    type: Literal["webhook.test"] = "webhook.test"
    subscription_id: uuid.UUID
    sent_at: datetime
