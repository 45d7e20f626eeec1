"""Streaming exports: JSON, NDJSON, and CSV files in a zip with a Frictionless descriptor.

Rows leave PostgreSQL as JSON text (``row_to_json``) or plain values through a
server-side cursor, a batch at a time, and leave the process as soon as a chunk is
full: memory stays flat whatever the size of the registry, and the first bytes go out
before the last row is read.
"""

from __future__ import annotations

import csv
import io
import json
import zipfile
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Literal

from netregistry.exports.records import (
    DOCUMENT_ORDER,
    PLURAL,
    RECORDS,
    SCHEMA_VERSION,
    datapackage,
)
from netregistry.exports.repository import ExportSnapshot, json_query, row_query

Format = Literal["json", "ndjson", "csv"]

MEDIA_TYPES: dict[Format, str] = {
    "json": "application/json",
    "ndjson": "application/x-ndjson",
    "csv": "application/zip",
}
EXTENSIONS: dict[Format, str] = {"json": "json", "ndjson": "ndjson", "csv": "zip"}
CHUNK = 64 * 1024


@dataclass(frozen=True)
class ExportRequest:
    format: Format
    network: str | None
    as_of: date | None

    def filename(self) -> str:
        scope = self.network or "registry"
        when = self.as_of.isoformat() if self.as_of else "history"
        return f"netregistry-{scope}-{when}.{EXTENSIONS[self.format]}"

    def header(self, generated_at: str) -> dict[str, str | None]:
        return {
            "schema_version": SCHEMA_VERSION,
            "generated_at": generated_at,
            "as_of": self.as_of.isoformat() if self.as_of else None,
            "network": self.network,
        }


def _now() -> str:
    return datetime.now(UTC).isoformat()


async def stream_export(
    snapshot: ExportSnapshot, request: ExportRequest, *, generated_at: str | None = None
) -> AsyncIterator[bytes]:
    """The export's bytes, chunk by chunk."""
    generated_at = generated_at or _now()
    if request.format == "csv":
        writer = _csv_zip(snapshot, request, generated_at)
    elif request.format == "ndjson":
        writer = _ndjson(snapshot, request, generated_at)
    else:
        writer = _json(snapshot, request, generated_at)
    async for chunk in writer:
        yield chunk


def _dumps(value: object) -> str:
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"))


async def _ndjson(
    snapshot: ExportSnapshot, request: ExportRequest, generated_at: str
) -> AsyncIterator[bytes]:
    yield (_dumps({"type": "export", **request.header(generated_at)}) + "\n").encode()
    for record in DOCUMENT_ORDER:
        async for batch in snapshot.rows(json_query(record, typed=True)):
            yield ("\n".join(row[0] for row in batch) + "\n").encode()


async def _json(
    snapshot: ExportSnapshot, request: ExportRequest, generated_at: str
) -> AsyncIterator[bytes]:
    yield _dumps(request.header(generated_at))[:-1].encode()  # the object stays open
    for record in DOCUMENT_ORDER:
        yield f',"{PLURAL[record]}":['.encode()
        separator = ""
        async for batch in snapshot.rows(json_query(record, typed=False)):
            yield (separator + ",".join(row[0] for row in batch)).encode()
            separator = ","
        yield b"]"
    yield b"}\n"


class _Sink(io.RawIOBase):
    """A write-only stream whose bytes are taken away as they come (zip output)."""

    def __init__(self) -> None:
        self.chunks: list[bytes] = []
        self.size = 0

    def writable(self) -> bool:
        return True

    def write(self, data: bytes) -> int:  # type: ignore[override]
        self.chunks.append(bytes(data))
        self.size += len(data)
        return len(data)

    def take(self) -> bytes:
        data = b"".join(self.chunks)
        self.chunks.clear()
        self.size = 0
        return data


# A cell a spreadsheet would read as a formula (OWASP, "CSV Injection"): it begins with
# one of these. Only text cells: a negative latitude is a number, written as one.
FORMULA_TRIGGERS = ("=", "+", "-", "@", "\t", "\r")


def neutralise_formula(text: str) -> str:
    """``text`` as a CSV cell no spreadsheet runs: a single quote before a leading
    ``=``, ``+``, ``-``, ``@``, tab or carriage return (OWASP's rule); other text as it is."""
    return "'" + text if text.startswith(FORMULA_TRIGGERS) else text


def _csv_value(value: object) -> object:
    if isinstance(value, str):
        return neutralise_formula(value)
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, list | dict):
        # The driver may decode the JSON of an array column (SQLAlchemy's asyncpg dialect
        # does): write it back as JSON text, as the data package declares, not as a repr.
        return _dumps(value)
    return value


async def _csv_zip(
    snapshot: ExportSnapshot, request: ExportRequest, generated_at: str
) -> AsyncIterator[bytes]:
    sink = _Sink()
    with zipfile.ZipFile(sink, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        for record in DOCUMENT_ORDER:
            with (
                archive.open(f"{PLURAL[record]}.csv", "w", force_zip64=True) as entry,
                io.TextIOWrapper(entry, encoding="utf-8", newline="") as text,
            ):
                rows = csv.writer(text, lineterminator="\r\n")
                rows.writerow([field.name for field in RECORDS[record]])
                async for batch in snapshot.rows(row_query(record)):
                    rows.writerows([_csv_value(value) for value in row] for row in batch)
                    if sink.size >= CHUNK:
                        yield sink.take()
            yield sink.take()
        descriptor = datapackage(
            request.filename().removesuffix(".zip"),
            as_of=request.as_of.isoformat() if request.as_of else None,
            generated_at=generated_at,
        )
        archive.writestr("datapackage.json", json.dumps(descriptor, indent=2) + "\n")
    yield sink.take()
