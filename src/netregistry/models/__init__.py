"""Every table of the registry; importing this package registers them all on ``Base``."""

from netregistry.models.api_key import ApiKey
from netregistry.models.audit_event import AuditEvent
from netregistry.models.base import Base
from netregistry.models.idempotency_key import IdempotencyKey
from netregistry.models.network import Network

__all__ = ["ApiKey", "AuditEvent", "Base", "IdempotencyKey", "Network"]
