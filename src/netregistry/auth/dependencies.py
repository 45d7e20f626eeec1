"""Authentication and authorisation of HTTP requests.

:func:`authorize_write` is attached to every router: a route added later is protected
for writes without anyone remembering to protect it.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated, Any, TypeVar

from fastapi import Depends, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from sqlalchemy.ext.asyncio import AsyncSession

from netregistry.auth.principal import Principal
from netregistry.auth.service import ApiKeyService
from netregistry.errors import Forbidden, Unauthorized
from netregistry.kit.deps import SessionDep, session_of
from netregistry.kit.http import SAFE_METHODS
from netregistry.kit.ratelimit import WriteRateLimiter
from netregistry.kit.unit_of_work import claim_idempotency_key

bearer = HTTPBearer(
    auto_error=False,
    description="An API key from `netregistry keys create`, sent as `Authorization: Bearer <key>`.",
)
Credentials = Annotated[HTTPAuthorizationCredentials | None, Depends(bearer)]


async def authorize_write(request: Request, credentials: Credentials) -> Principal | None:
    """Reads pass; writes need a valid key that may write to the addressed network, within
    the key's write rate; then a POST's Idempotency-Key is claimed for that key. Writes
    without a valid key are counted per client address, within the same rate.

    A read opens no session here: a streamed export reads through its own snapshot, and a
    request that opened the request session has its body held back until the commit.
    """
    if request.method in SAFE_METHODS:
        return None
    session = session_of(request)
    limiter: WriteRateLimiter = request.app.state.write_limiter
    try:
        if credentials is None:
            raise Unauthorized(
                "This request changes data and needs an API key: Authorization: Bearer <key>."
            )
        principal = await ApiKeyService(session).authenticate(credentials.credentials)
    except Unauthorized:
        # Counted per client address: past the write rate, 429. A valid key is never
        # refused for its address's failures (clients behind one proxy share one).
        await limiter.count_unauthenticated(request.client.host if request.client else "")
        raise
    network = request.path_params.get("slug")
    if network is not None and not principal.may_write(network):
        raise Forbidden(f"The API key {principal.name!r} may not write to network {network!r}.")
    await limiter.admit(str(principal.key_id))
    # Only now, for a valid key allowed here and within its rate: the claim (or replay).
    await claim_idempotency_key(request, owner=str(principal.key_id))
    return principal


async def require_principal(
    principal: Annotated[Principal | None, Depends(authorize_write)],
    request: Request,
    session: SessionDep,
    credentials: Credentials,
) -> Principal:
    """A valid key, on reads too (for admin-only reads such as the audit log)."""
    if principal is not None:
        return principal
    if credentials is None:
        raise Unauthorized("This resource needs an API key: Authorization: Bearer <key>.")
    return await ApiKeyService(session).authenticate(credentials.credentials)


async def require_admin(principal: Annotated[Principal, Depends(require_principal)]) -> Principal:
    """An admin key."""
    if not principal.is_admin:
        raise Forbidden(f"Only an admin key may do this; {principal.name!r} is scoped.")
    return principal


Actor = Annotated[Principal | None, Depends(authorize_write)]
Admin = Annotated[Principal, Depends(require_admin)]

ServiceT = TypeVar("ServiceT")


def service_for(factory: Callable[[AsyncSession, Principal | None], ServiceT]) -> Any:
    """The dependency ``factory(session, actor)``: a domain service working in the
    request's transaction on behalf of its caller."""

    async def provide(session: SessionDep, actor: Actor) -> ServiceT:
        return factory(session, actor)

    return Depends(provide)
