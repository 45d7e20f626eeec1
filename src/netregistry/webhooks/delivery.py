"""Delivering the change feed to webhook subscriptions: at least once, in feed order per
subscription, by one process at a time, retried with backoff, then disabled.

Every process runs a :class:`Dispatcher`. Woken by the change notification (the one the
read cache follows) and every half second for retries and lapsed leases, it claims a
subscription that is behind the feed: an ``UPDATE`` of a row picked ``FOR UPDATE SKIP
LOCKED`` that sets a lease (``NETREGISTRY_WEBHOOK_LEASE_SECONDS``), so no two processes
deliver the same subscription. The holder sends its changes one at a time, renewing the
lease before each, and moves the subscription's ``position`` only once the receiver
answered 2xx; every change to the row is made only while the lease is its own. A process
that dies leaves a lease that lapses, and another takes over from ``position``: the
change in flight may then arrive twice (with the same ``webhook-id``), none is lost.

A failed attempt is retried after a delay that doubles from
``NETREGISTRY_WEBHOOK_FIRST_RETRY_SECONDS`` up to ``…_LONGEST_RETRY_SECONDS``, each drawn
between half and all of it (jitter), so that receivers coming back are not hit by every
sender at once; changes after it wait (feed order). Once a subscription has failed for
``NETREGISTRY_WEBHOOK_RETRY_SECONDS`` it is disabled with the reason; re-enabling it
resumes at the change that failed.

Deliveries run on a small engine of their own (two connections), so they never take a
request's connection.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import os
import random
import socket
import ssl
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import httpx
import structlog
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from netregistry import __version__
from netregistry.changes.schemas import ChangeFilter, ChangeRead
from netregistry.changes.service import newest_position, read_changes
from netregistry.config import Settings
from netregistry.kit.invalidation import ChangeListener
from netregistry.models import WebhookDelivery, WebhookSubscription
from netregistry.webhooks import signing
from netregistry.webhooks.repository import WebhookRepository
from netregistry.webhooks.targets import IPNetwork, TargetRefused, allowed_networks, resolve

log = structlog.get_logger("netregistry.webhooks")

SWEEP_SECONDS = 0.5
# Subscriptions one process delivers at once.
IN_FLIGHT = 16
# Changes read at once for one subscription.
BATCH = 50
# Bytes of one change read for a delivery (a change is far smaller).
MAX_BATCH_BYTES = 4 * 1024 * 1024
USER_AGENT = f"netregistry-webhooks/{__version__}"


@dataclass(frozen=True, slots=True)
class Outcome:
    """How one attempt went."""

    succeeded: bool
    status_code: int | None
    error: str | None
    latency_ms: int


def retry_delay(failures: int, first: float, longest: float) -> float:
    """Seconds before the next attempt after ``failures`` failures in a row: doubling
    from ``first`` up to ``longest``, drawn between half and all of it."""
    ceiling = min(longest, first * 2.0 ** min(failures - 1, 60))
    return float(ceiling / 2) + random.uniform(0, ceiling / 2)  # noqa: S311 (jitter, not secrecy)


def filter_of(subscription: WebhookSubscription) -> ChangeFilter:
    return ChangeFilter(
        networks=frozenset(subscription.networks),
        resource_types=frozenset(subscription.resource_types),
        actions=frozenset(subscription.actions),
    )


def message_id_of(change: ChangeRead) -> str:
    return f"chg_{change.cursor}"


@functools.cache
def _tls_context() -> ssl.SSLContext:
    """One TLS context a process: loading the trust store takes tens of milliseconds."""
    return httpx.create_ssl_context()


class Sender:
    """Posts signed messages to checked targets."""

    def __init__(self, settings: Settings) -> None:
        self.allowed: tuple[IPNetwork, ...] = allowed_networks(settings.webhook_allowed_addresses)
        self.timeout = settings.webhook_timeout_seconds
        self.client = httpx.AsyncClient(
            timeout=self.timeout,
            follow_redirects=False,
            verify=_tls_context(),
            trust_env=False,  # no proxy from the environment: the checked address is called
            limits=httpx.Limits(max_connections=IN_FLIGHT * 2, max_keepalive_connections=0),
        )

    async def close(self) -> None:
        await self.client.aclose()

    async def send(self, url: str, secret: str, message_id: str, body: bytes) -> Outcome:
        started = time.monotonic()

        def outcome(status: int | None, error: str | None) -> Outcome:
            latency = int((time.monotonic() - started) * 1000)
            return Outcome(error is None, status, error, latency)

        try:
            target = await resolve(url, self.allowed)
        except TargetRefused as refused:
            return outcome(None, str(refused))
        headers = {
            "content-type": "application/json",
            "user-agent": USER_AGENT,
            "host": target.host,
            **signing.headers(secret, message_id, int(time.time()), body),
        }
        extensions = {"sni_hostname": target.server_name} if target.server_name else {}
        try:
            async with self.client.stream(
                "POST", target.url, content=body, headers=headers, extensions=extensions
            ) as response:
                status = response.status_code
        except httpx.TimeoutException:
            return outcome(None, f"no answer within {self.timeout:g} s")
        except httpx.HTTPError as error:
            return outcome(None, f"could not deliver: {type(error).__name__}: {error}"[:500])
        if 200 <= status < 300:
            return outcome(status, None)
        if 300 <= status < 400:
            return outcome(status, f"answered HTTP {status}: redirects are not followed")
        return outcome(status, f"answered HTTP {status}")


class Dispatcher:
    """This process's deliveries: claims due subscriptions and delivers their changes."""

    def __init__(self, engine: AsyncEngine, listener: ChangeListener, settings: Settings) -> None:
        self.engine = engine
        self.sessionmaker = async_sessionmaker(engine, expire_on_commit=False)
        self.listener = listener
        self.settings = settings
        self.holder = f"{socket.gethostname()[:60]}:{os.getpid()}:{uuid.uuid4().hex[:8]}"
        self.lease = timedelta(seconds=settings.webhook_lease_seconds)
        self.sender = Sender(settings)
        self.wake = asyncio.Event()
        self.running: dict[uuid.UUID, asyncio.Task[None]] = {}
        self._task: asyncio.Task[None] | None = None
        self._unsubscribe = listener.subscribe(lambda network: self.wake.set())

    async def start(self) -> None:
        self._task = asyncio.create_task(self._run(), name="netregistry-webhooks")

    async def stop(self) -> None:
        self._unsubscribe()
        tasks = [task for task in (self._task, *self.running.values()) if task is not None]
        for task in tasks:
            task.cancel()
        for task in tasks:
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task
        await self.sender.close()
        await self.engine.dispose()

    async def _run(self) -> None:
        while True:
            self.wake.clear()  # before claiming: a commit meanwhile wakes us again
            try:
                while len(self.running) < IN_FLIGHT:
                    claimed = await self._claim()
                    if claimed is None:
                        break
                    task = asyncio.create_task(self._deliver(claimed))
                    self.running[claimed.id] = task
                    task.add_done_callback(self._forget(claimed.id))
            except (SQLAlchemyError, OSError) as error:
                log.warning("webhook deliveries cannot reach the database", error=str(error))
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(SWEEP_SECONDS):
                    await self.wake.wait()

    def _forget(self, subscription_id: uuid.UUID) -> Callable[[asyncio.Task[None]], None]:
        def forget(task: asyncio.Task[None]) -> None:
            self.running.pop(subscription_id, None)
            self.wake.set()  # a slot is free: claim again

        return forget

    async def _claim(self) -> WebhookSubscription | None:
        async with self.sessionmaker.begin() as session:
            return await WebhookRepository(session).claim(self.holder, self.lease)

    async def _deliver(self, subscription: WebhookSubscription) -> None:
        try:
            while await self._deliver_batch(subscription):
                pass
        except (SQLAlchemyError, OSError) as error:
            log.warning("webhook delivery interrupted", error=str(error))
        finally:
            with contextlib.suppress(SQLAlchemyError, OSError):
                async with self.sessionmaker.begin() as session:
                    await WebhookRepository(session).release(subscription.id, self.holder)

    async def _deliver_batch(self, subscription: WebhookSubscription) -> bool:
        """Deliver the next changes; True when more may follow at once."""
        async with self.sessionmaker() as session:
            newest = await newest_position(session)
            changes, _ = await read_changes(
                session, subscription.position, BATCH, MAX_BATCH_BYTES, filter_of(subscription)
            )
        if not changes:  # none of the changes up to the newest is for this subscription
            async with self.sessionmaker.begin() as session:
                await WebhookRepository(session).delivered(subscription.id, self.holder, newest)
            return False
        for change in changes:
            async with self.sessionmaker.begin() as session:
                if not await WebhookRepository(session).renew(
                    subscription.id, self.holder, self.lease
                ):
                    return False  # deleted, disabled, or taken over
            body = change.model_dump_json().encode()
            message_id = message_id_of(change)
            outcome = await self.sender.send(
                subscription.url, subscription.secret, message_id, body
            )
            position = int(change.cursor)
            if not await self._record(subscription, message_id, position, outcome):
                return False
            subscription.position = position
            subscription.failures = 0
            subscription.failing_since = None
        return True

    async def _record(
        self, subscription: WebhookSubscription, message_id: str, position: int, outcome: Outcome
    ) -> bool:
        """Log the attempt and move the subscription on; True when it succeeded."""
        now = datetime.now(UTC)
        failures = subscription.failures + 1
        next_retry: datetime | None = None
        reason: str | None = None
        failing_since = subscription.failing_since or now
        if not outcome.succeeded:
            if (now - failing_since).total_seconds() >= self.settings.webhook_retry_seconds:
                reason = (
                    f"Disabled at {now:%Y-%m-%d %H:%M:%S} UTC after {failures} failed attempts "
                    f"since {failing_since:%Y-%m-%d %H:%M:%S} UTC; the last one: "
                    f"{outcome.error}. Re-enable it (PATCH enabled: true) to resume at "
                    f"cursor {position}."
                )[:500]
            else:
                next_retry = now + timedelta(
                    seconds=retry_delay(
                        failures,
                        self.settings.webhook_first_retry_seconds,
                        self.settings.webhook_longest_retry_seconds,
                    )
                )
        async with self.sessionmaker.begin() as session:
            repository = WebhookRepository(session)
            await repository.log(
                WebhookDelivery(
                    subscription_id=subscription.id,
                    message_id=message_id,
                    position=position,
                    attempt=failures,
                    status_code=outcome.status_code,
                    error=outcome.error,
                    latency_ms=outcome.latency_ms,
                    succeeded=outcome.succeeded,
                    next_retry_at=next_retry,
                )
            )
            if outcome.succeeded:
                return await repository.delivered(subscription.id, self.holder, position)
            await repository.failed(
                subscription.id,
                self.holder,
                failures=failures,
                failing_since=failing_since,
                next_attempt_at=next_retry or now,
                disabled_reason=reason,
            )
            if reason is not None:
                log.warning("webhook disabled", subscription=str(subscription.id))
            return False


async def send_test(
    sender: Sender, session: AsyncSession, subscription: WebhookSubscription, body: bytes
) -> WebhookDelivery:
    """Send a test message now and log it (in ``session``'s transaction)."""
    message_id = f"test_{uuid.uuid4().hex}"
    outcome = await sender.send(subscription.url, subscription.secret, message_id, body)
    return await WebhookRepository(session).log(
        WebhookDelivery(
            subscription_id=subscription.id,
            message_id=message_id,
            position=None,
            attempt=1,
            status_code=outcome.status_code,
            error=outcome.error,
            latency_ms=outcome.latency_ms,
            succeeded=outcome.succeeded,
        )
    )
