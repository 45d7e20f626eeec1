"""Every table of the registry; importing this package registers them all on ``Base``."""

from netregistry.models.api_key import ApiKey
from netregistry.models.audit_event import AuditEvent
from netregistry.models.base import Base
from netregistry.models.change import Change
from netregistry.models.declaration import Declaration
from netregistry.models.idempotency_key import IdempotencyKey
from netregistry.models.member import Member
from netregistry.models.membership import Membership
from netregistry.models.name import CategoryLabel, Name
from netregistry.models.network import Network
from netregistry.models.role import Role
from netregistry.models.tenure import Tenure
from netregistry.models.webhook import WebhookDelivery, WebhookSubscription

__all__ = [
    "ApiKey",
    "AuditEvent",
    "Base",
    "CategoryLabel",
    "Change",
    "Declaration",
    "IdempotencyKey",
    "Member",
    "Membership",
    "Name",
    "Network",
    "Role",
    "Tenure",
    "WebhookDelivery",
    "WebhookSubscription",
]
