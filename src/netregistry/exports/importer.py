"""Importing an export (JSON or NDJSON) into an empty registry, all or nothing.

Records keep their ids and timestamps, so exporting again gives the same bytes (but for
``generated_at``). Every record is checked against its published schema first, then
written in one transaction; the database's constraints and the registry's rules are
checked as for any write, and a record that breaks one is reported with its line (or
its place in the JSON document) and the reason. Nothing is written unless all is.
An import only goes into an empty registry: merging two histories needs a person.
"""

from __future__ import annotations

import json
import re
import uuid
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from sqlalchemy import func, select, text
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncSession

from netregistry.errors import Conflict, NetregistryError
from netregistry.exports.records import (
    DOCUMENT_ORDER,
    PLURAL,
    RECORDS,
    SCHEMA_VERSION,
    RecordType,
)
from netregistry.models import Member, Network, Role
from netregistry.registry import rules

_PATTERNS: dict[str, re.Pattern[str]] = {}
_PYTHON_TYPES: dict[str, type | tuple[type, ...]] = {
    "string": str,
    "datetime": str,
    "date": str,
    "integer": int,
    "number": (int, float),
    "boolean": bool,
    "array": list,
}


class ImportRefused(NetregistryError):
    """The file cannot be imported; nothing was written."""

    status = 422
    code = "import-refused"
    title = "Import refused"


@dataclass
class Record:
    type: RecordType
    where: str  # "line 12" or "memberships[3]"
    values: dict[str, Any]


@dataclass
class ImportReport:
    created: dict[str, int] = field(default_factory=dict)

    def __str__(self) -> str:
        return ", ".join(f"{count} {PLURAL[kind]}" for kind, count in self.created.items())  # type: ignore[index]


def read_records(path: Path) -> list[Record]:
    """Parse and check every record of an export file; :class:`ImportRefused` on the first
    broken one, naming where it is."""
    content = path.read_text(encoding="utf-8")
    stripped = content.lstrip()
    records = (
        list(_json_records(content))
        if stripped.startswith("{") and not _looks_like_ndjson(stripped)
        else list(_ndjson_records(content))
    )
    for record in records:
        _check(record)
    return records


def _looks_like_ndjson(content: str) -> bool:
    first = content.split("\n", 1)[0]
    try:
        return bool(json.loads(first).get("type") == "export")
    except (ValueError, AttributeError):
        return False


def _header_check(header: dict[str, Any], where: str) -> None:
    if header.get("schema_version") != SCHEMA_VERSION:
        raise ImportRefused(
            f"{where}: schema_version {header.get('schema_version')!r} is not "
            f"{SCHEMA_VERSION!r}, the version this service reads."
        )


def _ndjson_records(content: str) -> Iterator[Record]:
    lines = content.splitlines()
    if not lines:
        raise ImportRefused("The file is empty.")
    for number, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        try:
            value = json.loads(line)
        except ValueError as error:
            raise ImportRefused(f"line {number}: not valid JSON ({error}).") from error
        if not isinstance(value, dict):
            raise ImportRefused(f"line {number}: a record must be a JSON object.")
        kind = value.pop("type", None)
        if number == 1:
            if kind != "export":
                raise ImportRefused("line 1: the first line must be the export header.")
            _header_check(value, "line 1")
            continue
        if kind not in RECORDS:
            raise ImportRefused(f"line {number}: unknown record type {kind!r}.")
        yield Record(kind, f"line {number}", value)


def _json_records(content: str) -> Iterator[Record]:
    try:
        document = json.loads(content)
    except ValueError as error:
        raise ImportRefused(f"not valid JSON ({error}).") from error
    _header_check(document, "the document")
    for kind in DOCUMENT_ORDER:
        items = document.get(PLURAL[kind])
        if not isinstance(items, list):
            raise ImportRefused(f"the document has no {PLURAL[kind]!r} list.")
        for index, value in enumerate(items):
            if not isinstance(value, dict):
                raise ImportRefused(f"{PLURAL[kind]}[{index}]: a record must be an object.")
            yield Record(kind, f"{PLURAL[kind]}[{index}]", value)


def _check(record: Record) -> None:
    """The record has exactly the published fields, with values of the published types."""
    fields = RECORDS[record.type]
    names = [f.name for f in fields]
    if unknown := sorted(set(record.values) - set(names)):
        raise ImportRefused(f"{record.where}: unknown field(s) {', '.join(unknown)}.")
    for spec in fields:
        if spec.name not in record.values:
            raise ImportRefused(f"{record.where}: missing field {spec.name!r}.")
        value = record.values[spec.name]
        if value is None:
            if not spec.nullable:
                raise ImportRefused(f"{record.where}: {spec.name} must not be null.")
            continue
        expected = _PYTHON_TYPES[spec.type]
        if not isinstance(value, expected) or (
            spec.type in ("integer", "number") and isinstance(value, bool)
        ):
            raise ImportRefused(f"{record.where}: {spec.name} must be of type {spec.type}.")
        if spec.pattern is not None and isinstance(value, str):
            pattern = _PATTERNS.setdefault(spec.pattern, re.compile(spec.pattern))
            if not pattern.match(value):
                raise ImportRefused(f"{record.where}: {spec.name} {value!r} is malformed.")
        if spec.enum is not None and value not in spec.enum:
            raise ImportRefused(f"{record.where}: {spec.name} must be one of {spec.enum}.")


_INSERT_SQL: dict[RecordType, str] = {
    "network": """
        INSERT INTO networks (id, slug, name, acronym, official_name, founded_on, scope,
            website, description, membership_criteria, membership_categories,
            created_at, updated_at)
        VALUES (gen_random_uuid(), :slug, :name, :acronym, :official_name, :founded_on,
            :scope, :website, :description, :membership_criteria,
            ARRAY(SELECT json_array_elements_text(CAST(:membership_categories AS json))),
            :created_at, :updated_at)""",
    "member": """
        INSERT INTO members (id, kind, name, alt_names, country_code, subdivision, population,
            latitude, longitude, geonames, org_type, website, wikidata, created_at, updated_at)
        VALUES (:id, :kind, :name,
            ARRAY(SELECT json_array_elements_text(CAST(:alt_names AS json))),
            :country_code, :subdivision, :population, :latitude, :longitude, :geonames,
            :org_type, :website, :wikidata,
            :created_at, :updated_at)""",
    "role": """
        INSERT INTO roles (id, network_id, slug, name, max_holders, requires_membership,
            eligible_categories, created_at, updated_at)
        SELECT gen_random_uuid(), n.id, :slug, :name, :max_holders, :requires_membership,
            CASE WHEN CAST(:eligible_categories AS json) IS NULL THEN NULL
                 ELSE ARRAY(SELECT json_array_elements_text(CAST(:eligible_categories AS json)))
            END,
            :created_at, :updated_at
        FROM networks n WHERE n.slug = :network""",
    "membership": """
        INSERT INTO memberships (id, network_id, member_id, category, start_date, end_date,
            source_url, note, created_at, updated_at)
        SELECT :id, n.id, :member_id, :category, :start_date,
            :end_date, :source_url, :note,
            :created_at, :updated_at
        FROM networks n WHERE n.slug = :network""",
    "tenure": """
        INSERT INTO tenures (id, network_id, role_id, member_id, start_date, end_date,
            representative, source_url, note, created_at, updated_at)
        SELECT :id, n.id, r.id, :member_id, :start_date, :end_date,
            :representative, :source_url, :note,
            :created_at, :updated_at
        FROM networks n JOIN roles r ON r.network_id = n.id AND r.slug = :role
        WHERE n.slug = :network""",
}
_INSERTS = {record_type: text(sql) for record_type, sql in _INSERT_SQL.items()}

_AUDIT = text(
    """
    INSERT INTO audit_events (actor_name, action, resource_type, resource_id, network, after)
    VALUES ('import', 'create', :resource_type, :resource_id, :network, CAST(:after AS jsonb))"""
)

_JSON_ARRAYS = {"membership_categories", "alt_names", "eligible_categories"}
_DERIVED = {"member_kind", "member_name", "member_country_code"}


def _parameters(record: Record) -> dict[str, Any]:
    """The record's values as the driver binds them (arrays as JSON text)."""
    values = {k: v for k, v in record.values.items() if k not in _DERIVED}
    for name in _JSON_ARRAYS & values.keys():
        values[name] = None if values[name] is None else json.dumps(values[name])
    for name in ("id", "member_id"):
        if name in values:
            values[name] = uuid.UUID(values[name])
    for name in ("created_at", "updated_at"):
        values[name] = datetime.fromisoformat(values[name])
    return values


def _resource(record: Record) -> tuple[str, str, str | None]:
    values = record.values
    if record.type == "network":
        return "network", values["slug"], values["slug"]
    if record.type == "member":
        return values["kind"], values["id"], None
    if record.type == "role":
        return "role", f"{values['network']}/{values['slug']}", values["network"]
    return record.type, values["id"], values["network"]


async def import_records(session: AsyncSession, records: Sequence[Record]) -> ImportReport:
    """Write ``records`` into an empty registry, in the session's transaction."""
    networks = await session.scalar(select(func.count()).select_from(Network)) or 0
    members = await session.scalar(select(func.count()).select_from(Member)) or 0
    if networks or members:
        raise Conflict(
            f"The registry already holds {networks} network(s) and {members} member(s): "
            "import only into an empty database (restore a backup with pg_restore instead)."
        )
    report = ImportReport()
    for kind in ("network", "member", "role", "membership", "tenure"):
        for record in (r for r in records if r.type == kind):
            await _insert(session, record)
            resource_type, resource_id, network = _resource(record)
            await session.execute(
                _AUDIT,
                {
                    "resource_type": resource_type,
                    "resource_id": resource_id,
                    "network": network,
                    "after": json.dumps(record.values),
                },
            )
            report.created[kind] = report.created.get(kind, 0) + 1
    await _check_rules(session, records)
    return report


async def _insert(session: AsyncSession, record: Record) -> None:
    try:
        async with session.begin_nested():
            result = await session.execute(_INSERTS[record.type], _parameters(record))
    except DBAPIError as error:
        reason = str(error.orig).split("\n", 1)[0] if error.orig else type(error).__name__
        raise ImportRefused(f"{record.where}: {reason}.") from error
    if getattr(result, "rowcount", 1) == 0:
        missing = "role " + record.values.get("role", "") if record.type == "tenure" else ""
        raise ImportRefused(
            f"{record.where}: network {record.values.get('network')!r} {missing} not in the file."
        )


async def _check_rules(session: AsyncSession, records: Sequence[Record]) -> None:
    """The rules no constraint holds: categories, holder limits, membership coverage."""
    where = {
        (r.type, r.values.get("id") or f"{r.values.get('network')}/{r.values.get('slug')}"): r.where
        for r in records
    }
    wrong_category = (
        await session.execute(
            text(
                "SELECT ms.id::text FROM memberships ms JOIN networks n ON n.id = ms.network_id "
                "WHERE NOT ms.category = ANY(n.membership_categories) LIMIT 1"
            )
        )
    ).scalar()
    if wrong_category is not None:
        raise ImportRefused(
            f"{where[('membership', wrong_category)]}: its category is not one of its "
            "network's membership_categories."
        )
    for role in (await session.scalars(select(Role))).all():
        try:
            await rules.check_capacity(session, role)
            await rules.check_membership_coverage(session, role.network_id, role_id=role.id)
        except Conflict as error:
            # The rule's message names the tenures involved by id: name their places too.
            places = [
                place
                for (kind, key), place in where.items()
                if kind == "tenure" and key and key in error.detail
            ]
            raise ImportRefused(
                f"{', '.join(places) or 'The file'}: it breaks a rule of the registry: "
                f"{error.detail}"
            ) from error
