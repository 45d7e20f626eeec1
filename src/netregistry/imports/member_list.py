"""Importing a network's member list from CSV, as secretariats keep it in spreadsheets.

The whole file is read and every row checked before anything is written. Then each
row's city is found (by wikidata id, else by name in its country, names compared as
:mod:`netregistry.registry.names` folds them) or created, and its membership is
created, through the services single requests use, so the same locks, rules and audit
apply. All rows or none: a row that cannot be imported refuses the file, with one error
per problem naming the row (the header is row 1) and the column. A dry run does the
same work in a savepoint and rolls it back.
"""

from __future__ import annotations

import asyncio
import csv
import io
from collections import defaultdict
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any, Literal

from pydantic import ValidationError
from sqlalchemy.ext.asyncio import AsyncSession

from netregistry.auth.principal import Principal
from netregistry.errors import (
    MAX_LISTED_ERRORS,
    Conflict,
    FieldError,
    NetregistryError,
    PayloadTooLarge,
    RequestInvalid,
    ServiceUnavailable,
    ValidationFailed,
)
from netregistry.kit.messages import officer_message
from netregistry.members.repository import MemberRepository
from netregistry.members.schemas import CityCreate
from netregistry.members.service import city_service
from netregistry.memberships.schemas import (
    MembershipCreate,
    MembershipImportReport,
    MembershipImportRow,
    MembershipImportRowResult,
)
from netregistry.memberships.service import MembershipService
from netregistry.models import Member, Network
from netregistry.networks.service import NetworkService
from netregistry.registry import names, rules

MAX_ROWS = 10_000
REQUIRED_COLUMNS = ("name", "country_code", "category")
OPTIONAL_COLUMNS = ("start_date", "wikidata")
COLUMNS = (*REQUIRED_COLUMNS, *OPTIONAL_COLUMNS)
HEADER_ROW = 1

MatchedBy = Literal["wikidata", "name", "alt_name"]


class ImportQueue:
    """At most ``capacity`` imports run at once in this process; the next ones wait their
    turn, at most ``depth`` of them and for at most ``wait`` seconds, then are refused with
    :class:`ServiceUnavailable` (503, ``Retry-After``).

    An import is seconds of work on one pooled connection: without a cap, twenty of them
    hold the whole pool and every other request, ``/readyz`` included, is a 503.
    """

    def __init__(self, capacity: int, *, wait: float = 10.0, depth: int | None = None) -> None:
        self.capacity = capacity
        self.wait = wait
        self.depth = 2 * capacity if depth is None else depth
        self.running = 0
        self.waiting = 0
        self._slots = asyncio.Semaphore(capacity)

    @asynccontextmanager
    async def turn(self) -> AsyncIterator[None]:
        """Wait for a free slot and hold it for the block."""
        if self._slots.locked() and self.waiting >= self.depth:
            raise self._busy()
        self.waiting += 1
        try:
            # wait_for hands back a slot acquired just as the time ran out: none leaks.
            await asyncio.wait_for(self._slots.acquire(), self.wait)
        except TimeoutError:
            raise self._busy() from None
        finally:
            self.waiting -= 1
        self.running += 1
        try:
            yield
        finally:
            self.running -= 1
            self._slots.release()

    def _busy(self) -> ServiceUnavailable:
        return ServiceUnavailable(
            f"{self.capacity} member-list imports are running and {self.waiting} waiting; "
            "nothing was imported. Retry after Retry-After seconds.",
            retry_after=max(1, round(self.wait / 2)),
        )


class ImportConflict(Conflict):
    """A row of a member list breaks a registry rule, so none of the file was imported."""

    def __init__(self, detail: str, errors: Sequence[FieldError]) -> None:
        super().__init__(detail)
        self.errors = list(errors)[:MAX_LISTED_ERRORS]
        self.total = len(errors)

    def extra(self) -> dict[str, Any]:
        return {
            "errors": [error.model_dump() for error in self.errors],
            "total_errors": self.total,
        }


@dataclass(frozen=True, slots=True)
class _Line:
    """A data row of the file: its number (the header is row 1) and its cells by column."""

    number: int
    cells: dict[str, str]


@dataclass(slots=True)
class _Row:
    """A valid row, and the city it names once matched (``None``: a city to create)."""

    number: int
    data: MembershipImportRow
    city: Member | None = None
    matched_by: MatchedBy | None = None


def _error(number: int | None, column: str | None, message: str, type_: str) -> FieldError:
    location: list[str | int] = ["body"]
    if number is not None:
        location += ["row", number]
    if column is not None:
        location.append(column)
    return FieldError(location=location, message=message, type=type_)


def _refusal(errors: Sequence[FieldError], *, conflict: bool = False) -> NetregistryError:
    """The whole file refused, listing its first problems and counting them all (409 if a
    row breaks a rule): 10,000 bad rows are not a 10,000-entry answer."""
    listed = "; ".join(
        " ".join(str(part) for part in error.location[1:]) + f": {error.message.rstrip('.')}"
        if len(error.location) > 1
        else f"the file {error.message.rstrip('.')}"
        for error in errors[:MAX_LISTED_ERRORS]
    )
    count = f"{len(errors)} problem{'s' if len(errors) != 1 else ''}"
    detail = f"Nothing was imported: {count} in the member list. {listed}"[:2000]
    if conflict:
        return ImportConflict(detail, errors)
    return RequestInvalid(detail, errors, total=len(errors))


def _row_of(error: FieldError) -> int:
    number = error.location[2] if len(error.location) > 2 else 0
    return number if isinstance(number, int) else 0


def _column_name(cell: str) -> str:
    """A header cell as a column name: "Country code" is ``country_code``."""
    return "_".join(cell.strip().lower().replace("-", " ").split())


def _read_header(record: list[str]) -> list[str]:
    columns = [_column_name(cell) for cell in record]
    errors = []
    seen: set[str] = set()
    for column in columns:
        if not column:
            continue
        if column not in COLUMNS:
            errors.append(
                _error(
                    HEADER_ROW,
                    column[:100],
                    f"is not a column of a member list; the columns are {', '.join(COLUMNS)}",
                    "unknown_column",
                )
            )
        elif column in seen:
            errors.append(_error(HEADER_ROW, column, "appears twice in the header", "duplicate"))
        seen.add(column)
    for column in REQUIRED_COLUMNS:
        if column not in seen:
            errors.append(
                _error(
                    HEADER_ROW,
                    column,
                    "is missing: the header row must name the columns "
                    f"{', '.join(REQUIRED_COLUMNS)} (and may name {', '.join(OPTIONAL_COLUMNS)})",
                    "missing",
                )
            )
    if errors:
        raise _refusal(errors)
    return columns


def read_member_list(body: bytes) -> tuple[list[_Line], list[FieldError]]:
    """The data rows of a CSV member list, and what is wrong with their shape.

    A file that cannot be read at all (not UTF-8, no header, a bad header, malformed
    CSV, too many rows) is refused at once.
    """
    try:
        text = body.decode("utf-8-sig")
    except UnicodeDecodeError as error:
        raise _refusal(
            [
                _error(
                    None,
                    None,
                    f"is not UTF-8 text (byte {error.start}): save the spreadsheet as CSV UTF-8",
                    "encoding",
                )
            ]
        ) from error
    reader = csv.reader(io.StringIO(text, newline=""), strict=True)
    columns: list[str] | None = None
    lines: list[_Line] = []
    errors: list[FieldError] = []
    number = 0
    try:
        for number, record in enumerate(reader, start=1):
            if columns is None:
                columns = _read_header(record)
                continue
            if not any(cell.strip() for cell in record):
                continue  # spreadsheets leave blank rows; they keep their numbers
            stray = [
                position + 1
                for position, cell in enumerate(record)
                if cell.strip() and (position >= len(columns) or not columns[position])
            ]
            if stray:
                errors.append(
                    _error(
                        number,
                        None,
                        f"has a value in column {stray[0]}, which the header does not name",
                        "extra_cells",
                    )
                )
            cells = {
                column: record[position].strip() if position < len(record) else ""
                for position, column in enumerate(columns)
                if column
            }
            lines.append(_Line(number, cells))
            if len(lines) > MAX_ROWS:
                raise PayloadTooLarge(
                    f"The member list has more than {MAX_ROWS} rows; split it into files "
                    f"of at most {MAX_ROWS} rows."
                )
    except csv.Error as error:
        raise _refusal([_error(number + 1, None, f"is not valid CSV: {error}", "csv")]) from error
    if columns is None:
        raise _refusal(
            [
                _error(
                    None,
                    None,
                    f"is empty: the first row must name the columns {', '.join(COLUMNS)}",
                    "missing",
                )
            ]
        )
    if not lines:
        raise _refusal([_error(None, None, "has no rows after the header", "missing")])
    return lines, errors


def check_rows(network: Network, lines: Sequence[_Line]) -> tuple[list[_Row], list[FieldError]]:
    """The rows that are valid on their own, and an error for each problem of the others:
    invalid values, categories the network does not use."""
    rows: list[_Row] = []
    errors: list[FieldError] = []
    for line in lines:
        given = {column: value for column, value in line.cells.items() if value}
        # Spreadsheets are typed by hand: "Full" is full, "q8684" is Q8684.
        if "category" in given:
            given["category"] = given["category"].lower()
        if "wikidata" in given:
            given["wikidata"] = given["wikidata"].upper()
        problems: list[FieldError] = []
        data: MembershipImportRow | None = None
        try:
            data = MembershipImportRow.model_validate(given)
        except ValidationError as error:
            problems = [
                _error(line.number, str(item["loc"][0]), officer_message(item), item["type"])
                for item in error.errors()
            ]
        category = given.get("category")
        if (
            category is not None
            and (wrong := rules.category_problem(network, category))
            and not any(problem.location[-1] == "category" for problem in problems)
        ):
            problems.append(_error(line.number, "category", wrong, "value_error"))
        if problems or data is None:
            errors.extend(problems)
            continue
        rows.append(_Row(line.number, data))
    return rows, errors


def drop_repeated_cities(
    rows: Sequence[_Row], name_keys: Sequence[str]
) -> tuple[list[_Row], list[FieldError]]:
    """The rows that name a city no earlier row names, and an error for each other one.

    ``name_keys`` are the rows' names folded (:func:`~netregistry.registry.names.fold_names`),
    the keys the registry's cities are matched by, so that a file and the registry agree
    on when two names are one city.
    """
    kept: list[_Row] = []
    errors: list[FieldError] = []
    by_wikidata: dict[str, int] = {}
    by_name: dict[tuple[str, str], list[_Row]] = defaultdict(list)
    for row, name_key in zip(rows, name_keys, strict=True):
        data = row.data
        if data.wikidata is not None and data.wikidata in by_wikidata:
            errors.append(
                _error(
                    row.number,
                    "wikidata",
                    f"names the same city as row {by_wikidata[data.wikidata]}",
                    "duplicate",
                )
            )
            continue
        key = (name_key, data.country_code)
        # Two rows name one city unless their wikidata ids tell them apart (Springfields).
        same = [
            earlier
            for earlier in by_name[key]
            if earlier.data.wikidata is None or data.wikidata is None
        ]
        if same:
            errors.append(
                _error(
                    row.number,
                    "name",
                    f"names the same city as row {same[0].number}",
                    "duplicate",
                )
            )
            continue
        if data.wikidata is not None:
            by_wikidata[data.wikidata] = row.number
        by_name[key].append(row)
        kept.append(row)
    return kept, errors


class MembershipImporter:
    """Imports a member list into one network: every row, or none."""

    def __init__(self, session: AsyncSession, actor: Principal | None) -> None:
        self.session = session
        self.members = MemberRepository(session)
        self.networks = NetworkService(session, actor)
        self.cities = city_service(session, actor)
        self.memberships = MembershipService(session, actor)

    async def run(self, slug: str, body: bytes, *, dry_run: bool) -> MembershipImportReport:
        network = await self.networks.get(slug)
        lines, errors = read_member_list(body)
        rows, row_errors = check_rows(network, lines)
        errors += row_errors
        name_keys = await names.fold_names(self.session, [row.data.name for row in rows])
        rows, row_errors = drop_repeated_cities(rows, name_keys)
        errors += row_errors
        errors += await self._match_cities(rows)
        if errors:
            raise _refusal(sorted(errors, key=_row_of))
        if not dry_run:
            return await self._apply(network, rows, dry_run=False)
        # The same work as for real, so the plan shows every conflict; then undone.
        savepoint = await self.session.begin_nested()
        try:
            return await self._apply(network, rows, dry_run=True)
        finally:
            await savepoint.rollback()

    async def _match_cities(self, rows: Sequence[_Row]) -> list[FieldError]:
        """Find the city of each row, by wikidata id, else by name in its country;
        errors for ids that name something else, ambiguous names, one city twice."""
        errors: list[FieldError] = []
        by_wikidata = await self.members.find_all_by_wikidata(
            [row.data.wikidata for row in rows if row.data.wikidata is not None]
        )
        unmatched: list[_Row] = []
        for row in rows:
            found = by_wikidata.get(row.data.wikidata) if row.data.wikidata else None
            if found is None:
                unmatched.append(row)
            elif found.kind != "city":
                errors.append(
                    _error(
                        row.number,
                        "wikidata",
                        f"{row.data.wikidata} is the organization {found.name} ({found.id}), "
                        "not a city",
                        "value_error",
                    )
                )
            elif found.country_code != row.data.country_code:
                errors.append(
                    _error(
                        row.number,
                        "country_code",
                        f"{row.data.wikidata} is {found.name} in {found.country_code}, "
                        f"not in {row.data.country_code}",
                        "value_error",
                    )
                )
            else:
                row.city, row.matched_by = found, "wikidata"
        candidates: dict[int, list[tuple[Member, bool]]] = defaultdict(list)
        for index, city, on_name in await self.members.match_city_names(
            [(row.data.name, row.data.country_code) for row in unmatched]
        ):
            candidates[index].append((city, on_name))
        for index, row in enumerate(unmatched):
            # A row's own wikidata id rules out a namesake that carries another one.
            eligible = [
                (city, on_name)
                for city, on_name in candidates[index]
                if row.data.wikidata is None or city.wikidata is None
            ]
            by_own_name = {city.id: city for city, on_name in eligible if on_name}
            found_cities = by_own_name or {city.id: city for city, _ in eligible}
            if len(found_cities) > 1:
                names = ", ".join(f"{city.name} ({city.id})" for city in found_cities.values())
                errors.append(
                    _error(
                        row.number,
                        "name",
                        f"matches {len(found_cities)} cities in {row.data.country_code}: "
                        f"{names}; add a wikidata column to say which",
                        "ambiguous",
                    )
                )
            elif found_cities:
                row.city = next(iter(found_cities.values()))
                row.matched_by = "name" if by_own_name else "alt_name"
        first_row_of: dict[object, int] = {}
        for row in rows:
            if row.city is None:
                continue
            if row.city.id in first_row_of:
                errors.append(
                    _error(
                        row.number,
                        row.matched_by if row.matched_by == "wikidata" else "name",
                        f"names the same city as row {first_row_of[row.city.id]}: "
                        f"{row.city.name} ({row.city.id})",
                        "duplicate",
                    )
                )
            first_row_of.setdefault(row.city.id, row.number)
        return errors

    async def _apply(
        self, network: Network, rows: Sequence[_Row], *, dry_run: bool
    ) -> MembershipImportReport:
        # Every lock a row will take, taken up front in the one order all writers use,
        # so that two imports naming the same cities in different orders cannot deadlock.
        await rules.lock_network(self.session, network.id, exclusive=False)
        await rules.lock_members(
            self.session, network.id, [row.city.id for row in rows if row.city is not None]
        )
        results: list[MembershipImportRowResult] = []
        errors: list[FieldError] = []
        conflict = False
        for row in rows:
            column = "wikidata" if row.data.wikidata else "name"
            try:
                if row.city is not None:
                    member_id = row.city.id
                else:
                    city = await self.cities.create(
                        CityCreate(
                            name=row.data.name,
                            country_code=row.data.country_code,
                            wikidata=row.data.wikidata,
                        )
                    )
                    member_id = city.id
                column = "start_date"
                membership = await self.memberships.create(
                    network.slug,
                    MembershipCreate(
                        member_id=member_id,
                        category=row.data.category,
                        start_date=row.data.start_date,
                    ),
                )
            except (Conflict, ValidationFailed) as error:
                errors.append(_error(row.number, column, error.detail, error.code))
                conflict = conflict or isinstance(error, Conflict)
                continue
            results.append(
                MembershipImportRowResult(
                    row=row.number,
                    name=row.data.name,
                    action="create_membership" if row.city else "create_city_and_membership",
                    matched_by=row.matched_by,
                    member_id=member_id if row.city or not dry_run else None,
                    membership_id=None if dry_run else membership.id,
                )
            )
        if errors:
            raise _refusal(errors, conflict=conflict)
        matched = sum(1 for row in rows if row.city is not None)
        return MembershipImportReport(
            network=network.slug,
            dry_run=dry_run,
            rows=results,
            created_cities=len(rows) - matched,
            matched_cities=matched,
            created_memberships=len(results),
        )
