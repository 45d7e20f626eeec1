"""The unit of work: the request's one transaction, committed (or rolled back) after the
routes answer and before the response leaves, with the Idempotency-Key claim inside it.

:class:`TransactionMiddleware` is the innermost of the application's middleware, inside
request hygiene (``kit/hygiene.py``), whose body it reads from the scope's state; the
exception handlers (``kit/handlers.py``) run inside it, so a handled error is an answer
like any other and rolls back.

The claim is not the middleware's to make: a request is nobody's until its key is
checked. Authorization (``auth/dependencies.py``) calls :func:`claim_idempotency_key`
once the key is valid, may write there and is within its rate, with the key's id as the
owner; so a request without a valid key claims nothing, writes nothing and replays
nothing, and a retry is known by the key that sent it however its header is spelt.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from sqlalchemy.exc import SQLAlchemyError
from starlette.datastructures import Headers
from starlette.requests import Request
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from netregistry.config import Settings
from netregistry.db import UnitOfWork
from netregistry.errors import (
    CommitFailed,
    CommitOutcomeUnknown,
    IdempotencyKeyInUse,
    ServiceUnavailable,
    render,
)
from netregistry.kit import idempotency
from netregistry.kit.context import request_id_var
from netregistry.kit.http import SAFE_METHODS
from netregistry.kit.integrity import database_problem

_CLAIM = "idempotency_claim"


@dataclass(frozen=True, slots=True)
class _Claim:
    owner: str
    key: str


class _Replay(Exception):
    """The request's Idempotency-Key already has a stored response: answer with it."""

    def __init__(self, stored: idempotency.StoredResponse) -> None:
        super().__init__("replay")
        self.stored = stored


async def claim_idempotency_key(request: Request, *, owner: str) -> None:
    """Claim the ``Idempotency-Key`` of a ``POST`` for ``owner`` (the id of the API key that
    sent it), in the request's transaction; without the header, do nothing.

    When the key already holds a stored response, the route does not run: the middleware
    answers with that response. Raises :class:`IdempotencyKeyReused` (another request
    under this key), :class:`IdempotencyKeyInUse` (the first one still runs, past the
    lock timeout) or a 503 when the database fails.
    """
    key = request.headers.get(idempotency.HEADER)
    if request.method != "POST" or key is None:
        return
    idempotency.validate_key(key)
    state = request.scope["state"]
    settings: Settings = request.app.state.settings
    uow: UnitOfWork = state["uow"]
    try:
        stored = await idempotency.claim(
            uow.session,
            owner=owner,
            key=key,
            fingerprint=idempotency.fingerprint_of(
                request.method,
                request.scope["path"],
                request.scope.get("query_string", b"").decode("latin-1"),
                state.get("body", b""),
            ),
            ttl=timedelta(hours=settings.idempotency_ttl_hours),
        )
    except (SQLAlchemyError, OSError) as error:
        logging.getLogger("netregistry.db").warning("idempotency claim failed", exc_info=error)
        sqlstate = str(getattr(getattr(error, "orig", None), "sqlstate", "") or "")
        if sqlstate == "55P03":  # lock_timeout: the first request with this key still runs
            raise IdempotencyKeyInUse() from error
        raise (
            database_problem(error) or ServiceUnavailable("The database is unavailable.")
        ) from error
    if stored is not None:
        raise _Replay(stored)
    state[_CLAIM] = _Claim(owner, key)


class TransactionMiddleware:
    """One transaction per request, decided after the app answers and before it is sent.

    A response below 400 commits; anything else rolls back. A commit that fails turns
    the response into a 5xx problem: the client never sees a 201 for a lost write.
    """

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        state = scope.setdefault("state", {})
        app_state = scope["app"].state
        uow = UnitOfWork(app_state.sessionmaker)
        state["uow"] = uow
        try:
            await self._handle(scope, receive, send, uow, state)
        finally:
            await uow.close()

    async def _handle(
        self,
        scope: Scope,
        receive: Receive,
        send: Send,
        uow: UnitOfWork,
        state: dict[str, Any],
    ) -> None:
        start: Message | None = None
        body_parts: list[bytes] = []
        passthrough = False

        async def capture(message: Message) -> None:
            nonlocal start, passthrough
            if message["type"] == "http.response.start":
                if not uow.started:
                    passthrough = True
                    await send(message)
                    return
                start = message
            elif passthrough:
                await send(message)
            elif message["type"] == "http.response.body":
                body_parts.append(message.get("body", b""))

        try:
            await self.app(scope, receive, capture)
        except _Replay as replay:
            await uow.rollback()
            await _send_stored(replay.stored, send)
            return
        except BaseException:
            await uow.rollback()
            raise
        if passthrough:
            return
        if start is None:  # the app ended without answering: nothing to commit
            await uow.rollback()
            return
        body = b"".join(body_parts)
        claimed: _Claim | None = state.get(_CLAIM)
        # With a claimed Idempotency-Key only a success commits: anything else must leave
        # the key unclaimed, so that the retry runs again.
        succeeded = start["status"] < 300 if claimed is not None else start["status"] < 400
        if succeeded:
            try:
                if claimed is not None and 200 <= start["status"] < 300:
                    await idempotency.complete(
                        uow.session,
                        owner=claimed.owner,
                        key=claimed.key,
                        status_code=start["status"],
                        headers=_replayable_headers(start),
                        body=body,
                    )
                await uow.commit()
            except (SQLAlchemyError, OSError) as error:
                await _commit_failed(error, scope, receive, send, uow)
                return
        else:
            await uow.rollback()
        await send(start)
        await send({"type": "http.response.body", "body": body, "more_body": False})


def _replayable_headers(start: Message) -> dict[str, str]:
    headers = Headers(raw=start["headers"])
    return {name: headers[name] for name in idempotency.REPLAYED_HEADERS if name in headers}


async def _send_stored(stored: idempotency.StoredResponse, send: Send) -> None:
    headers = [(name.encode(), value.encode()) for name, value in stored.headers.items()]
    headers.append((b"idempotent-replayed", b"true"))
    headers.append((b"content-length", str(len(stored.body)).encode()))
    await send({"type": "http.response.start", "status": stored.status_code, "headers": headers})
    await send({"type": "http.response.body", "body": stored.body, "more_body": False})


async def _commit_failed(
    error: Exception, scope: Scope, receive: Receive, send: Send, uow: UnitOfWork
) -> None:
    logging.getLogger("netregistry.db").error("commit failed", exc_info=error)
    await uow.rollback()
    problem = database_problem(error) or CommitFailed(
        "The change could not be committed and was not saved. Retry the request."
    )
    if isinstance(problem, ServiceUnavailable) and scope["method"] not in SAFE_METHODS:
        # The COMMIT may have reached the server before the connection failed.
        idempotent = idempotency.HEADER in Headers(scope=scope)
        problem = CommitOutcomeUnknown(retry_after=1 if idempotent else None)
    await render(problem, instance=scope["path"], request_id=request_id_var.get())(
        scope, receive, send
    )
