"""The read cache: public reads answered from the bytes computed for an earlier request.

Partner sites repeat the same reads (member lists, holders, stats...). The first answer
of a read is kept, body and headers as the application sent them, and the next request
for it gets those bytes without a database round trip, an ORM row or a pydantic model.

* **What**: ``GET`` and ``HEAD`` of the routes in :data:`CACHEABLE_ROUTES`, without an
  ``Authorization`` header, whose answer is a whole (not streamed) ``200`` that is
  ``Cache-Control: public``. Exports, the change feed, the audit log, probes and docs are
  never cached; neither is anything else.
* **Key**: the path, the query's parameters sorted, the `Accept-Language` header (unless
  `lang` is given), and the day the answer is for:
  ``as_of`` when given, else today's UTC date, so a default answer turns over at
  midnight UTC as the endpoints' default day does. Never the ``Host`` or the scheme: no
  answer depends on them (``Link`` is relative, or built from ``public_url``), so a
  client's ``Host`` can neither reach another client's answer nor fill the cache with
  copies.
* **Invalidation**: PostgreSQL notifies every committed change (migration 0005); the
  listener (kit/invalidation.py) drops the answers of that network, plus every answer
  that is not one network's, or everything. A write through this process drops
  everything before its response leaves, so a client reads its own writes.
* **Never stale**: a generation counter keeps an answer computed before an invalidation
  from being stored after it, and while the listener is away (a notification could be
  missed) the cache is bypassed; it is cleared before it serves again.
* **Misses**: computed by the route's direct handler when it has one (kit/direct.py),
  else by the framework; with the cache off or bypassed, the same.
* **Bounded**: at most ``read_cache_bytes``; least recently used answers go first, and
  an answer larger than an eighth of the budget is not kept.
"""

from __future__ import annotations

import re
from collections import OrderedDict
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import TYPE_CHECKING
from urllib.parse import parse_qsl

from starlette.routing import compile_path
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from netregistry.kit import metrics
from netregistry.kit.etag import none_match

if TYPE_CHECKING:
    from netregistry.kit.direct import DirectReads

# Route templates whose public GET answers are cached. A template that is one network's
# (it names ``{slug}``) is dropped with that network; any other with every change.
CACHEABLE_ROUTES = (
    "/v1/networks",
    "/v1/networks/{slug}",
    "/v1/networks/{slug}/stats",
    "/v1/networks/{slug}/declarations",
    "/v1/networks/{slug}/declarations/{declaration_id}",
    "/v1/networks/{slug}/members",
    "/v1/networks/{slug}/memberships",
    "/v1/networks/{slug}/memberships/{membership_id}",
    "/v1/networks/{slug}/roles",
    "/v1/networks/{slug}/roles/{role}",
    "/v1/networks/{slug}/roles/{role}/holders",
    "/v1/networks/{slug}/tenures",
    "/v1/networks/{slug}/tenures/{tenure_id}",
    "/v1/cities",
    "/v1/cities/{member_id}",
    "/v1/organizations",
    "/v1/organizations/{member_id}",
    "/v1/members/{member_id}/memberships",
    # The public directory's pages (directory/endpoints.py).
    "/",
    "/networks/{slug}",
    "/networks/{slug}/timeline.svg",
    "/embed/networks/{slug}/members",
)

# An answer larger than this share of the budget would evict too much to be worth it.
MAX_ENTRY_SHARE = 8
# What a 304 leaves out of the 200's headers (RFC 9110 15.4.5), as the endpoints do.
_NOT_IN_304 = frozenset({b"content-length", b"content-type"})
# Headers of one request, never of the representation.
_PER_REQUEST = frozenset(
    {b"x-request-id", b"date", b"server", b"set-cookie", b"idempotent-replayed"}
)
# Bookkeeping per entry beyond its bytes: the key, the tuples, the dictionary slot.
_ENTRY_OVERHEAD = 256

Key = tuple[str, str, tuple[tuple[str, str], ...], str, bytes | None]


def asks_for_geojson(accept: bytes | None) -> bool:
    """Whether an ``Accept`` header asks for GeoJSON: the member list then answers a
    representation its JSON's cache entry is not, so such a request is computed by the
    framework, never answered from the cache nor by a direct read."""
    return accept is not None and b"geo+json" in accept.lower()


def today() -> date:
    """The day a read without ``as_of`` answers for (as ``kit.deps.as_of_date``)."""
    return datetime.now(UTC).date()


@dataclass(frozen=True, slots=True)
class CachedRoute:
    """What the request log and metrics read from ``scope["route"]`` on a hit."""

    path: str


@dataclass(frozen=True, slots=True)
class Entry:
    """One answer: the 200's headers and body as the application sent them."""

    headers: tuple[tuple[bytes, bytes], ...]
    body: bytes
    etag: str
    network: str | None
    route: CachedRoute
    size: int


@dataclass(frozen=True, slots=True)
class Generation:
    """What a miss saw when it started; :meth:`ReadCache.store` refuses a changed one."""

    everything: int
    network: int


class ReadCache:
    """A least-recently-used map of answers, bounded in bytes, with generations.

    Every invalidation bumps a generation: ``everything`` for a clear, ``any_change`` for
    any invalidation (what answers that are not one network's depend on), and the
    network's own. All of it runs on the event loop thread, so needs no lock.
    """

    def __init__(self, max_bytes: int, *, enabled: bool = True) -> None:
        self.enabled = enabled
        self.max_bytes = max_bytes
        self.max_entry_bytes = max_bytes // MAX_ENTRY_SHARE
        # Off until the listener says it hears every change (kit/invalidation.py).
        self.available = False
        self.size = 0
        self.hits = 0
        self.misses = 0
        self.bypasses = 0
        self.evictions = 0
        self._entries: OrderedDict[Key, Entry] = OrderedDict()
        self._everything = 0
        self._any_change = 0
        self._networks: dict[str, int] = {}

    def __len__(self) -> int:
        return len(self._entries)

    def get(self, key: Key) -> Entry | None:
        entry = self._entries.get(key)
        if entry is None:
            self.misses += 1
            metrics.READ_CACHE_MISSES.inc()
            return None
        self._entries.move_to_end(key)
        self.hits += 1
        metrics.READ_CACHE_HITS.inc()
        return entry

    def bypassed(self) -> None:
        self.bypasses += 1
        metrics.READ_CACHE_BYPASSES.inc()

    def generation(self, network: str | None) -> Generation:
        if network is None:
            return Generation(self._everything, self._any_change)
        return Generation(self._everything, self._networks.get(network, 0))

    def store(self, key: Key, entry: Entry, seen: Generation) -> bool:
        """Keep ``entry`` unless it is too large, or the data it was computed from may
        have changed since ``seen`` was taken (then a later read computes it again)."""
        if not self.available or entry.size > self.max_entry_bytes:
            return False
        if self.generation(entry.network) != seen:
            return False
        self._discard(key)
        self._entries[key] = entry
        self._resize(entry.size, 1)
        while self.size > self.max_bytes:
            _, evicted = self._entries.popitem(last=False)
            self._resize(-evicted.size, -1)
            self.evictions += 1
            metrics.READ_CACHE_EVICTIONS.inc()
        return True

    def invalidate(self, network: str | None) -> None:
        """Drop what a change of ``network`` may have changed; ``None``: everything."""
        if network is None:
            self.clear()
            return
        self._any_change += 1
        self._networks[network] = self._networks.get(network, 0) + 1
        for key in [
            key for key, entry in self._entries.items() if entry.network in (None, network)
        ]:
            self._discard(key)

    def clear(self) -> None:
        self._everything += 1
        self._any_change += 1
        self._networks.clear()
        self._resize(-self.size, -len(self._entries))
        self._entries.clear()

    def suspend(self) -> None:
        """Bypass the cache: changes may go unheard (the listener lost its connection)."""
        self.available = False
        self.clear()

    def resume(self) -> None:
        """Serve again, from empty: the listener hears every change from now on."""
        self.clear()
        self.available = True

    def _discard(self, key: Key) -> None:
        entry = self._entries.pop(key, None)
        if entry is not None:
            self._resize(-entry.size, -1)

    def _resize(self, size: int, entries: int) -> None:
        self.size += size
        metrics.READ_CACHE_BYTES.inc(size)
        metrics.READ_CACHE_ENTRIES.inc(entries)


@dataclass(frozen=True, slots=True)
class _Match:
    route: CachedRoute
    network: str | None
    params: dict[str, str]


def _compile(templates: tuple[str, ...]) -> list[tuple[re.Pattern[str], CachedRoute]]:
    return [(compile_path(template)[0], CachedRoute(template)) for template in templates]


class ReadCacheFront:
    """Answers cacheable public reads from :class:`ReadCache`, and fills it; the edge
    (``kit/edge.py``) calls it for every request, with what it read of the headers.

    A hit is answered here, before the framework: the edge adds the request id,
    security and CORS headers to it as to any answer. A request that may write drops
    the cache before its answer leaves (the transaction is decided by then), so its
    client reads its own write.
    """

    # Keys computed for raw request targets (the path, the query as sent): at most this
    # many remembered, so a repeated read costs one look-up, not a parse and a sort.
    MAX_REMEMBERED_KEYS = 10_000

    def __init__(self, cache: ReadCache, direct: DirectReads) -> None:
        self.cache = cache
        self.direct = direct
        self.routes = _compile(CACHEABLE_ROUTES)
        self._keys: dict[tuple[object, ...], tuple[Key, _Match] | None] = {}

    async def handle(
        self,
        app: ASGIApp,
        scope: Scope,
        receive: Receive,
        send: Send,
        *,
        authorization: bool,
        if_none_match: bytes | None,
        accept: bytes | None = None,
    ) -> None:
        cache = self.cache
        method = scope["method"]
        if method not in ("GET", "HEAD"):
            if method != "OPTIONS" and cache.enabled:
                send = self._invalidating(send)
            await app(scope, receive, send)
            return
        found = None if authorization or asks_for_geojson(accept) else self._lookup(scope)
        if found is None:
            await app(scope, receive, send)
            return
        key, match = found
        serving = cache.enabled and cache.available
        if serving:
            entry = cache.get(key)
            if entry is not None:
                scope["route"] = entry.route
                tags = if_none_match.decode("latin-1") if if_none_match is not None else None
                await _answer(entry, method, tags, send)
                return
        elif cache.enabled:
            cache.bypassed()
        if method == "HEAD":  # HeadMiddleware drops the body a HEAD would store
            await app(scope, receive, send)
            return
        computed = self._direct_or(app, match)
        if serving:
            await self._compute(computed, scope, receive, send, key, match)
        else:
            await computed(scope, receive, send)

    def _direct_or(self, app: ASGIApp, match: _Match) -> ASGIApp:
        """The route's direct read (kit/direct.py), the framework when it declines."""
        handler = self.direct.handlers.get(match.route.path)
        if handler is None:
            return app
        direct = self.direct

        async def answer(scope: Scope, receive: Receive, send: Send) -> None:
            if await direct.answer(handler, match.params, scope, receive, send):
                scope["route"] = match.route
                return
            await app(scope, receive, send)

        return answer

    def _lookup(self, scope: Scope) -> tuple[Key, _Match] | None:
        """The key and route of a cacheable read, or ``None``; remembered per raw target."""
        day = str(today())
        raw = (
            scope.get("root_path", ""),
            scope["path"],
            scope.get("query_string", b""),
            day,
            _accept_language(scope),
        )
        try:
            return self._keys[raw]
        except KeyError:
            pass
        match = self._match(scope["path"])
        found = None if match is None else (self._key(scope, day, raw[-1]), match)
        if len(self._keys) >= self.MAX_REMEMBERED_KEYS:
            self._keys.clear()
        self._keys[raw] = found
        return found

    def _match(self, path: str) -> _Match | None:
        for pattern, route in self.routes:
            matched = pattern.match(path)
            if matched is not None:
                params = matched.groupdict()
                return _Match(route, params.get("slug"), params)
        return None

    def _key(self, scope: Scope, day: str, accept_language: bytes | None) -> Key:
        query = tuple(sorted(parse_qsl(scope.get("query_string", b"").decode("latin-1"), True)))
        # as_of is in the query when given; otherwise the answer is for today (UTC).
        # Names are chosen by Accept-Language unless lang is given (migration 0013).
        return (
            scope.get("root_path", ""),
            scope["path"],
            query,
            "" if any(name == "as_of" for name, _ in query) else day,
            None if any(name == "lang" for name, _ in query) else accept_language,
        )

    async def _compute(
        self, app: ASGIApp, scope: Scope, receive: Receive, send: Send, key: Key, match: _Match
    ) -> None:
        cache = self.cache
        seen = cache.generation(match.network)
        start: Message | None = None
        parts: list[bytes] = []
        size = 0
        keep = True

        async def capture(message: Message) -> None:
            nonlocal start, size, keep
            if message["type"] == "http.response.start":
                keep = message["status"] == 200
                # Copied before the outer middleware add their per-request headers to it.
                start = {**message, "headers": list(message.get("headers", []))}
            elif message["type"] == "http.response.body" and keep:
                body = message.get("body", b"")
                size += len(body)
                if message.get("more_body", False) or size > cache.max_entry_bytes:
                    keep = False  # streamed or too large: never stored
                else:
                    parts.append(body)
                    if start is not None:
                        entry = _entry(start, b"".join(parts), match)
                        if entry is not None:
                            cache.store(key, entry, seen)
            await send(message)

        await app(scope, receive, capture)

    def _invalidating(self, send: Send) -> Send:
        cache = self.cache

        async def drop_first(message: Message) -> None:
            if message["type"] == "http.response.start":
                status = message["status"]
                # Committed (below 400), or perhaps committed (5xx): drop before telling.
                if status < 400 or status >= 500:
                    cache.invalidate(None)
            await send(message)

        return drop_first


def _accept_language(scope: Scope) -> bytes | None:
    """The request's ``Accept-Language`` header (the names an answer shows follow it)."""
    for name, value in scope["headers"]:
        if name == b"accept-language":
            return bytes(value)
    return None


def _entry(start: Message, body: bytes, match: _Match) -> Entry | None:
    headers = tuple(
        (name, value) for name, value in start["headers"] if name.lower() not in _PER_REQUEST
    )
    found = {name.lower(): value for name, value in headers}
    etag = found.get(b"etag")
    if etag is None or not found.get(b"cache-control", b"").startswith(b"public"):
        return None
    size = len(body) + sum(len(name) + len(value) for name, value in headers) + _ENTRY_OVERHEAD
    return Entry(headers, body, etag.decode("latin-1"), match.network, match.route, size)


async def _answer(entry: Entry, method: str, if_none_match: str | None, send: Send) -> None:
    """The stored answer, a 304 when the client has it (as ``kit.http.represent``)."""
    if none_match(if_none_match, entry.etag):
        headers = [(name, value) for name, value in entry.headers if name not in _NOT_IN_304]
        await send({"type": "http.response.start", "status": 304, "headers": headers})
        await send({"type": "http.response.body", "body": b"", "more_body": False})
        return
    # A fresh list: the outer middleware add their headers to it in place.
    await send({"type": "http.response.start", "status": 200, "headers": list(entry.headers)})
    body = b"" if method == "HEAD" else entry.body
    await send({"type": "http.response.body", "body": body, "more_body": False})
