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
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from netregistry.declarations.service import DeclarationService
from netregistry.errors import Conflict, NetregistryError
from netregistry.exports.records import (
    DOCUMENT_ORDER,
    PLURAL,
    RECORDS,
    SCHEMA_VERSION,
    RecordType,
)
from netregistry.exports.repository import every_role, registry_size
from netregistry.kit.messages import count_of
from netregistry.members.service import city_service, organization_service
from netregistry.memberships.service import MembershipService
from netregistry.networks.service import NetworkService
from netregistry.registry import rules
from netregistry.registry.service import RowRefused
from netregistry.roles.service import RoleService
from netregistry.tenures.service import TenureService

# The name the audit trail records for the import command's writes (it has no key).
WRITER = "import"

_PATTERNS: dict[str, re.Pattern[str]] = {}
_PYTHON_TYPES: dict[str, type | tuple[type, ...]] = {
    "string": str,
    "datetime": str,
    "date": str,
    "integer": int,
    "number": (int, float),
    "boolean": bool,
    "array": list,
    "object": dict,
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
        if items is None and kind in _ADDED_RECORDS:
            continue  # an export from before the record type existed
        if not isinstance(items, list):
            raise ImportRefused(f"the document has no {PLURAL[kind]!r} list.")
        for index, value in enumerate(items):
            if not isinstance(value, dict):
                raise ImportRefused(f"{PLURAL[kind]}[{index}]: a record must be an object.")
            yield Record(kind, f"{PLURAL[kind]}[{index}]", value)


# Fields added within a schema version, absent from the exports made before: such a
# record imports with the value given here. A member without ``names`` keeps its
# ``alt_names``, which become names of undetermined language, as they did then.
_ADDED_FIELDS: dict[str, dict[str, Any]] = {
    "network": {"names": [], "category_labels": []},
    "member": {"iso3166_2": None, "unlocode": None, "names": None},
}
# Record types added within a schema version: a document made before has no list of them.
_ADDED_RECORDS = frozenset({"declaration"})


def _check(record: Record) -> None:
    """The record has exactly the published fields, with values of the published types."""
    fields = RECORDS[record.type]
    names = [f.name for f in fields]
    if unknown := sorted(set(record.values) - set(names)):
        raise ImportRefused(
            f"{record.where}: unknown {'field' if len(unknown) == 1 else 'fields'} "
            f"{', '.join(unknown)}."
        )
    added = _ADDED_FIELDS.get(record.type, {})
    for spec in fields:
        if spec.name not in record.values and spec.name in added:
            record.values[spec.name] = added[spec.name]  # an export from before the field
        if spec.name not in record.values:
            raise ImportRefused(f"{record.where}: missing field {spec.name!r}.")
        value = record.values[spec.name]
        if value is None and spec.name in added and added[spec.name] is None:
            continue  # absent before, null now: the service decides (a member's alt_names)
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


# Fields of a record that repeat what another record holds (a membership's member's
# kind, name and country): the member's record is the one written.
_DERIVED = {"member_kind", "member_name", "member_country_code"}


def _values(record: Record) -> dict[str, Any]:
    """The record's values as a service's bulk path takes them: its own fields (the
    service checks them with the noun's body schema), the id and timestamps it keeps."""
    values = {k: v for k, v in record.values.items() if k not in _DERIVED | {"kind"}}
    if record.type == "member":
        # alt_names are the texts of names: the names, where the record has them, say more.
        values.pop("names" if values.get("names") is None else "alt_names")
    if "id" in values:
        values["id"] = uuid.UUID(values["id"])
    for name in ("created_at", "updated_at"):
        values[name] = datetime.fromisoformat(values[name])
    return values


async def import_records(session: AsyncSession, records: Sequence[Record]) -> ImportReport:
    """Write ``records`` into an empty registry, in the session's transaction, through
    the services every write goes through: the same rules, columns and audit trail (so
    the change feed shows each record as its endpoint returns it)."""
    networks, members = await registry_size(session)
    if networks or members:
        raise Conflict(
            f"The registry already holds {count_of(networks, 'network')} and "
            f"{count_of(members, 'member')}: "
            "import only into an empty database (restore a backup with pg_restore instead)."
        )
    writers: list[tuple[RecordType, str | None, Callable[[Sequence[dict[str, Any]]], Any]]] = [
        ("network", None, NetworkService(session, None, writer=WRITER).import_created),
        ("member", "city", city_service(session, None, writer=WRITER).import_created),
        (
            "member",
            "organization",
            organization_service(session, None, writer=WRITER).import_created,
        ),
        ("role", None, RoleService(session, None, writer=WRITER).import_created),
        ("membership", None, MembershipService(session, None, writer=WRITER).import_created),
        ("tenure", None, TenureService(session, None, writer=WRITER).import_created),
        (
            "declaration",
            None,
            DeclarationService(session, None, writer=WRITER).import_created,
        ),
    ]
    report = ImportReport()
    for kind, member_kind, write in writers:
        batch = [
            r
            for r in records
            if r.type == kind and (member_kind is None or r.values["kind"] == member_kind)
        ]
        if not batch:
            continue
        try:
            await write([_values(record) for record in batch])
        except RowRefused as refused:
            raise ImportRefused(f"{batch[refused.index].where}: {refused.reason}.") from refused
        report.created[kind] = report.created.get(kind, 0) + len(batch)
    await _check_rules(session, records)
    return report


async def _check_rules(session: AsyncSession, records: Sequence[Record]) -> None:
    """The rules across records, once all are in: holder limits, membership coverage."""
    where = {
        (r.type, r.values.get("id") or f"{r.values.get('network')}/{r.values.get('slug')}"): r.where
        for r in records
    }
    for role in await every_role(session):
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
