"""Per-request context visible to logs and the audit trail.

Two ids per request: the server's own (``request_id``), generated for every request and
the one the audit log, the logs and problem documents name, so no client can choose it;
and the client's ``X-Request-ID`` when it sent a safe one (``client_request_id``), kept
beside it for the client's own correlation.
"""

from __future__ import annotations

from contextvars import ContextVar

request_id_var: ContextVar[str | None] = ContextVar("request_id", default=None)
client_request_id_var: ContextVar[str | None] = ContextVar("client_request_id", default=None)


def current_request_id() -> str | None:
    """The server's own id of the request being served."""
    return request_id_var.get()


def current_client_request_id() -> str | None:
    """The ``X-Request-ID`` the client sent, when it was safe to keep."""
    return client_request_id_var.get()
