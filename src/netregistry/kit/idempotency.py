"""Safe retries of POST: an ``Idempotency-Key`` is claimed in the request's transaction.

A key belongs to the API key that sent it: ``owner`` is that key's id (as text), never
its header, so ``Bearer``, ``bearer`` and extra spaces are one caller, and a request
without a valid key never reaches a claim (``kit/unit_of_work.py``).

The claim is an INSERT on the key's primary key. A concurrent request with the same
key blocks on that row until the first transaction ends: after a commit it finds the
stored response and replays it, after a rollback it claims the key itself. Only
successful (2xx) responses are stored; a failed request leaves no trace, so its retry
runs again.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from sqlalchemy import delete, func, select, update
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from netregistry.errors import FieldError, IdempotencyKeyReused, ValidationFailed
from netregistry.models import IdempotencyKey

HEADER = "idempotency-key"
_VALID_KEY = re.compile(r"^[\x21-\x7e]{1,255}$")
REPLAYED_HEADERS = ("location", "etag", "content-type")


@dataclass(frozen=True)
class StoredResponse:
    status_code: int
    headers: dict[str, str]
    body: bytes


def fingerprint_of(method: str, path: str, query: str, body: bytes) -> str:
    digest = hashlib.sha256()
    for part in (method.encode(), path.encode(), query.encode(), body):
        digest.update(len(part).to_bytes(8, "big") + part)
    return digest.hexdigest()


def validate_key(key: str) -> str:
    if not _VALID_KEY.match(key):
        raise ValidationFailed(
            "The Idempotency-Key header must be 1 to 255 printable ASCII characters.",
            [
                FieldError(
                    location=["header", "Idempotency-Key"],
                    message="1 to 255 printable ASCII characters",
                    type="value_error",
                )
            ],
        )
    return key


async def claim(
    session: AsyncSession, *, owner: str, key: str, fingerprint: str, ttl: timedelta
) -> StoredResponse | None:
    """Claim ``key`` for this request, or return the response stored for it.

    Raises :class:`IdempotencyKeyReused` when the key was used for another request.
    """
    await session.execute(
        delete(IdempotencyKey).where(
            IdempotencyKey.owner == owner,
            IdempotencyKey.key == key,
            IdempotencyKey.created_at < func.now() - ttl,
        )
    )
    claimed = await session.scalar(
        insert(IdempotencyKey)
        .values(owner=owner, key=key, fingerprint=fingerprint)
        .on_conflict_do_nothing()
        .returning(IdempotencyKey.key)
    )
    if claimed is not None:
        return None
    stored = (
        await session.execute(
            select(IdempotencyKey).where(IdempotencyKey.owner == owner, IdempotencyKey.key == key)
        )
    ).scalar_one()
    if stored.fingerprint != fingerprint:
        raise IdempotencyKeyReused(
            f"Idempotency-Key {key!r} was already used for a different request "
            "(another method, path or body). Use a new key for a new request."
        )
    if stored.status_code is None or stored.response_body is None:
        # Only completed keys are committed; an incomplete one is claimed again.
        return None
    return StoredResponse(
        stored.status_code, dict(stored.response_headers or {}), stored.response_body
    )


async def complete(
    session: AsyncSession,
    *,
    owner: str,
    key: str,
    status_code: int,
    headers: dict[str, Any],
    body: bytes,
) -> None:
    """Store the response of a claimed key, in the same transaction as the write."""
    await session.execute(
        update(IdempotencyKey)
        .where(IdempotencyKey.owner == owner, IdempotencyKey.key == key)
        .values(status_code=status_code, response_headers=headers, response_body=body)
    )


async def purge_expired(session: AsyncSession, ttl: timedelta) -> None:
    await session.execute(
        delete(IdempotencyKey).where(IdempotencyKey.created_at < func.now() - ttl)
    )
