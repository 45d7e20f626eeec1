"""Keys, admin-only routes, the audit log's privacy, what errors and logs reveal, and the
headers every response carries.

Complements tests/auth/test_auth_matrix.py (401/403 on network writes, tokens absent from
responses), tests/audit/test_audit.py (the whole audit log needs an admin key),
tests/auth/test_member_scope.py (members shared between networks) and
tests/auth/test_key_scope.py (keys bound to networks, not slugs).
"""

from __future__ import annotations

import hashlib
import io
import json
import logging
import re
import uuid
import zipfile
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
import structlog
import structlog.testing
from sqlalchemy import text

from netregistry.kit.logging import ACCESS_LOGGER, flush_access_log
from netregistry.networks.service import NetworkService
from netregistry.registry.resolve import Resolver
from tests.conftest import Database, Keys
from tests.registry import builders

Headers = dict[str, str]
PROBLEM = "application/problem+json"
PROBLEM_MEMBERS = {"type", "title", "status", "detail", "instance", "request_id"}


def bearer(token: str) -> Headers:
    return {"Authorization": f"Bearer {token}"}


async def dump_database(db: Database) -> str:
    """Every row of every table of the public schema, as text."""
    return "\n".join(f"{table}: {rows}" for table, rows in (await db.contents()).items())


@pytest.fixture
async def seeded(client: httpx.AsyncClient, admin_headers: Headers) -> dict[str, str]:
    """Two networks; a city and an organization; a membership, a chair and its tenure."""
    await builders.network(client, admin_headers, "citynet")
    await builders.network(client, admin_headers, "metropolis")
    seoul = await builders.city(client, admin_headers, "Seoul", "KR")
    iclei = await builders.organization(client, admin_headers, "ICLEI", country_code="DE")
    membership = await builders.membership(client, admin_headers, seoul["id"], start_date="2000")
    await builders.role(client, admin_headers, "chair")
    tenure = await builders.tenure(client, admin_headers, seoul["id"], start_date="2013-11-05")
    return {
        "city": seoul["id"],
        "organization": iclei["id"],
        "membership": membership["id"],
        "tenure": tenure["id"],
    }


# --- keys are stored hashed and looked up by hash --------------------------------------------


async def test_the_database_holds_only_the_sha256_of_a_key_never_the_key(
    client: httpx.AsyncClient, keys: Keys, db: Database, seeded: dict[str, str]
) -> None:
    token = await keys.create("staff", networks=["citynet"])
    # Use the key, so that the audit log, the change feed and the idempotency store have
    # had every chance to record it.
    response = await client.patch(
        "/v1/networks/citynet",
        json={"scope": "Asia-Pacific"},
        headers=bearer(token),
    )
    assert response.status_code == 200, response.text
    created = await client.post(
        "/v1/cities",
        json={"name": "Lyon", "country_code": "FR"},
        headers={**bearer(token), "Idempotency-Key": "lyon-1"},
    )
    assert created.status_code == 201, created.text

    stored = await db.scalar(
        "SELECT token_hash FROM api_keys WHERE name = 'staff'",
    )
    assert stored == hashlib.sha256(token.encode()).hexdigest()
    everything = await dump_database(db)
    secret = token.removeprefix("nr_")
    assert token not in everything
    # The prefix column keeps the first characters (to tell keys apart in `keys list`);
    # the rest of the secret is nowhere.
    assert secret[9:] not in everything
    assert secret[-20:] not in everything


async def test_the_stored_hash_is_not_itself_a_key(
    client: httpx.AsyncClient, keys: Keys, db: Database, seeded: dict[str, str]
) -> None:
    """Someone who reads the table cannot write with what they read."""
    token = await keys.create("staff-2", admin=True)
    stored = await db.scalar("SELECT token_hash FROM api_keys WHERE name = 'staff-2'")
    prefix = await db.scalar("SELECT prefix FROM api_keys WHERE name = 'staff-2'")
    before = await dump_database(db)
    for stolen in (stored, f"nr_{stored}", prefix):
        response = await client.patch(
            "/v1/networks/citynet", json={"scope": "Stolen"}, headers=bearer(stolen)
        )
        assert response.status_code == 401, (stolen, response.text)
    assert await dump_database(db) == before
    assert (await client.patch("/v1/networks/citynet", json={}, headers=bearer(token))).is_success


async def test_near_miss_keys_are_refused_like_any_other_wrong_key(
    client: httpx.AsyncClient, keys: Keys, db: Database, seeded: dict[str, str]
) -> None:
    """Lookup is by the hash of the whole token, so a long shared prefix gains nothing:
    keys that differ from the real one in the last character, or are a prefix of it, or
    extend it, are all refused, with the same problem as a key that shares nothing."""
    token = await keys.create("staff-3", networks=["citynet"])
    last = token[-1]
    near_misses = [
        token[:-1] + ("A" if last != "A" else "B"),
        token[:-1],
        token + "x",
        token[:-5] + "-----",
        token.upper() if token.upper() != token else token.lower(),
        "nr_" + "x" * (len(token) - 3),
    ]
    before = await dump_database(db)
    answers = []
    for candidate in near_misses:
        response = await client.patch(
            "/v1/networks/citynet", json={"scope": "Nope"}, headers=bearer(candidate)
        )
        body = response.json()
        answers.append((response.status_code, body["type"], body["detail"]))
    assert set(answers) == {
        (401, "urn:netregistry:problem:unauthorized", "The API key is unknown or revoked.")
    }
    assert await dump_database(db) == before
    accepted = await client.patch(
        "/v1/networks/citynet", json={"scope": "Yes"}, headers=bearer(token)
    )
    assert accepted.status_code == 200, accepted.text


# --- admin-only routes --------------------------------------------------------------------

# operation id -> (method, path, JSON body or None). Paths use the scoped key's *own*
# network where one appears, so the refusal can only come from the admin rule.
ADMIN_ONLY: dict[str, tuple[str, str, dict[str, Any] | None]] = {
    "create_network": ("POST", "/v1/networks", {"slug": "c40", "name": "C40"}),
    "delete_network": ("DELETE", "/v1/networks/citynet", None),
    "delete_city": ("DELETE", "/v1/cities/{city}", None),
    "delete_organization": ("DELETE", "/v1/organizations/{organization}", None),
    # The whole log; a scoped key reads its own networks' (?network=citynet).
    "list_audit_events": ("GET", "/v1/audit", None),
}


async def test_the_admin_only_routes_are_exactly_the_listed_ones(
    client: httpx.AsyncClient, keys: Keys, db: Database, seeded: dict[str, str]
) -> None:
    """Every operation of the OpenAPI document, called with a key scoped to the network in
    its path (and ids that do not exist, so nothing is found to change): the ones that
    answer 403 are the admin-only ones, and they are exactly the table's. A route that
    becomes admin-only, or stops being so, must be added to (or removed from) the table."""
    scoped = bearer(await keys.create("both-networks", networks=["citynet", "metropolis"]))
    values = {"slug": "citynet", "role": "no-such-role"}
    schema = (await client.get("/openapi.json")).json()
    before = await dump_database(db)
    refused = set()
    for template, operations in schema["paths"].items():
        if template == "/v1/changes/stream":
            continue  # public and never ending; tests/changes/test_stream.py
        path = re.sub(r"\{(\w+)\}", lambda m: values.get(m.group(1), str(uuid.uuid4())), template)
        for method, operation in operations.items():
            # An unknown field: a 422 on any route that gets as far as reading the body (an
            # empty PATCH would be a write), while the admin rule refuses before that.
            body = b'{"probe": 1}' if method in ("post", "patch", "put") else None
            response = await client.request(
                method.upper(),
                path,
                content=body,
                headers={**scoped, "Content-Type": "application/json"},
            )
            assert response.status_code < 500, (method, path, response.text)
            if response.status_code == 403:
                refused.add(operation["operationId"])
    assert refused == set(ADMIN_ONLY)
    assert await dump_database(db) == before


@pytest.mark.parametrize("operation", ADMIN_ONLY)
async def test_an_admin_only_route_refuses_a_scoped_key(
    client: httpx.AsyncClient,
    keys: Keys,
    db: Database,
    seeded: dict[str, str],
    operation: str,
) -> None:
    method, path, body = ADMIN_ONLY[operation]
    path = path.format(**seeded)
    scoped = bearer(await keys.create("citynet-staff", networks=["citynet", "metropolis"]))
    before = await dump_database(db)
    response = await client.request(method, path, json=body, headers=scoped)
    assert response.status_code == 403, response.text
    assert response.headers["content-type"] == PROBLEM
    assert response.json()["type"] == "urn:netregistry:problem:forbidden"
    assert await dump_database(db) == before


async def test_the_admin_only_routes_admit_an_admin_key(
    client: httpx.AsyncClient, admin_headers: Headers, seeded: dict[str, str]
) -> None:
    """The refusals above are the admin rule, not a broken route: an admin gets through
    (to a 2xx, or to the registry rule that stops deleting what is in use)."""
    for operation, (method, path, body) in ADMIN_ONLY.items():
        response = await client.request(
            method, path.format(**seeded), json=body, headers=admin_headers
        )
        assert response.status_code in (200, 201, 204, 409), (operation, response.text)


# --- the audit log: whole for admins, one's own networks' for a scoped key; nothing else
# --- publishes it ---------------------------------------------------------------------------

ACTOR = "metropolis-secret-actor"
REQUEST_ID = "audit-leak-probe-7f3a9c"


def _fill(path: str, ids: dict[str, str]) -> str:
    values = {
        "slug": "metropolis",
        "role": "president",
        "member_id": ids["organization" if path.startswith("/v1/organizations") else "city"],
        "membership_id": ids["membership"],
        "tenure_id": ids["tenure"],
        "declaration_id": ids["declaration"],
    }
    return re.sub(r"\{(\w+)\}", lambda match: values[match.group(1)], path)


def _texts(response: httpx.Response) -> list[str]:
    """The response's headers and body as text; a zip's members unpacked."""
    texts = [f"{name}: {value}" for name, value in response.headers.items()]
    if response.headers.get("content-type", "").startswith("application/zip"):
        with zipfile.ZipFile(io.BytesIO(response.content)) as archive:
            texts += [archive.read(name).decode() for name in archive.namelist()]
    else:
        texts.append(response.text)
    return texts


async def test_no_endpoint_but_the_admin_audit_log_reveals_who_wrote_what(
    client: httpx.AsyncClient, admin_headers: Headers, keys: Keys, db: Database
) -> None:
    """Writes by a metropolis key leave audit entries naming the actor (key name and id)
    and the request id. A citynet key, or no key, reading every GET route of the API (every
    list and resource of metropolis, the change feed, every export format, metrics)
    finds none of them; the audit log itself refuses the citynet key but for its own
    network's, which holds none of them."""
    await builders.network(client, admin_headers, "citynet")
    await builders.network(client, admin_headers, "metropolis")
    metro = bearer(await keys.create(ACTOR, networks=["metropolis"]))
    probe = {**metro, "X-Request-ID": REQUEST_ID}
    city = await builders.post(
        client, "/v1/cities", probe, name="Barcelona", country_code="ES", population=1
    )
    organization = await builders.post(client, "/v1/organizations", probe, name="UCLG")
    membership = await builders.membership(
        client, probe, city["id"], network="metropolis", start_date="2001"
    )
    await builders.membership(client, probe, organization["id"], network="metropolis")
    await builders.role(client, probe, "president", network="metropolis")
    tenure = await builders.tenure(
        client, probe, city["id"], role="president", network="metropolis", start_date="2020"
    )
    patched = await client.patch(
        "/v1/networks/metropolis", json={"description": "Global"}, headers=probe
    )
    assert patched.status_code == 200
    declaration = await builders.post(
        client,
        "/v1/networks/metropolis/declarations",
        probe,
        date="2025",
        total=163,
        source="An article (2025)",
    )
    key_id = str(await db.scalar("SELECT id FROM api_keys WHERE name = :name", name=ACTOR))
    assert (
        await db.scalar(
            "SELECT count(*) FROM audit_events"
            " WHERE actor_name = :name AND client_request_id = :rid",
            name=ACTOR,
            rid=REQUEST_ID,
        )
        == 8
    )
    # (Before-images are no secret: each is the state an earlier change published.)
    secrets = (ACTOR, key_id, REQUEST_ID)

    citynet = bearer(await keys.create("citynet-reader", networks=["citynet"]))
    ids = {
        "city": city["id"],
        "organization": organization["id"],
        "membership": membership["id"],
        "tenure": tenure["id"],
        "declaration": declaration["id"],
    }
    schema = (await client.get("/openapi.json")).json()
    checked: list[str] = []
    for template, operations in schema["paths"].items():
        if "get" not in operations or template == "/v1/audit":
            continue
        # The change stream never ends (its events are the feed's items, checked here as
        # /v1/changes; tests/changes/test_stream.py compares them); webhook subscriptions
        # are read with their owner's key and hold no audit data.
        if template == "/v1/changes/stream" or template.startswith("/v1/webhooks"):
            continue
        path = _fill(template, ids)
        variants = [path]
        if template.endswith("export"):
            variants = [f"{path}?format={fmt}" for fmt in ("json", "ndjson", "csv")]
        if template == "/v1/reconcile/preview":
            variants = [f"{path}?id={city['id']}"]
        if template == "/v1/members/lookup":
            variants = [f"{path}?id=Q8684&id=KRSEL"]
        for url in variants:
            for headers in ({}, citynet):
                response = await client.get(url, headers=headers)
                assert response.status_code == 200, (url, response.text[:500])
                for leak in secrets:
                    assert all(leak not in part for part in _texts(response)), (url, leak)
                checked.append(url)
    assert "/v1/changes" in checked
    assert "/v1/export?format=csv" in checked
    assert "/v1/networks/metropolis/memberships" in checked

    feed = (await client.get("/v1/changes", params={"limit": 1000})).json()["items"]
    assert feed, "the feed publishes the writes"
    assert all(
        not {"actor", "actor_name", "actor_key_id", "request_id", "before"} & set(item)
        for item in feed
    )

    for params in ({}, {"network": "metropolis"}, {"resource_id": "x"}):
        refused = await client.get("/v1/audit", params=params, headers=citynet)
        assert refused.status_code == 403, (params, refused.text)
        assert all(leak not in refused.text for leak in secrets)
    own = await client.get("/v1/audit", params={"network": "citynet"}, headers=citynet)
    assert own.status_code == 200, own.text
    assert all(leak not in own.text for leak in secrets)


# --- members shared between networks; keys bound to networks, not slugs -------------------


async def test_a_scoped_key_may_not_rewrite_a_member_of_another_network(
    client: httpx.AsyncClient, admin_headers: Headers, keys: Keys, db: Database
) -> None:
    """A CITYNET key renaming New York City (in Metropolis only), moving it and clearing its
    Wikidata id, through PATCH on both member paths and with every trick of the body: 403
    naming Metropolis, nothing written. Metropolis's audit view shows an admin's change."""
    await builders.network(client, admin_headers, "citynet")
    await builders.network(client, admin_headers, "metropolis")
    nyc = await builders.city(client, admin_headers, "New York City", "US", wikidata="Q60")
    await builders.membership(client, admin_headers, nyc["id"], network="metropolis")
    citynet = bearer(await keys.create("citynet-staff", networks=["citynet"]))
    before = await dump_database(db)
    for path, body in (
        (f"/v1/cities/{nyc['id']}", {"name": "Gotham"}),
        (f"/v1/cities/{nyc['id']}", {"country_code": "CA", "wikidata": None}),
        (f"/v1/cities/{nyc['id'].upper()}", {"alt_names": []}),
    ):
        response = await client.patch(path, json=body, headers=citynet)
        assert response.status_code == 403, (path, response.text)
        assert response.json()["type"] == "urn:netregistry:problem:forbidden"
        assert "also in metropolis" in response.json()["detail"]
    assert await dump_database(db) == before

    changed = await client.patch(
        f"/v1/cities/{nyc['id']}", json={"name": "New York"}, headers=admin_headers
    )
    assert changed.status_code == 200, changed.text
    metropolis = bearer(await keys.create("metropolis-staff", networks=["metropolis"]))
    audit = await client.get(
        "/v1/audit", params={"network": "metropolis", "resource_type": "city"}, headers=metropolis
    )
    assert audit.status_code == 200, audit.text
    assert [e["action"] for e in audit.json()["items"]] == ["update"]


async def test_a_key_for_a_deleted_network_gains_nothing_from_its_slug(
    client: httpx.AsyncClient, admin_headers: Headers, keys: Keys, db: Database
) -> None:
    """A key of a deleted network writes nothing, and reads no audit entry, in a network
    later created with the same slug."""
    await builders.network(client, admin_headers, "c40")
    orphan = bearer(await keys.create("c40-staff", networks=["c40"]))
    deleted = await client.delete("/v1/networks/c40", headers=admin_headers)
    assert deleted.status_code == 204, deleted.text
    await builders.network(client, admin_headers, "c40")
    before = await dump_database(db)
    for method, path, body in (
        ("PATCH", "/v1/networks/c40", {"description": "hijacked"}),
        ("POST", "/v1/networks/c40/roles", {"slug": "chair", "name": "Chair"}),
        ("GET", "/v1/audit?network=c40", None),
    ):
        response = await client.request(method, path, json=body, headers=orphan)
        assert response.status_code == 403, (path, response.text)
    assert await dump_database(db) == before


# --- errors and logs reveal neither tokens nor stack traces ------------------------------


@contextmanager
def log_output() -> Iterator[io.StringIO]:
    """The application's log lines, rendered exactly as it writes them, while inside."""
    root = logging.getLogger()
    [formatter] = [
        handler.formatter
        for handler in root.handlers
        if isinstance(handler.formatter, structlog.stdlib.ProcessorFormatter)
    ]
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(formatter)
    # The test client's own loggers (httpx, httpcore) log whole URLs; they are not the app.
    handler.addFilter(lambda record: not record.name.startswith(("httpx", "httpcore")))
    # The request lines have a logger and a renderer of their own (kit/logging.py).
    access = logging.getLogger(ACCESS_LOGGER)
    access_handler = logging.StreamHandler(stream)
    access_handler.setFormatter(access.handlers[0].formatter)
    root.addHandler(handler)
    access.addHandler(access_handler)
    try:
        yield stream
    finally:
        flush_access_log()  # written once per turn of the event loop
        root.removeHandler(handler)
        access.removeHandler(access_handler)


def _assert_bare_500(response: httpx.Response, token: str | None = None) -> None:
    assert response.status_code == 500, response.text
    assert response.headers["content-type"] == PROBLEM
    body = response.json()
    assert set(body) == PROBLEM_MEMBERS
    assert body["type"] == "urn:netregistry:problem:internal-error"
    assert body["request_id"] == response.headers["x-request-id"]
    everything = response.text + "".join(f"{k}: {v}" for k, v in response.headers.items())
    for leak in ("Traceback", "Error", "File ", ".py", "line ", "SELECT", "secret internals"):
        assert leak not in everything, leak
    if token is not None:
        assert token.removeprefix("nr_") not in everything


async def test_a_failing_write_is_a_bare_500_and_logs_the_traceback_but_not_the_key(
    client: httpx.AsyncClient,
    keys: Keys,
    db: Database,
    seeded: dict[str, str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    token = await keys.create("staff-500", networks=["citynet"])

    async def explode(*args: object, **kwargs: object) -> None:
        raise RuntimeError("secret internals of update")

    monkeypatch.setattr(NetworkService, "update", explode)
    before = await dump_database(db)
    with log_output() as logs:
        response = await client.patch(
            "/v1/networks/citynet", json={"scope": "Asia"}, headers=bearer(token)
        )
    _assert_bare_500(response, token)
    written = logs.getvalue()
    assert "Traceback" in written, "the traceback goes to the log"
    assert "secret internals of update" in written
    assert response.headers["x-request-id"] in written
    assert token.removeprefix("nr_") not in written
    assert await dump_database(db) == before


async def test_a_500_is_readable_cross_origin(
    client: httpx.AsyncClient, seeded: dict[str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    async def explode(*args: object, **kwargs: object) -> None:
        raise RuntimeError("secret internals of get")

    monkeypatch.setattr(NetworkService, "get", explode)
    with log_output():
        response = await client.get(
            "/v1/networks/citynet", headers={"Origin": "https://partner.example"}
        )
    _assert_bare_500(response)
    assert response.headers["access-control-allow-origin"] == "*"


async def test_a_database_fault_is_a_bare_500_without_the_sql(
    client: httpx.AsyncClient,
    keys: Keys,
    seeded: dict[str, str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A fault of ours in SQL (not the client's input) is a 500 that names no table, no
    column and no statement."""
    token = await keys.create("staff-sql", networks=["citynet"])

    async def broken(self: Resolver, slug: str, **kwargs: object) -> None:
        await self.session.execute(text("SELECT secret_column_xyz FROM networks"))

    monkeypatch.setattr(Resolver, "find_network", broken)
    with log_output() as logs:
        for method in ("GET", "PATCH"):
            response = await client.request(
                method,
                "/v1/networks/citynet",
                json={"scope": "Asia"} if method == "PATCH" else None,
                headers=bearer(token),
            )
            _assert_bare_500(response, token)
            assert "secret_column_xyz" not in response.text
    written = logs.getvalue()
    assert "secret_column_xyz" in written
    assert token.removeprefix("nr_") not in written


async def test_no_log_line_holds_the_key_of_a_failing_request(
    client: httpx.AsyncClient, keys: Keys, seeded: dict[str, str]
) -> None:
    """401 (unknown and revoked keys), 403, 404, 409, 412, 413, 415 and 422, each sent
    with a bearer token: the log lines of all of them hold no token."""
    scoped = await keys.create("metro-only", networks=["metropolis"])
    admin = await keys.create("admin-log", admin=True)
    revoked = await keys.create("revoked-log", admin=True)
    await keys.revoke(revoked)
    unknown = "nr_" + uuid.uuid4().hex + uuid.uuid4().hex
    requests: list[tuple[str, str, str, dict[str, Any]]] = [
        (unknown, "PATCH", "/v1/networks/citynet", {"json": {"scope": "A"}}),
        (revoked, "PATCH", "/v1/networks/citynet", {"json": {"scope": "A"}}),
        (unknown, "GET", "/v1/audit", {}),
        (scoped, "PATCH", "/v1/networks/citynet", {"json": {"scope": "A"}}),
        (scoped, "GET", "/v1/audit", {}),
        (admin, "DELETE", "/v1/networks/nowhere", {}),
        (admin, "POST", "/v1/networks", {"json": {"slug": "citynet", "name": "Again"}}),
        (admin, "DELETE", "/v1/networks/citynet", {"headers": {"If-Match": '"stale"'}}),
        (admin, "POST", "/v1/cities", {"content": b"x" * (2 * 1024 * 1024)}),
        (
            admin,
            "POST",
            "/v1/cities",
            {"content": b"{}", "headers": {"Content-Type": "text/plain"}},
        ),
        (admin, "POST", "/v1/cities", {"json": {"name": admin, "country_code": "XX"}}),
        (admin, "GET", f"/v1/networks/citynet/members?q={admin}&limit=0", {}),
    ]
    statuses = []
    with log_output() as logs:
        for token, method, path, extra in requests:
            headers = {**bearer(token), **extra.pop("headers", {})}
            if "content" in extra:
                headers.setdefault("Content-Type", "application/json")
            response = await client.request(method, path, headers=headers, **extra)
            statuses.append(response.status_code)
            assert token.removeprefix("nr_") not in response.text, (method, path)
    assert statuses == [401, 401, 401, 403, 403, 404, 409, 412, 413, 415, 422, 422]
    written = logs.getvalue()
    assert written.count('"event": "request"') == len(requests)
    for token in (unknown, revoked, scoped, admin):
        assert token.removeprefix("nr_") not in written, token[:6]
    assert "Bearer" not in written


async def test_each_request_is_one_json_log_line_with_its_own_id_and_time(
    client: httpx.AsyncClient, seeded: dict[str, str]
) -> None:
    """The request lines are JSON with a structlog line's keys: the route's template, the
    status, the request id the response names (a fresh one each) and an RFC 3339 UTC time."""
    before = datetime.now(UTC)
    with log_output() as logs:
        responses = [await client.get("/v1/networks/citynet") for _ in range(300)]
    after = datetime.now(UTC)
    lines = [json.loads(line) for line in logs.getvalue().splitlines() if '"request"' in line]
    assert len(lines) == len(responses)
    assert {line["route"] for line in lines} == {"/v1/networks/{slug}"}
    assert {(line["status"], line["level"], line["logger"]) for line in lines} == {
        (200, "info", ACCESS_LOGGER)
    }
    ids = [line["request_id"] for line in lines]
    assert ids == [response.headers["x-request-id"] for response in responses]
    assert len(set(ids)) == len(ids)
    assert all(re.fullmatch("[0-9a-f]{32}", request_id) for request_id in ids)
    times = [line["timestamp"] for line in lines]
    assert all(re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z", t) for t in times)
    parsed = [datetime.fromisoformat(t) for t in times]
    assert parsed == sorted(parsed)
    assert before - timedelta(seconds=1) <= parsed[0]
    assert parsed[-1] <= after


# --- X-Content-Type-Options: nosniff on every kind of response --------------------------


async def test_every_kind_of_response_says_nosniff(
    client: httpx.AsyncClient,
    admin_headers: Headers,
    seeded: dict[str, str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    etag = (await client.get("/v1/networks/citynet")).headers["etag"]
    json_write = {**admin_headers, "Content-Type": "application/json"}
    responses: dict[str, httpx.Response] = {
        "json list": await client.get("/v1/networks"),
        "json resource": await client.get("/v1/networks/citynet"),
        "304": await client.get("/v1/networks/citynet", headers={"If-None-Match": etag}),
        "HEAD": await client.head("/v1/networks/citynet"),
        "HEAD 404": await client.head("/v1/networks/nowhere"),
        "404 problem": await client.get("/v1/networks/nowhere"),
        "404 unknown path": await client.get("/nothing-here"),
        "405": await client.put("/v1/networks/citynet", json={}),
        "422": await client.get("/v1/networks?limit=0"),
        "400 cursor": await client.get("/v1/networks?cursor=forged"),
        "401": await client.post("/v1/cities", json={"name": "X", "country_code": "FR"}),
        "413": await client.post(
            "/v1/cities", content=b"x" * (2 * 1024 * 1024), headers=json_write
        ),
        "415": await client.post(
            "/v1/cities", content=b"{}", headers={**admin_headers, "Content-Type": "text/plain"}
        ),
        "201": await client.post(
            "/v1/organizations", json={"name": "UN-Habitat"}, headers=admin_headers
        ),
        "204": await client.delete(
            f"/v1/networks/citynet/tenures/{seeded['tenure']}", headers=admin_headers
        ),
        "export json": await client.get("/v1/networks/citynet/export?format=json"),
        "export ndjson": await client.get("/v1/export?format=ndjson"),
        "export csv": await client.get("/v1/export?format=csv"),
        "healthz": await client.get("/healthz"),
        "readyz": await client.get("/readyz"),
        "metrics": await client.get("/metrics"),
        "openapi": await client.get("/openapi.json"),
    }

    async def explode(*args: object, **kwargs: object) -> None:
        raise RuntimeError("boom")

    monkeypatch.setattr(NetworkService, "get", explode)
    with structlog.testing.capture_logs():
        responses["500"] = await client.get("/v1/networks/citynet")

    expected = {
        "304": 304,
        "HEAD 404": 404,
        "404 problem": 404,
        "404 unknown path": 404,
        "405": 405,
        "422": 422,
        "400 cursor": 400,
        "401": 401,
        "413": 413,
        "415": 415,
        "201": 201,
        "204": 204,
        "500": 500,
    }
    assert {name: r.status_code for name, r in responses.items()} == {
        name: expected.get(name, 200) for name in responses
    }
    missing = [
        name
        for name, response in responses.items()
        if response.headers.get("x-content-type-options") != "nosniff"
    ]
    assert missing == []


@pytest.mark.parametrize("method", ["GET", "DELETE"])
async def test_cors_preflight_answers_say_nosniff_too(
    client: httpx.AsyncClient, method: str
) -> None:
    """Starlette's CORS middleware answers preflights itself, with a text/plain body
    ("OK", or "Disallowed CORS method"): they carry the security headers all the same."""
    response = await client.options(
        "/v1/networks",
        headers={"Origin": "https://example.org", "Access-Control-Request-Method": method},
    )
    assert response.headers.get("x-content-type-options") == "nosniff"
    assert "x-request-id" in response.headers
