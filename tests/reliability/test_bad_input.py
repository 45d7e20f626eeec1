"""Hostile and broken requests, across every endpoint: each is a specific 4xx problem,
and none of them changes a row of the database or the audit log.

One table drives the test. Each case names a request (method, path, body, content type,
key) and the status and problem ``type`` it must get. Paths and bodies may name the
seeded registry's records with markers (``<city>``, ``<membership>``, ...), filled in
per test from :class:`Registry`.
"""

# The table keeps one case per line, however long: it is read down, not across.
# ruff: noqa: E501

from __future__ import annotations

import base64
import json
import re
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import httpx
import pytest
import structlog.testing
from fastapi import FastAPI
from sqlalchemy.engine import URL

from tests.conftest import Database, Keys, fresh_database, running, test_settings
from tests.registry import builders

OPENAPI = Path(__file__).parents[2] / "openapi" / "openapi.json"
PROBLEM = "application/problem+json"
PREFIX = "urn:netregistry:problem:"
ABSENT = "00000000-0000-4000-8000-000000000000"
SQL_OR = "' OR 1=1 --"
SQL_DROP = '"; DROP TABLE members; --'

Auth = Literal["admin", "scoped", "none", "wrong"]


@dataclass(frozen=True)
class Case:
    """One hostile request and the problem it must get.

    ``body`` is sent as JSON, or as is when it is ``bytes`` (as ``content_type``, by
    default JSON; ``None`` sends no Content-Type at all)."""

    id: str
    method: str
    path: str
    status: int
    problem: str
    body: Any = None
    content_type: str | None = "application/json"
    auth: Auth = "admin"
    headers: dict[str, str] = field(default_factory=dict)


def get(id: str, path: str, status: int, problem: str, **kwargs: Any) -> Case:
    return Case(id, "GET", path, status, problem, **kwargs)


def post(id: str, path: str, status: int, problem: str, body: Any, **kwargs: Any) -> Case:
    return Case(id, "POST", path, status, problem, body, **kwargs)


def patch(id: str, path: str, status: int, problem: str, body: Any, **kwargs: Any) -> Case:
    return Case(id, "PATCH", path, status, problem, body, **kwargs)


def delete(id: str, path: str, status: int, problem: str, **kwargs: Any) -> Case:
    return Case(id, "DELETE", path, status, problem, **kwargs)


def _q(value: str) -> str:
    """``value`` percent-encoded for a query string or a path segment."""
    return str(httpx.QueryParams({"v": value}))[2:]


def city(**fields: Any) -> dict[str, Any]:
    return {"name": "Lyon", "country_code": "FR", **fields}


def joins(**fields: Any) -> dict[str, Any]:
    """A membership of the (member-less) organization, with ``fields``."""
    return {"member_id": "<org>", "category": "full", **fields}


def holds(member: str = "<city2>", **fields: Any) -> dict[str, Any]:
    """A tenure of the chair, with ``fields``."""
    return {"role": "chair", "member_id": member, **fields}


def network(**fields: Any) -> dict[str, Any]:
    return {"slug": "c40", "name": "C40", **fields}


def role(**fields: Any) -> dict[str, Any]:
    return {"slug": "vice", "name": "Vice", **fields}


def declares(**fields: Any) -> dict[str, Any]:
    """A declaration of CITYNET's figures, with ``fields`` (None: left out)."""
    body = {"date": "2013", "total": 131, "source": "An article (2013)", **fields}
    return {name: value for name, value in body.items() if value is not None}


def csv(*rows: str) -> bytes:
    return CSV_HEADER + "".join(f"{row}\r\n" for row in rows).encode()


V = "validation-failed"
NF = "not-found"
BAD = "bad-request"
CURSOR = "invalid-cursor"
LARGE = "payload-too-large"
MEDIA = "unsupported-media-type"
CSV = "text/csv"
MEMBERSHIPS = "/v1/networks/citynet/memberships"
TENURES = "/v1/networks/citynet/tenures"
ROLES = "/v1/networks/citynet/roles"
HANDOVER = f"{ROLES}/chair/handover"
MEMBERS = "/v1/networks/citynet/members"
DECLARATIONS = "/v1/networks/citynet/declarations"
IMPORT = "/v1/networks/citynet/memberships:import"
CSV_HEADER = b"name,country_code,category,start_date,wikidata\r\n"
TEN_MB = b'{"name": "' + b"x" * (10 * 1024 * 1024) + b'", "country_code": "FR"}'
DEEP_JSON = b"[" * 100_000 + b"]" * 100_000
FORGED = base64.urlsafe_b64encode(b'["zzz"].' + b"\0" * 16).decode()
PREFLIGHT = {"Origin": "https://example.org", "Access-Control-Request-Method": "DELETE"}

# fmt: off
CASES: list[Case] = [
    # --- malformed and truncated JSON, wrong JSON shapes ---------------------------------
    post("json-truncated", "/v1/cities", 422, V, b'{"name": "Lyon", "coun'),
    post("json-trailing-garbage", "/v1/cities", 422, V, b'{"name": "Lyon"} }'),
    post("json-single-quotes", "/v1/networks", 422, V, b"{'slug': 'c40'}"),
    post("json-empty-body", "/v1/cities", 422, V, b""),
    post("json-array-not-object", "/v1/cities", 422, V, [city()]),
    post("json-null-body", MEMBERSHIPS, 422, V, b"null"),
    post("json-nan", "/v1/cities", 422, V, b'{"name":"Lyon","country_code":"FR","latitude":NaN}'),
    post("json-deeply-nested", "/v1/cities", 422, V, DEEP_JSON),
    post("json-bom-then-garbage", ROLES, 422, V, b"\xef\xbb\xbf{,}"),
    # --- invalid UTF-8 and NUL bytes -----------------------------------------------------
    post("utf8-invalid-in-string", "/v1/cities", 422, V, b'{"name": "L\xff\xfe", "country_code": "FR"}'),
    post("utf8-lone-surrogate-escape", "/v1/cities", 422, V, b'{"name": "\\ud800", "country_code": "FR"}'),
    post("nul-escaped-in-name", "/v1/cities", 422, V, city(name="Ly\x00on")),
    post("nul-raw-byte-in-json", "/v1/organizations", 422, V, b'{"name": "IC\x00LEI"}'),
    post("nul-in-alt-names", "/v1/cities", 422, V, city(alt_names=["ok", "b\x00d"])),
    patch("nul-in-membership-note", f"{MEMBERSHIPS}/<membership>", 422, V, {"note": "\x00"}),
    get("nul-in-network-slug", "/v1/networks/city%00net", 422, V),
    get("nul-in-city-search", "/v1/cities?q=a%00b", 422, V),
    get("nul-in-members-search", f"{MEMBERS}?q=%00", 422, V),
    get("nul-in-audit-network", "/v1/audit?network=%00", 422, V),
    # --- wrong types ---------------------------------------------------------------------
    post("type-name-is-number", "/v1/cities", 422, V, city(name=123)),
    post("type-categories-is-string", "/v1/networks", 422, V, network(membership_categories="full")),
    post("type-max-holders-is-text", ROLES, 422, V, role(max_holders="one")),
    post("type-max-holders-negative", ROLES, 422, V, role(max_holders=-1)),
    post("type-population-huge", "/v1/cities", 422, V, city(population=10**30)),
    post("type-latitude-out-of-range", "/v1/cities", 422, V, city(latitude=91)),
    post("type-member-id-not-uuid", MEMBERSHIPS, 422, V, joins(member_id="seoul")),
    post("type-country-not-iso", "/v1/cities", 422, V, city(country_code="XX")),
    post("type-unknown-field", "/v1/organizations", 422, V, {"name": "X", "is_admin": True}),
    patch("type-patch-null-name", "/v1/cities/<city>", 422, V, {"name": None}),
    # --- strict types: a number is a JSON number, a day is YYYY-MM-DD text ------------------
    post("strict-population-true", "/v1/cities", 422, V, city(population=True)),
    post("strict-population-text", "/v1/cities", 422, V, city(population="12")),
    post("strict-geonames-text", "/v1/cities", 422, V, city(geonames="1835848")),
    patch("strict-latitude-text", "/v1/cities/<city>", 422, V, {"latitude": "37.5"}),
    post("strict-max-holders-true", ROLES, 422, V, role(max_holders=True)),
    post("strict-handover-date-seconds", HANDOVER, 422, V, {"member_id": "<city2>", "date": 1699920000}),
    post("strict-handover-date-seconds-text", HANDOVER, 422, V, {"member_id": "<city2>", "date": "1699920000"}),
    post("strict-country-dotless-i", "/v1/cities", 422, V, city(country_code="\u0131n")),
    post("strict-json-duplicate-key", "/v1/cities", 422, V, b'{"name": "Lyon", "country_code": "FR", "name": "Paris"}'),
    patch("strict-json-duplicate-key-patch", "/v1/networks/citynet", 422, V, b'{"name": "A", "scope": "x", "name": "B"}'),
    post("strict-json-charset-latin1", "/v1/cities", 415, MEDIA, json.dumps(city()).encode(), content_type="application/json; charset=latin-1"),
    post("strict-json-charset-utf16", MEMBERSHIPS, 415, MEDIA, json.dumps(joins()).encode(), content_type="application/json; charset=utf-16"),
    # --- text hygiene: visible, one line, no direction or tag characters ---------------------
    post("text-name-zero-width-joiner-only", "/v1/cities", 422, V, city(name="\u200d")),
    post("text-name-bidi-override", "/v1/organizations", 422, V, {"name": "ICLEI\u202e"}),
    post("text-network-name-bidi-isolate", "/v1/networks", 422, V, network(name="\u2067C40\u2069")),
    post("text-name-tag-characters", "/v1/cities", 422, V, city(name="Lyon\U000e0041")),
    post("text-name-line-feed", "/v1/cities", 422, V, city(name="Ly\non")),
    patch("text-name-carriage-return", "/v1/cities/<city>", 422, V, {"name": "Seoul\r"}),
    post("text-role-name-bell", ROLES, 422, V, role(name="Vice\x07")),
    post("text-representative-line-feed", HANDOVER, 422, V, {"member_id": "<city2>", "date": "2020-01-01", "representative": "Mayor\nof Yokohama"}),
    post("text-alt-name-invisible", "/v1/cities", 422, V, city(alt_names=["\u2060\u200b"])),
    patch("text-note-bidi-override", f"{TENURES}/<tenure>", 422, V, {"note": "since \u202e2013"}),
    # --- country codes: ISO 3166-1 alpha-2 and XK, else what to write ------------------------
    post("country-uk-not-gb", "/v1/cities", 422, V, city(country_code="UK")),
    post("country-withdrawn-yu", "/v1/organizations", 422, V, {"name": "X", "country_code": "YU"}),
    patch("country-mixed-case", "/v1/cities/<city>", 422, V, {"country_code": "Kr"}),
    get("country-filter-uk", "/v1/cities?country=UK", 422, V),
    get("country-members-filter-uk", f"{MEMBERS}?country=UK", 422, V),
    get("country-organizations-filter-unassigned", "/v1/organizations?country=ZZ", 422, V),
    post("country-csv-uk", IMPORT, 422, V, csv("London,UK,full,,"), content_type=CSV),
    # --- huge strings and arrays, 10 MB bodies -------------------------------------------
    post("huge-name-string", "/v1/cities", 422, V, city(name="x" * 500_000)),
    post("huge-alt-names-array", "/v1/cities", 422, V, city(alt_names=["a"] * 100_000)),
    post("huge-categories-array", "/v1/networks", 422, V, network(membership_categories=["c"] * 50_000)),
    post("huge-10mb-body", "/v1/cities", 413, LARGE, TEN_MB),
    patch("huge-10mb-patch", "/v1/networks/citynet", 413, LARGE, TEN_MB),
    post("huge-10mb-csv-import", IMPORT, 413, LARGE, csv(*["Lyon,FR,full,,"] * 700_000), content_type=CSV),
    get("huge-query-string", "/v1/cities?q=" + "x" * 10_000, 422, V),
    # --- dates -----------------------------------------------------------------------------
    post("date-0000-00-00-start", MEMBERSHIPS, 422, V, joins(start_date="0000-00-00")),
    post("date-2020-02-30-start", MEMBERSHIPS, 422, V, joins(start_date="2020-02-30")),
    post("date-month-13", TENURES, 422, V, holds(start_date="2020-13")),
    post("date-timestamp-not-date", MEMBERSHIPS, 422, V, joins(start_date="2020-01-01T00:00:00Z")),
    post("date-as-number", MEMBERSHIPS, 422, V, joins(start_date=2020)),
    post("date-end-before-start", MEMBERSHIPS, 422, V, joins(start_date="2020-05-01", end_date="2019-01-01")),
    post("date-end-equals-start", TENURES, 422, V, holds(start_date="2001-01-01", end_date="2001-01-01")),
    post("date-partial-end-before-partial-start", MEMBERSHIPS, 422, V, joins(start_date="2016-12", end_date="2016-12")),
    patch("date-patch-end-before-start", f"{MEMBERSHIPS}/<membership>", 422, V, {"end_date": "1990-01-01"}),
    patch("date-patch-end-0000-00-00", f"{TENURES}/<tenure>", 422, V, {"end_date": "0000-00-00"}),
    post("date-handover-partial", HANDOVER, 422, V, {"member_id": "<city2>", "date": "2014"}),
    post("date-handover-9999-13-01", HANDOVER, 422, V, {"member_id": "<city2>", "date": "9999-13-01"}),
    # --- as_of out of range ----------------------------------------------------------------
    get("as-of-0000-00-00", f"{MEMBERS}?as_of=0000-00-00", 422, V),
    get("as-of-year-zero", "/v1/networks/citynet/stats?as_of=0000-01-01", 422, V),
    get("as-of-five-digit-year", f"{ROLES}/chair/holders?as_of=10000-01-01", 422, V),
    get("as-of-2020-02-30", "/v1/cities?network=citynet&as_of=2020-02-30", 422, V),
    get("as-of-word", "/v1/organizations?as_of=today", 422, V),
    get("as-of-timestamp", "/v1/networks/citynet/export?as_of=2020-01-01T00:00:00", 422, V),
    get("as-of-negative-year", "/v1/export?as_of=-2020-01-01", 422, V),
    # --- unknown slugs and ids -----------------------------------------------------------
    get("unknown-network", "/v1/networks/no-such-net", 404, NF),
    get("unknown-network-members", "/v1/networks/no-such-net/members", 404, NF),
    get("unknown-network-stats", "/v1/networks/no-such-net/stats", 404, NF),
    get("unknown-network-export", "/v1/networks/no-such-net/export?format=csv", 404, NF),
    post("unknown-network-membership", "/v1/networks/no-such-net/memberships", 404, NF, joins()),
    get("unknown-role", f"{ROLES}/treasurer", 404, NF),
    delete("unknown-role-delete", f"{ROLES}/treasurer", 404, NF),
    get("unknown-role-holders", f"{ROLES}/treasurer/holders", 404, NF),
    post("unknown-role-handover", f"{ROLES}/treasurer/handover", 404, NF, {"member_id": "<city2>", "date": "2020-01-01"}),
    get("unknown-city", f"/v1/cities/{ABSENT}", 404, NF),
    get("city-id-as-organization", "/v1/organizations/<city>", 404, NF),
    get("org-id-as-city", "/v1/cities/<org>", 404, NF),
    patch("unknown-organization", f"/v1/organizations/{ABSENT}", 404, NF, {"name": "X"}),
    get("unknown-member-history", f"/v1/members/{ABSENT}/memberships", 404, NF),
    get("unknown-membership", f"{MEMBERSHIPS}/{ABSENT}", 404, NF),
    delete("unknown-tenure", f"{TENURES}/{ABSENT}", 404, NF),
    get("membership-of-another-network", "/v1/networks/metropolis/memberships/<membership>", 404, NF),
    get("unknown-path", "/v1/keys", 404, NF),
    # A record named in a body (not the URL) that does not exist: the body is invalid.
    post("unknown-role-in-tenure", TENURES, 422, V, holds(role="treasurer")),
    post("unknown-member-in-membership", MEMBERSHIPS, 422, V, joins(member_id=ABSENT)),
    post("unknown-member-in-handover", HANDOVER, 422, V, {"member_id": ABSENT, "date": "2020-01-01"}),
    # --- non-UUID ids ----------------------------------------------------------------------
    get("non-uuid-city", "/v1/cities/seoul", 422, V),
    get("non-uuid-membership", f"{MEMBERSHIPS}/123", 422, V),
    get("non-uuid-tenure-get", f"{TENURES}/{_q(SQL_DROP)}", 422, V),
    delete("non-uuid-tenure", f"{TENURES}/{_q(SQL_OR)}", 422, V),
    get("non-uuid-member-history", "/v1/members/not-a-uuid/memberships", 422, V),
    get("non-uuid-member-id-filter", f"{MEMBERSHIPS}?member_id=abc", 422, V),
    get("non-uuid-tenure-member-filter", f"{TENURES}?member_id={_q(SQL_DROP)}", 422, V),
    # --- SQL-looking strings in filters and slugs ----------------------------------------
    get("sql-in-network-slug", f"/v1/networks/{_q(SQL_DROP)}", 404, NF),
    get("sql-in-members-slug", f"/v1/networks/{_q(SQL_OR)}/members", 404, NF),
    get("sql-in-role-slug", f"{ROLES}/{_q(SQL_OR)}/holders", 404, NF),
    get("sql-in-members-country", f"{MEMBERS}?country={_q(SQL_OR)}", 422, V),
    get("sql-in-members-kind", f"{MEMBERS}?kind={_q(SQL_DROP)}", 422, V),
    get("sql-in-cities-network", f"/v1/cities?network={_q(SQL_OR)}", 404, NF),
    get("sql-in-cities-country", f"/v1/cities?country={_q(SQL_OR)}", 422, V),
    get("sql-in-cities-wikidata", f"/v1/cities?wikidata={_q(SQL_DROP)}", 422, V),
    get("sql-in-orgs-wikidata", f"/v1/organizations?wikidata={_q(SQL_OR)}", 422, V),
    get("sql-in-changes-after", f"/v1/changes?after={_q(SQL_OR)}", 422, V),
    get("sql-in-export-format", f"/v1/export?format={_q(SQL_DROP)}", 422, V),
    get("sql-in-audit-since", f"/v1/audit?since={_q(SQL_OR)}", 422, V),
    post("sql-in-network-slug-create", "/v1/networks", 422, V, network(slug=SQL_DROP)),
    post("sql-in-role-slug-create", ROLES, 422, V, role(slug=SQL_OR)),
    post("sql-in-membership-category", MEMBERSHIPS, 422, V, joins(category=SQL_DROP)),
    # --- values in the wrong form: refused in words, never by their pattern -------------------
    post("words-category-full-member", MEMBERSHIPS, 422, V, joins(category="Full member")),
    patch("words-category-leading-hyphen", f"{MEMBERSHIPS}/<membership>", 422, V, {"category": "-full"}),
    post("words-network-categories-capitals", "/v1/networks", 422, V, network(membership_categories=["Full", "associate"])),
    post("words-network-categories-repeated", "/v1/networks", 422, V, network(membership_categories=["full", "full"])),
    post("words-role-slug-space", ROLES, 422, V, role(slug="vice chair")),
    post("words-eligible-category-capitals", ROLES, 422, V, role(eligible_categories=["Full"])),
    post("words-wikidata-lowercase-body", "/v1/cities", 422, V, city(wikidata="q8684")),
    post("words-csv-wikidata-and-date", IMPORT, 422, V, csv("Lyon,FR,full,2020-13,X1"), content_type=CSV),
    # --- forged and replayed cursors -------------------------------------------------------
    get("cursor-random-base64", "/v1/cities?cursor=" + "eHh4" * 14, 400, CURSOR),
    get("cursor-json-payload-unsigned", f"/v1/networks?cursor={FORGED}", 400, CURSOR),
    get("cursor-tampered-signature", "/v1/cities?limit=1&cursor=<tampered_cursor>", 400, CURSOR),
    get("cursor-not-base64", f"{MEMBERSHIPS}?cursor=%25%25%25", 422, V),
    get("cursor-too-long", "/v1/cities?cursor=" + "A" * 5000, 422, V),
    get("cursor-replayed-on-organizations", "/v1/organizations?cursor=<cities_cursor>", 400, CURSOR),
    get("cursor-replayed-with-other-filter", "/v1/cities?country=JP&cursor=<cities_cursor>", 400, CURSOR),
    get("cursor-replayed-on-memberships", f"{MEMBERSHIPS}?cursor=<cities_cursor>", 400, CURSOR),
    get("cursor-replayed-on-roles", f"{ROLES}?cursor=<memberships_cursor>", 400, CURSOR),
    get("cursor-replayed-on-audit", "/v1/audit?cursor=<memberships_cursor>", 400, CURSOR),
    get("cursor-replayed-on-other-network", "/v1/networks/metropolis/memberships?cursor=<memberships_cursor>", 400, CURSOR),
    get("changes-after-negative", "/v1/changes?after=-1", 422, V),
    get("changes-after-beyond-bigint", "/v1/changes?after=9999999999999999999", 400, CURSOR),
    get("changes-after-too-long", "/v1/changes?after=99999999999999999999", 422, V),
    get("changes-after-unicode-digits", f"/v1/changes?after={_q('١٢')}", 422, V),
    # --- limits ----------------------------------------------------------------------------
    get("limit-negative", "/v1/networks?limit=-1", 422, V),
    get("limit-zero", "/v1/cities?limit=0", 422, V),
    get("limit-huge", f"{MEMBERSHIPS}?limit=100000", 422, V),
    get("limit-text", f"{MEMBERS}?limit=abc", 422, V),
    get("limit-float", f"{TENURES}?limit=1.5", 422, V),
    get("limit-beyond-int64", "/v1/changes?limit=99999999999999999999999", 422, V),
    get("limit-zero-on-changes", "/v1/changes?limit=0", 422, V),
    # --- duplicated query parameters: ambiguous, so refused (naming the parameter) ---------
    get("duplicate-limit", "/v1/networks?limit=5&limit=6", 422, V),
    get("duplicate-as-of", f"{MEMBERS}?as_of=2020-01-01&as_of=2021-01-01", 422, V),
    get("duplicate-format", "/v1/export?format=json&format=csv", 422, V),
    # --- unknown query parameters: refused, naming the closest known one, never ignored -------
    get("query-misspelt-filter", f"{MEMBERS}?contry=KR", 422, V),
    get("query-misspelt-as-of", f"{MEMBERS}?asof=2010-01-01", 422, V),
    get("query-misspelt-beside-known-ones", f"{MEMBERS}?as_of=2010-01-01&categry=full&limit=5", 422, V),
    get("query-without-a-name", f"{MEMBERS}?=KR", 422, V),
    get("query-sql-as-a-name", f"{MEMBERS}?{_q(SQL_OR)}=1", 422, V),
    get("query-unknown-on-city-list", "/v1/cities?sort=name", 422, V),
    get("query-unknown-on-an-item", "/v1/networks/citynet?fields=name", 422, V),
    get("query-unknown-on-holders", f"{ROLES}/chair/holders?date=2014-01-01", 422, V),
    get("query-misspelt-export-format", "/v1/export?formt=csv", 422, V),
    get("query-unknown-on-changes", "/v1/changes?since=0", 422, V),
    get("changes-filter-unknown-resource-type", "/v1/changes?resource_type=memberships", 422, V),
    get("changes-filter-network-not-a-slug", f"/v1/changes?network={_q(SQL_OR)}", 422, V),
    get("changes-stream-after-negative", "/v1/changes/stream?after=-1", 422, V),
    get("changes-stream-last-event-id-not-a-cursor", "/v1/changes/stream", 422, V, headers={"Last-Event-ID": "x"}),
    get("query-misspelt-on-changes-stream", "/v1/changes/stream?netwrok=citynet", 422, V),
    get("webhooks-without-key", "/v1/webhooks", 401, "unauthorized", auth="none"),
    post("webhook-private-target", "/v1/webhooks", 422, V, {"url": "https://10.0.0.1/hook"}),
    post("webhook-metadata-target", "/v1/webhooks", 422, V, {"url": "https://169.254.169.254/"}),
    post("webhook-http-public-target", "/v1/webhooks", 422, V, {"url": "http://93.184.215.14/"}),
    post("webhook-unknown-field", "/v1/webhooks", 422, V, {"url": "https://10.0.0.1/", "secret": "mine"}),
    post("webhook-scoped-key-without-networks", "/v1/webhooks", 403, "forbidden", {"url": "https://10.0.0.1/"}, auth="scoped"),
    get("webhook-absent", f"/v1/webhooks/{ABSENT}", 404, NF),
    patch("webhook-bad-url", f"/v1/webhooks/{ABSENT}", 422, V, {"url": "ftp://x.example"}),
    patch("webhook-enabled-null", f"/v1/webhooks/{ABSENT}", 422, V, {"enabled": None}),
    delete("webhook-not-a-uuid", "/v1/webhooks/not-a-uuid", 422, V),
    get("webhook-deliveries-absent", f"/v1/webhooks/{ABSENT}/deliveries", 404, NF),
    post("webhook-test-absent", f"/v1/webhooks/{ABSENT}/test", 404, NF, {}),
    get("query-misspelt-on-audit", "/v1/audit?resource=city", 422, V),
    get("query-unknown-on-a-probe", "/healthz?verbose=1", 422, V),
    post("query-misspelt-dry-run-import", f"{IMPORT}?dryrun=true", 422, V, csv("Lyon,FR,full,,"), content_type=CSV),
    post("query-unknown-on-create", "/v1/cities?dry_run=true", 422, V, city()),
    post("query-unknown-on-handover", f"{HANDOVER}?notify=1", 422, V, {"member_id": "<city2>", "date": "2020-01-01"}),
    patch("query-unknown-on-patch", "/v1/cities/<city>?force=1", 422, V, {"name": "Soul"}),
    delete("query-unknown-on-delete", f"{MEMBERSHIPS}/<membership>?cascade=true", 422, V),
    post("query-unknown-without-a-key", "/v1/cities?dry_run=true", 422, V, city(), auth="none"),
    # --- wrong content types ---------------------------------------------------------------
    post("content-type-text-plain", "/v1/cities", 415, MEDIA, json.dumps(city()).encode(), content_type="text/plain"),
    post("content-type-form", MEMBERSHIPS, 415, MEDIA, b"member_id=x&category=full", content_type="application/x-www-form-urlencoded"),
    patch("content-type-missing", "/v1/networks/citynet", 415, MEDIA, b'{"name": "X"}', content_type=None),
    post("content-type-multipart", ROLES, 415, MEDIA, b"--b\r\n\r\nx\r\n--b--", content_type="multipart/form-data; boundary=b"),
    post("content-type-json-on-csv-import", IMPORT, 415, MEDIA, {"rows": []}),
    post("content-type-csv-latin1-import", IMPORT, 415, MEDIA, csv("Lyon,FR,full,,"), content_type="text/csv; charset=latin-1"),
    post("content-type-csv-on-json-endpoint", "/v1/cities", 415, MEDIA, b"name,country_code\r\nLyon,FR\r\n", content_type=CSV),
    # --- the CSV import ----------------------------------------------------------------------
    post("csv-invalid-utf8", IMPORT, 422, V, CSV_HEADER + b"Ly\xffon,FR,full,,\r\n", content_type=CSV),
    post("csv-nul-byte", IMPORT, 422, V, CSV_HEADER + b"Ly\x00on,FR,full,,\r\n", content_type=CSV),
    post("csv-missing-columns", IMPORT, 422, V, b"city\r\nLyon\r\n", content_type=CSV),
    post("csv-bad-date-and-country", IMPORT, 422, V, csv("Lyon,XX,full,0000-00-00,"), content_type=CSV),
    post("csv-sql-category", IMPORT, 422, V, csv(f"Lyon,FR,{SQL_DROP},,"), content_type=CSV),
    post("csv-dry-run-not-bool", f"{IMPORT}?dry_run=maybe", 422, V, csv("Lyon,FR,full,,"), content_type=CSV),
    post("csv-unknown-network", "/v1/networks/no-such-net/memberships:import", 404, NF, csv("Lyon,FR,full,,"), content_type=CSV),
    # --- lookup by identifier (public reads, one of them by POST) -----------------------------
    get("lookup-not-an-identifier", "/v1/members/lookup?id=Seoul", 422, V, auth="none"),
    post("lookup-more-than-100", "/v1/members/lookup", 422, V, {"ids": [str(n) for n in range(1, 102)]}, auth="none"),
    # --- reconciliation (public reads, one of them by POST) ----------------------------------
    get("reconcile-queries-not-json", "/v1/reconcile?queries=%7Bnope", 422, V, auth="none"),
    get("reconcile-queries-nul", "/v1/reconcile?queries=%00", 422, V, auth="none"),
    post("reconcile-json-body", "/v1/reconcile", 415, MEDIA, {"q0": {"query": "Lyon"}}, auth="none"),
    post("reconcile-query-type-unknown", "/v1/reconcile", 422, V, b'queries={"q0":{"query":"Lyon","type":"river"}}', content_type="application/x-www-form-urlencoded", auth="none"),
    get("reconcile-suggest-type-nul", "/v1/reconcile/suggest/type?prefix=%00", 422, V, auth="none"),
    get("reconcile-suggest-property-nul", "/v1/reconcile/suggest/property?prefix=%00", 422, V, auth="none"),
    get("reconcile-preview-not-uuid", "/v1/reconcile/preview?id=seoul", 422, V, auth="none"),
    # --- enums and formats -------------------------------------------------------------------
    get("export-format-xml", "/v1/networks/citynet/export?format=xml", 422, V),
    get("members-kind-unknown", f"{MEMBERS}?kind=person", 422, V),
    get("audit-until-not-a-time", "/v1/audit?until=yesterday", 422, V),
    # --- rules and preconditions -------------------------------------------------------------
    post("rule-overlapping-membership", MEMBERSHIPS, 409, "conflict", joins(member_id="<city>", category="associate", start_date="2005")),
    post("rule-category-not-of-network", MEMBERSHIPS, 422, V, joins(category="honorary")),
    post("rule-second-chair", TENURES, 409, "conflict", holds(start_date="2015-01-01")),
    patch("rule-role-max-holders-zero", f"{ROLES}/chair", 422, V, {"max_holders": 0}),
    patch("rule-drop-used-category", "/v1/networks/citynet", 409, "conflict", {"membership_categories": ["associate"]}),
    delete("rule-delete-network-in-use", "/v1/networks/citynet", 409, "conflict"),
    delete("rule-delete-city-with-memberships", "/v1/cities/<city>", 409, "conflict"),
    post("rule-duplicate-network", "/v1/networks", 409, "conflict", network(slug="citynet")),
    patch("stale-if-match", "/v1/cities/<city>", 412, "precondition-failed", {"name": "Soul"}, headers={"If-Match": '"stale"'}),
    post("idempotency-key-too-long", "/v1/cities", 422, V, city(), headers={"Idempotency-Key": "k" * 1000}),
    Case("method-put-not-allowed", "PUT", "/v1/networks/citynet", 405, "method-not-allowed", {"name": "X"}),
    Case("cors-preflight-for-a-write", "OPTIONS", "/v1/networks", 400, BAD, auth="none", headers=PREFLIGHT),
    # --- authentication and authorisation -----------------------------------------------------
    post("auth-missing-key", "/v1/cities", 401, "unauthorized", city(), auth="none"),
    post("auth-missing-key-before-idempotency-key", "/v1/cities", 401, "unauthorized", city(), auth="none", headers={"Idempotency-Key": "k" * 1000}),
    post("auth-wrong-key-before-idempotency-key", MEMBERSHIPS, 401, "unauthorized", joins(), auth="wrong", headers={"Idempotency-Key": "two words"}),
    post("auth-wrong-key-with-idempotency-key", "/v1/cities", 401, "unauthorized", city(), auth="wrong", headers={"Idempotency-Key": "retry-1"}),
    delete("auth-wrong-key", f"{MEMBERSHIPS}/<membership>", 401, "unauthorized", auth="wrong"),
    get("auth-audit-without-key", "/v1/audit", 401, "unauthorized", auth="none"),
    post("auth-scoped-key-other-network", MEMBERSHIPS, 403, "forbidden", joins(), auth="scoped"),
    post("auth-scoped-key-other-network-import", IMPORT, 403, "forbidden", csv("Lyon,FR,full,,"), content_type=CSV, auth="scoped"),
    post("auth-scoped-key-handover", HANDOVER, 403, "forbidden", {"member_id": "<city2>", "date": "2020-01-01"}, auth="scoped"),
    delete("auth-scoped-key-delete-city", "/v1/cities/<city>", 403, "forbidden", auth="scoped"),
    delete("auth-scoped-key-delete-organization", "/v1/organizations/<org>", 403, "forbidden", auth="scoped"),
    get("auth-scoped-key-audit", "/v1/audit", 403, "forbidden", auth="scoped"),
    # --- declared figures ---------------------------------------------------------------------
    post("declaration-no-figure", DECLARATIONS, 422, V, declares(total=None)),
    post("declaration-no-source", DECLARATIONS, 422, V, declares(source=None)),
    post("declaration-unknown-category", DECLARATIONS, 422, V, declares(by_category={"guest": 3})),
    post("declaration-category-capitals", DECLARATIONS, 422, V, declares(by_category={"Full": 3})),
    post("declaration-negative-total", DECLARATIONS, 422, V, declares(total=-1)),
    post("declaration-total-is-text", DECLARATIONS, 422, V, declares(total="85")),
    post("declaration-total-true", DECLARATIONS, 422, V, declares(total=True)),
    post("declaration-bad-date", DECLARATIONS, 422, V, declares(date="2013-13")),
    post("declaration-source-url-not-http", DECLARATIONS, 422, V, declares(source_url="javascript:alert(1)")),
    post("declaration-source-line-break", DECLARATIONS, 422, V, declares(source="A\nB")),
    post("declaration-unknown-field", DECLARATIONS, 422, V, declares(members=5)),
    post("declaration-unknown-network", "/v1/networks/nowhere/declarations", 404, NF, declares()),
    post("declaration-without-key", DECLARATIONS, 401, "unauthorized", declares(), auth="none"),
    post("declaration-scoped-key-other-network", DECLARATIONS, 403, "forbidden", declares(), auth="scoped"),
    get("declarations-unknown-network", "/v1/networks/nowhere/declarations", 404, NF),
    get("declarations-forged-cursor", f"{DECLARATIONS}?cursor={FORGED}", 400, CURSOR),
    get("declarations-unknown-parameter", f"{DECLARATIONS}?as_of=2014-01-01", 422, V),
    get("declaration-absent", f"{DECLARATIONS}/{ABSENT}", 404, NF),
    get("declaration-not-a-uuid", f"{DECLARATIONS}/not-a-uuid", 422, V),
    delete("declaration-delete-absent", f"{DECLARATIONS}/{ABSENT}", 404, NF),
    delete("declaration-delete-without-key", f"{DECLARATIONS}/{ABSENT}", 401, "unauthorized", auth="none"),
    get("members-geojson-unknown-format", f"{MEMBERS}?format=kml", 422, V),
]
# fmt: on


@dataclass
class Registry:
    """The seeded records the cases address, and the keys they use."""

    markers: dict[str, str]
    headers: dict[Auth, dict[str, str]]

    def fill(self, value: Any) -> Any:
        """``value`` with every marker replaced by the seeded record it names."""
        if isinstance(value, str):
            for marker, replacement in self.markers.items():
                value = value.replace(marker, replacement)
            return value
        if isinstance(value, bytes):
            return self.fill(value.decode("latin-1")).encode("latin-1")
        if isinstance(value, list):
            return [self.fill(item) for item in value]
        if isinstance(value, dict):
            return {key: self.fill(item) for key, item in value.items()}
        return value


def _tamper(cursor: str) -> str:
    """``cursor`` with one character of its signature changed."""
    position = len(cursor) - 3
    swapped = "A" if cursor[position] != "A" else "B"
    return cursor[:position] + swapped + cursor[position + 1 :]


async def _cursor(client: httpx.AsyncClient, path: str) -> str:
    response = await client.get(path, params={"limit": 1})
    assert response.status_code == 200, response.text
    cursor: str = response.json()["next_cursor"]
    assert cursor
    return cursor


# One registry for the whole module: every request of the table is refused, so none
# changes it, and the check after each request would see it if one did.


@pytest.fixture(scope="module")
async def app(
    server_url: URL, template_database: str, tmp_path_factory: pytest.TempPathFactory
) -> AsyncIterator[FastAPI]:
    async with fresh_database(server_url, template_database) as url:
        settings = test_settings(url, tmp_path_factory.mktemp("bad-input"))
        async with running(settings) as application:
            yield application


@pytest.fixture(scope="module")
async def client(app: FastAPI) -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
        yield client


@pytest.fixture(scope="module")
def keys(app: FastAPI) -> Keys:
    return Keys(app)


@pytest.fixture(scope="module")
def db(app: FastAPI) -> Database:
    return Database(app)


@pytest.fixture(scope="module")
async def admin_headers(keys: Keys) -> dict[str, str]:
    return {"Authorization": f"Bearer {await keys.create('admin', admin=True)}"}


@pytest.fixture(scope="module")
async def registry(
    client: httpx.AsyncClient, admin_headers: dict[str, str], keys: Keys
) -> Registry:
    """Two networks, two cities and an organization, memberships, a chair and its tenure."""
    await builders.network(client, admin_headers, "citynet")
    await builders.network(client, admin_headers, "metropolis")
    seoul = await builders.city(client, admin_headers, "Seoul", "KR")
    yokohama = await builders.city(client, admin_headers, "Yokohama", "JP")
    iclei = await builders.organization(client, admin_headers, "ICLEI", country_code="DE")
    seoul_membership = await builders.membership(
        client, admin_headers, seoul["id"], start_date="2000"
    )
    await builders.membership(client, admin_headers, yokohama["id"], start_date="1987")
    await builders.role(client, admin_headers, "chair", eligible_categories=["full"])
    chair = await builders.tenure(client, admin_headers, seoul["id"], start_date="2013-11-05")
    scoped = await keys.create("metropolis-staff", networks=["metropolis"])
    cities_cursor = await _cursor(client, "/v1/cities")
    return Registry(
        markers={
            "<city>": seoul["id"],
            "<city2>": yokohama["id"],
            "<org>": iclei["id"],
            "<membership>": seoul_membership["id"],
            "<tenure>": chair["id"],
            "<cities_cursor>": cities_cursor,
            "<tampered_cursor>": _tamper(cities_cursor),
            "<memberships_cursor>": await _cursor(client, MEMBERSHIPS),
        },
        headers={
            "admin": admin_headers,
            "scoped": {"Authorization": f"Bearer {scoped}"},
            "none": {},
            "wrong": {"Authorization": "Bearer nr_" + "x" * 43},
        },
    )


async def snapshot(db: Database) -> dict[str, str]:
    """Every table of the public schema with all its rows, the audit log and the change
    feed among them."""
    return await db.contents()


async def send(client: httpx.AsyncClient, registry: Registry, case: Case) -> httpx.Response:
    headers = {**registry.headers[case.auth], **case.headers}
    content: bytes | None = None
    if case.body is not None:
        body = registry.fill(case.body)
        content = body if isinstance(body, bytes) else json.dumps(body).encode()
        if case.content_type is not None:
            headers["Content-Type"] = case.content_type
    # The URL goes as written (already encoded): httpx must not re-encode `%` or `'`.
    url = httpx.URL("http://test" + registry.fill(case.path))
    return await client.request(case.method, url, content=content, headers=headers)


@pytest.mark.parametrize("case", [pytest.param(case, id=case.id) for case in CASES])
async def test_hostile_request_is_a_4xx_problem_and_changes_nothing(
    client: httpx.AsyncClient, registry: Registry, db: Database, case: Case
) -> None:
    before = await snapshot(db)
    with structlog.testing.capture_logs() as logs:
        response = await send(client, registry, case)
    body = response.json() if response.headers.get("content-type") == PROBLEM else None
    observed = (response.status_code, body and body.get("type"))
    assert observed == (case.status, PREFIX + case.problem), response.text[:2000]
    assert isinstance(body, dict)
    assert body["status"] == response.status_code
    assert isinstance(body["title"], str)
    assert body["title"]
    assert isinstance(body["detail"], str)
    assert body["detail"]
    assert body["request_id"] == response.headers["x-request-id"]
    if case.problem == V:
        # A validation problem names each bad field.
        assert body["errors"]
        assert all({"location", "message", "type"} <= set(error) for error in body["errors"])
    assert_in_words(body)
    assert not [event for event in logs if event.get("exc_info")], "an unhandled exception"
    assert await snapshot(db) == before


# What an officer should never read: a regular expression, pydantic's own prefixes.
NOT_WORDS = ("^", "$", "[", "\\d", "]{", "should match pattern", "Value error", "Assertion failed")


def assert_in_words(problem: dict[str, Any]) -> None:
    """The problem's detail and each error's message are words, not patterns."""
    for message in [problem["detail"], *(e["message"] for e in problem.get("errors") or [])]:
        found = [marker for marker in NOT_WORDS if marker in message]
        assert not found, (found, message)


def test_the_table_has_unique_ids_and_a_case_for_every_operation_of_the_api() -> None:
    ids = [case.id for case in CASES]
    assert len(ids) == len(set(ids))
    assert len(ids) >= 60
    document = json.loads(OPENAPI.read_text())
    uncovered = []
    for template, operations in document["paths"].items():
        if not template.startswith("/v1/"):
            continue  # the probes and metrics take no input
        parts = re.split(r"\{\w+\}", template)
        pattern = re.compile("^" + "[^/?]+".join(map(re.escape, parts)) + r"(\?|$)")
        for method in operations:
            if not any(
                case.method == method.upper() and pattern.match(case.path) for case in CASES
            ):
                uncovered.append(f"{method.upper()} {template}")
    assert uncovered == []


# --- hostile but legal: answered, never an error, nothing written ---------------------------

LEGAL: list[tuple[str, str]] = [
    ("sql-in-city-search", f"/v1/cities?q={_q(SQL_OR)}"),
    ("sql-in-organization-search", f"/v1/organizations?q={_q(SQL_DROP)}"),
    ("sql-in-members-search", f"/v1/networks/citynet/members?q={_q(SQL_DROP)}"),
    ("sql-in-members-category", f"/v1/networks/citynet/members?category={_q(SQL_OR)}"),
    ("sql-in-members-role", f"/v1/networks/citynet/members?role={_q(SQL_DROP)}"),
    ("sql-in-tenures-role", f"{TENURES}?role={_q(SQL_OR)}"),
    ("sql-in-audit-resource-type", f"/v1/audit?resource_type={_q(SQL_DROP)}"),
    ("sql-in-audit-resource-id", f"/v1/audit?resource_id={_q(SQL_OR)}"),
    ("sql-in-audit-network", f"/v1/audit?network={_q(SQL_DROP)}"),
    ("invalid-utf8-percent-in-search", "/v1/cities?q=%FF%FE"),
]


@pytest.mark.parametrize(("path"), [pytest.param(path, id=name) for name, path in LEGAL])
async def test_sql_looking_search_finds_nothing_and_changes_nothing(
    client: httpx.AsyncClient, registry: Registry, db: Database, path: str
) -> None:
    before = await snapshot(db)
    response = await client.get(httpx.URL("http://test" + path), headers=registry.headers["admin"])
    assert response.status_code == 200, response.text[:2000]
    assert response.json()["items"] == []
    assert await snapshot(db) == before
    assert await db.count("members") == 3


# On each end of the calendar: the members of citynet and its chair (the memberships and
# the tenure of the module's registry are open-ended).
EDGE_DAYS = {
    "0001-01-01": ([], []),
    "9999-12-31": (["Seoul", "Yokohama"], ["Seoul"]),
}


@pytest.mark.parametrize("day", EDGE_DAYS)
async def test_the_first_and_last_day_of_the_calendar_are_answered(
    client: httpx.AsyncClient, registry: Registry, day: str
) -> None:
    """Valid days at the ends of the calendar are answers, never a 500 from date arithmetic."""
    for path in (
        "/v1/networks/citynet/members",
        "/v1/networks/citynet/stats",
        f"{ROLES}/chair/holders",
        "/v1/cities?network=citynet",
        "/v1/networks/citynet/export?format=ndjson",
        "/v1/export?format=csv",
    ):
        separator = "&" if "?" in path else "?"
        response = await client.get(f"{path}{separator}as_of={day}")
        assert response.status_code == 200, (path, response.text[:500])
    members, chairs = EDGE_DAYS[day]
    assert sorted(await builders.member_names(client, as_of=day)) == members
    assert await builders.holder_names(client, day) == chairs


async def test_a_membership_may_start_on_the_last_day_of_the_calendar(
    client: httpx.AsyncClient, registry: Registry, admin_headers: dict[str, str]
) -> None:
    """9999-12-31 is a real day: a start there is legal (and holds for one day, onwards)."""
    response = await client.post(
        MEMBERSHIPS,
        json={
            "member_id": registry.markers["<org>"],
            "category": "full",
            "start_date": "9999-12-31",
        },
        headers=admin_headers,
    )
    assert response.status_code == 201, response.text
    members = await builders.member_names(client, as_of="9999-12-31")
    assert "ICLEI" in members
    # The module's registry is shared: leave it with the members it had.
    deleted = await client.delete(f"{MEMBERSHIPS}/{response.json()['id']}", headers=admin_headers)
    assert deleted.status_code == 204
