"""The webhook subscription routes, HTTP only; every one needs a key (read or write)."""

from __future__ import annotations

import uuid
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Header, Path, Request, Response

from netregistry.auth.dependencies import authorize_write, require_principal
from netregistry.auth.principal import Principal
from netregistry.changes.schemas import ChangeRead
from netregistry.kit.deps import PageDep, SessionDep
from netregistry.kit.http import (
    WRITE_STATUSES,
    IfMatch,
    created,
    no_content,
    problems,
    represent,
    represent_page,
)
from netregistry.kit.pagination import Page
from netregistry.webhooks.schemas import (
    WebhookCreate,
    WebhookCreated,
    WebhookDeliveryRead,
    WebhookRead,
    WebhookTestEvent,
    WebhookUpdate,
)
from netregistry.webhooks.service import WebhookService

router = APIRouter(
    prefix="/v1/webhooks", tags=["webhooks"], dependencies=[Depends(authorize_write)]
)


async def webhook_service(
    request: Request,
    session: SessionDep,
    principal: Annotated[Principal, Depends(require_principal)],
) -> WebhookService:
    return WebhookService(session, principal, request.app.state.settings)


Service = Annotated[WebhookService, Depends(webhook_service)]
WebhookId = Annotated[uuid.UUID, Path(description="The subscription's id.")]
READ_STATUSES = (400, 401, 404)


@router.get(
    "",
    operation_id="list_webhooks",
    summary="List webhook subscriptions",
    response_model=Page[WebhookRead],
    responses=problems(400, 401),
)
async def list_webhooks(request: Request, service: Service, page: PageDep) -> Response:
    """The key's own subscriptions (an admin key: all), oldest first."""
    items, next_cursor = await service.list_page(page)
    return represent_page(request, Page(items=items, next_cursor=next_cursor))


@router.post(
    "",
    operation_id="create_webhook",
    summary="Subscribe a URL to the change feed",
    status_code=201,
    response_model=WebhookCreated,
    responses=problems(*WRITE_STATUSES),
)
async def create_webhook(request: Request, service: Service, body: WebhookCreate) -> Response:
    """Deliver the changes the filters take to `url`, signed with the `secret` in the
    answer (shown this once). An admin key, or a key scoped to every network named."""
    subscription = await service.create(body)
    return created(request, subscription, f"/v1/webhooks/{subscription.id}")


@router.get(
    "/{webhook_id}",
    operation_id="get_webhook",
    summary="Get a webhook subscription",
    response_model=WebhookRead,
    responses=problems(*READ_STATUSES),
)
async def get_webhook(request: Request, service: Service, webhook_id: WebhookId) -> Response:
    """One of the key's subscriptions, with where its deliveries stand."""
    return represent(request, await service.get(webhook_id))


@router.patch(
    "/{webhook_id}",
    operation_id="update_webhook",
    summary="Update a webhook subscription",
    response_model=WebhookRead,
    responses=problems(*WRITE_STATUSES, 404, 412),
)
async def update_webhook(
    request: Request,
    service: Service,
    webhook_id: WebhookId,
    body: WebhookUpdate,
    if_match: IfMatch = None,
) -> Response:
    """Change the URL, filters, description, or pause and resume (`enabled`)."""
    return represent(request, await service.update(webhook_id, body, if_match=if_match))


@router.delete(
    "/{webhook_id}",
    operation_id="delete_webhook",
    summary="Delete a webhook subscription",
    status_code=204,
    response_class=Response,
    responses=problems(*WRITE_STATUSES, 404, 412),
)
async def delete_webhook(
    service: Service, webhook_id: WebhookId, if_match: IfMatch = None
) -> Response:
    """Stop delivering and forget the subscription and its delivery log."""
    await service.delete(webhook_id, if_match=if_match)
    return no_content()


@router.get(
    "/{webhook_id}/deliveries",
    operation_id="list_webhook_deliveries",
    summary="A subscription's delivery log",
    response_model=Page[WebhookDeliveryRead],
    responses=problems(*READ_STATUSES),
)
async def list_webhook_deliveries(
    request: Request, service: Service, webhook_id: WebhookId, page: PageDep
) -> Response:
    """Every attempt, newest first (the newest 1,000 are kept): status, latency, error,
    next retry."""
    items, next_cursor = await service.deliveries(webhook_id, page)
    return represent_page(request, Page(items=items, next_cursor=next_cursor))


@router.post(
    "/{webhook_id}/test",
    operation_id="test_webhook",
    summary="Send a test event",
    status_code=201,
    response_model=WebhookDeliveryRead,
    responses=problems(*WRITE_STATUSES, 404),
)
async def test_webhook(request: Request, service: Service, webhook_id: WebhookId) -> Response:
    """Send a signed `webhook.test` message to the URL now, and answer how it went (also
    in the delivery log). Deliveries of changes are not affected."""
    delivery = await service.send_test(webhook_id, request.app.state.webhook_sender)
    return represent(request, delivery, status_code=201)


# --- what a receiver gets: the contract's `webhooks` section (documentation, not routes) ---

payloads = APIRouter(tags=["webhooks"])

_SIGNED: dict[int | str, dict[str, Any]] = {
    200: {"description": "Any 2xx acknowledges the message; anything else is retried."},
}
WebhookIdHeader = Annotated[
    str,
    Header(
        alias="webhook-id",
        description="The message id: `chg_<cursor>` for a change (the same on every retry, "
        "to deduplicate with), `test_<hex>` for a test.",
    ),
]
WebhookTimestampHeader = Annotated[
    str, Header(alias="webhook-timestamp", description="Unix seconds when it was sent.")
]
WebhookSignatureHeader = Annotated[
    str,
    Header(
        alias="webhook-signature",
        description='`v1,<base64 HMAC-SHA256 of "<webhook-id>.<webhook-timestamp>.<body>">`, '
        "keyed with the base64-decoded part of the subscription's `whsec_` secret "
        "(Standard Webhooks).",
    ),
]


@payloads.post("change", operation_id="webhook_change", summary="A change", responses=_SIGNED)
async def change_delivered(
    body: ChangeRead,
    webhook_id: WebhookIdHeader,
    webhook_timestamp: WebhookTimestampHeader,
    webhook_signature: WebhookSignatureHeader,
) -> None:
    """Each change a subscription's filters take, in feed order, at least once: the body
    is the change object of `GET /v1/changes`. The next change is sent only once this
    one is acknowledged."""


@payloads.post(
    "webhook.test", operation_id="webhook_test", summary="A test event", responses=_SIGNED
)
async def test_delivered(
    body: WebhookTestEvent,
    webhook_id: WebhookIdHeader,
    webhook_timestamp: WebhookTimestampHeader,
    webhook_signature: WebhookSignatureHeader,
) -> None:
    """Sent by `POST /v1/webhooks/{id}/test`, signed like every message."""
