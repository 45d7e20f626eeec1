"""Keeping a network's member list in step with a spreadsheet (CSV).

The whole file is read and every row checked before anything is written. Each row's
member is found by its wikidata id, else by its name (or an alternative name) in its
country, names compared as :mod:`netregistry.registry.names` folds them. A name that
matches no member exactly but resembles some is *ambiguous*: the plan lists the
candidates (scored as ``/v1/reconcile`` scores them) and nothing is written for it
unless the file says it is new (the ``new`` column, or ``create_unmatched=true``); a
name like no member's is a member to add.

The plan then compares each row with the member's membership in force: none (create
one), another category (end it on the row's ``start_date`` and open the next from that
date), other dates, source or note (update it), or the same (unchanged); and lists the
network's memberships in force whose members the file omits, ending them on
``end_missing`` when asked. A dry run returns the plan; a real run applies it, every
part or none, in batches through the nouns' bulk paths (the same rules, locks, audit
and change feed as single requests). Any problem refuses the file with one error per
problem naming the row (the header is row 1) and the column.
"""

from __future__ import annotations

import asyncio
import csv
import io
import uuid
from collections import Counter, defaultdict
from collections.abc import AsyncIterator, Awaitable, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import date
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
)
from netregistry.kit.dates import CertainPeriod, PartialDate, describe_period, validate_period
from netregistry.kit.messages import count_of, officer_message, with_article
from netregistry.members.repository import MemberRepository
from netregistry.members.service import MemberService, city_service, organization_service
from netregistry.memberships.repository import MembershipRepository
from netregistry.memberships.schemas import (
    ImportAction,
    ImportCandidate,
    ImportSummary,
    MembershipImportReport,
    MembershipImportRow,
    MembershipImportRowResult,
    MissingMember,
)
from netregistry.memberships.service import MembershipService, overlap_conflict
from netregistry.models import Member, Membership, Network
from netregistry.networks.service import NetworkService
from netregistry.registry import names, rules
from netregistry.registry.candidates import Candidate, Wanted, find_candidates
from netregistry.registry.service import RowRefused
from netregistry.registry.shapes import MemberSummary

MAX_ROWS = 10_000
REQUIRED_COLUMNS = ("name", "country_code", "category")
OPTIONAL_COLUMNS = (
    "kind",
    "wikidata",
    "start_date",
    "end_date",
    "source_url",
    "note",
    "lang",
    "new",
)
# A candidate scoring this much (of 100) makes a name ambiguous: below it, a name is
# like no member's and the row adds one.
SUGGESTION_SCORE = 60
# What a spreadsheet writes in the ``new`` column for "yes".
_MARKED = frozenset({"x", "new", "yes", "y", "true", "1"})
_UNMARKED = frozenset({"no", "n", "false", "0"})
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
    """A valid row, the member it names once matched (``None``: a member to add, or an
    ambiguous name), and what the plan does with it."""

    number: int
    data: MembershipImportRow
    member: Member | None = None
    matched_by: MatchedBy | None = None
    candidates: list[Candidate] = field(default_factory=list)
    action: ImportAction = "create_membership"
    # The membership in force the row is about (changed, ended or unchanged).
    current: Membership | None = None
    changes: dict[str, Any] = field(default_factory=dict)
    member_id: uuid.UUID | None = None
    membership_id: uuid.UUID | None = None


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
        if "kind" in given:
            given["kind"] = given["kind"].lower()
        if "new" in given:
            marker = given["new"].lower()
            given["new"] = (
                "true" if marker in _MARKED else "false" if marker in _UNMARKED else marker
            )
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


def drop_repeated_members(
    rows: Sequence[_Row], name_keys: Sequence[str]
) -> tuple[list[_Row], list[FieldError]]:
    """The rows that name a member no earlier row names, and an error for each other one.

    ``name_keys`` are the rows' names folded (:func:`~netregistry.registry.names.fold_names`),
    the keys the registry's members are matched by, so that a file and the registry agree
    on when two names are one member.
    """
    kept: list[_Row] = []
    errors: list[FieldError] = []
    by_wikidata: dict[str, int] = {}
    by_name: dict[tuple[str, str, str], list[_Row]] = defaultdict(list)
    for row, name_key in zip(rows, name_keys, strict=True):
        data = row.data
        if data.wikidata is not None and data.wikidata in by_wikidata:
            errors.append(
                _error(
                    row.number,
                    "wikidata",
                    f"names the same member as row {by_wikidata[data.wikidata]}",
                    "duplicate",
                )
            )
            continue
        key = (name_key, data.country_code, data.kind)
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
                    f"names the same {data.kind} as row {same[0].number}",
                    "duplicate",
                )
            )
            continue
        if data.wikidata is not None:
            by_wikidata[data.wikidata] = row.number
        by_name[key].append(row)
        kept.append(row)
    return kept, errors


def _starts(membership: Membership) -> date:
    """The first day a membership may have begun: the order of one member's periods."""
    return membership.start_date.first_day() if membership.start_date else date.min


def _did_you_mean(row: _Row) -> str:
    listed = ", or ".join(candidate.in_words() for candidate in row.candidates)
    return f"row {row.number}, {row.data.name!r}: did you mean {listed}?"


class MembershipImporter:
    """Keeps one network's member list in step with a file: every change, or none."""

    def __init__(self, session: AsyncSession, actor: Principal | None) -> None:
        self.session = session
        self.members = MemberRepository(session)
        self.held = MembershipRepository(session)
        self.networks = NetworkService(session, actor)
        self.services: dict[str, MemberService[Any]] = {
            "city": city_service(session, actor),
            "organization": organization_service(session, actor),
        }
        self.memberships = MembershipService(session, actor)

    async def run(
        self,
        slug: str,
        body: bytes,
        *,
        dry_run: bool,
        create_unmatched: bool = False,
        end_missing: PartialDate | None = None,
    ) -> MembershipImportReport:
        network = await self.networks.get(slug)
        lines, errors = read_member_list(body)
        rows, row_errors = check_rows(network, lines)
        errors += row_errors
        name_keys = await names.fold_names(self.session, [row.data.name for row in rows])
        rows, row_errors = drop_repeated_members(rows, name_keys)
        errors += row_errors
        errors += await self._match_members(rows)
        if errors:
            raise _refusal(sorted(errors, key=_row_of))
        await self._suggest(rows, create_unmatched=create_unmatched)
        # Every lock the writes take, taken before the plan reads what they guard, in
        # the one order all writers use: two imports naming the same members in
        # different orders cannot deadlock, and the plan stays true until applied.
        await rules.lock_network(self.session, network.id, exclusive=False)
        await rules.lock_members(
            self.session, network.id, [row.member.id for row in rows if row.member is not None]
        )
        held = await self.held.of_network(network.id)
        missing, plan_errors = self._plan(network, rows, held, end_missing)
        if plan_errors:
            conflict = any(error.type == "conflict" for error in plan_errors)
            raise _refusal(sorted(plan_errors, key=_row_of), conflict=conflict)
        ambiguous = [row for row in rows if row.action == "ambiguous"]
        if ambiguous and not dry_run:
            raise _refusal(
                [
                    _error(
                        row.number,
                        "name",
                        f"{_did_you_mean(row).split(': ', 1)[1]} The name matches no "
                        f"{row.data.kind} exactly: write it as the registry does, add its "
                        "wikidata id, or mark the row new (the new column, or "
                        "create_unmatched=true)",
                        "ambiguous",
                    )
                    for row in ambiguous
                ]
            )
        report = self._report(network, rows, missing, end_missing, dry_run=dry_run)
        if report.changed_nothing:
            return report
        if not dry_run:
            await self._apply(network, rows, missing, end_missing)
            return report
        # The same work as for real, so the plan shows every conflict; then undone.
        savepoint = await self.session.begin_nested()
        try:
            await self._apply(network, rows, missing, end_missing)
        finally:
            await savepoint.rollback()
        return report

    async def _match_members(self, rows: Sequence[_Row]) -> list[FieldError]:
        """Find the member of each row, by wikidata id, else by name in its country;
        errors for ids that name something else, ambiguous names, one member twice."""
        errors: list[FieldError] = []
        by_wikidata = await self.members.find_all_by_wikidata(
            [row.data.wikidata for row in rows if row.data.wikidata is not None]
        )
        unmatched: list[_Row] = []
        for row in rows:
            data = row.data
            found = by_wikidata.get(data.wikidata) if data.wikidata else None
            if found is None:
                unmatched.append(row)
            elif found.kind != data.kind:
                errors.append(
                    _error(
                        row.number,
                        "wikidata",
                        f"{data.wikidata} is the {found.kind} {found.name} ({found.id}), "
                        f"not {with_article(data.kind)}",
                        "value_error",
                    )
                )
            elif found.country_code is not None and found.country_code != data.country_code:
                errors.append(
                    _error(
                        row.number,
                        "country_code",
                        f"{data.wikidata} is {found.name} in {found.country_code}, "
                        f"not in {data.country_code}",
                        "value_error",
                    )
                )
            else:
                row.member, row.matched_by = found, "wikidata"
        candidates: dict[int, list[tuple[Member, bool]]] = defaultdict(list)
        for index, member, on_name in await self.members.match_names(
            [(row.data.name, row.data.country_code, row.data.kind) for row in unmatched]
        ):
            candidates[index].append((member, on_name))
        for index, row in enumerate(unmatched):
            # A row's own wikidata id rules out a namesake that carries another one.
            eligible = [
                (member, on_name)
                for member, on_name in candidates[index]
                if row.data.wikidata is None or member.wikidata is None
            ]
            by_own_name = {member.id: member for member, on_name in eligible if on_name}
            found_members = by_own_name or {member.id: member for member, _ in eligible}
            if len(found_members) > 1:
                listed = ", ".join(f"{m.name} ({m.id})" for m in found_members.values())
                plural = "cities" if row.data.kind == "city" else "organizations"
                errors.append(
                    _error(
                        row.number,
                        "name",
                        f"matches {len(found_members)} {plural} in {row.data.country_code}: "
                        f"{listed}; add a wikidata column to say which",
                        "ambiguous",
                    )
                )
            elif found_members:
                row.member = next(iter(found_members.values()))
                row.matched_by = "name" if by_own_name else "alt_name"
        first_row_of: dict[object, int] = {}
        for row in rows:
            if row.member is None:
                continue
            if row.member.id in first_row_of:
                errors.append(
                    _error(
                        row.number,
                        row.matched_by if row.matched_by == "wikidata" else "name",
                        f"names the same {row.member.kind} as row "
                        f"{first_row_of[row.member.id]}: {row.member.name} ({row.member.id})",
                        "duplicate",
                    )
                )
            first_row_of.setdefault(row.member.id, row.number)
        return errors

    async def _suggest(self, rows: Sequence[_Row], *, create_unmatched: bool) -> None:
        """The candidates of each row whose name matched no member exactly; such a row
        is ambiguous unless the file (or ``create_unmatched``) says it is new."""
        unmatched = [row for row in rows if row.member is None]
        found = await find_candidates(
            self.session,
            [
                Wanted(row.data.name, row.data.country_code, row.data.kind, row.data.wikidata)
                for row in unmatched
            ],
        )
        for row, candidates in zip(unmatched, found, strict=True):
            row.candidates = [c for c in candidates if c.score >= SUGGESTION_SCORE]
            if row.candidates and not (row.data.new or create_unmatched):
                row.action = "ambiguous"
            else:
                row.action = (
                    "create_city_and_membership"
                    if row.data.kind == "city"
                    else "create_organization_and_membership"
                )
                row.member_id = uuid.uuid4()
                row.membership_id = uuid.uuid4()

    def _plan(
        self,
        network: Network,
        rows: Sequence[_Row],
        held: Sequence[Membership],
        end_missing: PartialDate | None,
    ) -> tuple[list[tuple[Membership, bool]], list[FieldError]]:
        """Each matched row's action against the member's memberships (``held``: the
        network's); the memberships in force of members the file omits (and whether
        they end); the problems that refuse the file."""
        errors: list[FieldError] = []
        by_member: dict[uuid.UUID, list[Membership]] = defaultdict(list)
        for membership in held:
            by_member[membership.member_id].append(membership)
        for memberships in by_member.values():
            memberships.sort(key=_starts)
        for row in rows:
            if row.member is None:
                continue
            data = row.data
            row.member_id = row.member.id
            memberships = by_member.get(row.member.id, [])
            current = memberships[-1] if memberships else None
            start = data.start_date
            if current is None or (
                start is not None
                and current.end_date is not None
                and start.first_day() >= current.end_date.first_day()
            ):
                row.action, row.membership_id = "create_membership", uuid.uuid4()
            elif data.category != current.category:
                if start is None:
                    errors.append(
                        _error(
                            row.number,
                            "start_date",
                            f"is needed: {row.member.name} is {with_article(current.category)} "
                            f"member of {network.slug} "
                            f"{describe_period(current.start_date, current.end_date)}; give "
                            f"the date the {data.category} membership starts, on which the "
                            f"{current.category} one ends",
                            "missing",
                        )
                    )
                    continue
                if problem := validate_period(current.start_date, start):
                    errors.append(
                        _error(
                            row.number,
                            "start_date",
                            f"{start} cannot end the {current.category} membership "
                            f"{describe_period(current.start_date, current.end_date)} "
                            f"({current.id}): {problem}",
                            "period_order",
                        )
                    )
                    continue
                row.action, row.current = "change_category", current
                row.changes = {"end_date": start}
                row.membership_id = uuid.uuid4()
            else:
                row.current, row.membership_id = current, current.id
                row.changes = {
                    name: value
                    for name in ("start_date", "end_date", "source_url", "note")
                    if (value := getattr(data, name)) is not None
                    and value != getattr(current, name)
                }
                row.action = "update_membership" if row.changes else "unchanged"
            errors += self._overlaps(row, memberships)
        listed = {row.member.id for row in rows if row.member is not None}
        missing: list[tuple[Membership, bool]] = []
        for membership in held:
            if membership.member_id in listed or membership.end_date is not None:
                continue
            missing.append((membership, end_missing is not None))
            if end_missing is not None and (
                problem := validate_period(membership.start_date, end_missing)
            ):
                errors.append(
                    FieldError(
                        location=["query", "end_missing"],
                        message=f"cannot end {membership.member.name}'s "
                        f"{membership.category} membership "
                        f"{describe_period(membership.start_date, None)} ({membership.id}) "
                        f"on {end_missing}: {problem}",
                        type="period_order",
                    )
                )
        return missing, errors

    @staticmethod
    def _overlaps(row: _Row, memberships: Sequence[Membership]) -> list[FieldError]:
        """A 409 for a row whose new or changed membership would share a day with
        another of the member's (the exclusion constraint decides races; this names
        the membership in the way)."""
        data = row.data
        if row.action in ("create_membership", "change_category"):
            start, end, own = data.start_date, data.end_date, None
        elif row.action == "update_membership" and row.current is not None:
            start = row.changes.get("start_date", row.current.start_date)
            end = row.changes.get("end_date", row.current.end_date)
            own = row.current.id
        else:
            return []
        period = CertainPeriod.of(start, end)
        for other in memberships:
            if other.id == own:
                continue
            other_end = row.changes["end_date"] if other is row.current else other.end_date
            if period.overlaps(CertainPeriod.of(other.start_date, other_end)):
                conflict = overlap_conflict(other, start)
                return [_error(row.number, "start_date", conflict.detail, conflict.code)]
        return []

    async def _apply(
        self,
        network: Network,
        rows: Sequence[_Row],
        missing: Sequence[tuple[Membership, bool]],
        end_missing: PartialDate | None,
    ) -> None:
        """Write the plan in batches: the new members, then the changed memberships
        (ends first, so that the next ones fit), then the new memberships; then the
        rule across roles and memberships, once for the network."""
        for kind, service in self.services.items():
            new = [
                row
                for row in rows
                if row.action.startswith("create_") and row.member is None and row.data.kind == kind
            ]
            await self._each_row(
                new,
                "name",
                service.import_created(
                    [
                        {
                            "id": row.member_id,
                            "name": row.data.name,
                            "country_code": row.data.country_code,
                            "wikidata": row.data.wikidata,
                            **_tagged_name(row.data.name, row.data.lang),
                        }
                        for row in new
                    ]
                ),
            )
        changed = [
            row
            for row in rows
            if row.action in ("change_category", "update_membership") and row.current
        ]
        ended = [(membership, {"end_date": end_missing}) for membership, end in missing if end]
        await self._each_row(
            changed,
            "start_date",
            self.memberships.update_all(
                network,
                [(row.current, row.changes) for row in changed if row.current is not None] + ended,
            ),
        )
        opened = [
            row
            for row in rows
            if row.action.startswith("create_") or row.action == "change_category"
        ]
        await self._each_row(
            opened,
            "start_date",
            self.memberships.import_created(
                [
                    {
                        "id": row.membership_id,
                        "network": network.slug,
                        "member_id": row.member_id,
                        "category": row.data.category,
                        "start_date": row.data.start_date,
                        "end_date": row.data.end_date,
                        "source_url": row.data.source_url,
                        "note": row.data.note,
                    }
                    for row in opened
                ]
            ),
        )
        await rules.check_membership_coverage(self.session, network.id)

    @staticmethod
    async def _each_row(rows: Sequence[_Row], column: str, write: Awaitable[None]) -> None:
        """Run a batch ``write`` of ``rows``; a row it refuses refuses the file (409),
        naming that row (an index past ``rows``: a missing member's membership)."""
        try:
            await write
        except RowRefused as refused:
            number = rows[refused.index].number if refused.index < len(rows) else None
            location: list[str | int] = (
                ["body", "row", number, column] if number is not None else ["query", "end_missing"]
            )
            error = FieldError(location=location, message=refused.reason, type="conflict")
            raise _refusal([error], conflict=True) from refused

    def _report(
        self,
        network: Network,
        rows: Sequence[_Row],
        missing: Sequence[tuple[Membership, bool]],
        end_missing: PartialDate | None,
        *,
        dry_run: bool,
    ) -> MembershipImportReport:
        results = [self._result(row, dry_run=dry_run) for row in rows]
        count = Counter(row.action for row in rows)
        created_members = (
            count["create_city_and_membership"] + count["create_organization_and_membership"]
        )
        ended_missing = sum(1 for _, end in missing if end)
        summary = ImportSummary(
            created=created_members + count["create_membership"] + count["change_category"],
            changed=count["change_category"] + count["update_membership"],
            unchanged=count["unchanged"],
            ended=count["change_category"] + ended_missing,
            ambiguous=count["ambiguous"],
            missing=len(missing),
        )
        changed_nothing = summary.created == summary.changed == summary.ended == 0
        return MembershipImportReport(
            network=network.slug,
            dry_run=dry_run,
            changed_nothing=changed_nothing,
            message=_plan_in_words(summary, changed_nothing, dry_run=dry_run),
            summary=summary,
            rows=results,
            missing=[
                MissingMember(
                    membership_id=membership.id,
                    member=MemberSummary.model_validate(membership.member),
                    category=membership.category,
                    start_date=membership.start_date,
                    action="end" if end else "keep",
                    end_date=end_missing if end else None,
                )
                for membership, end in missing
            ],
            created_cities=created_members,
            matched_cities=sum(1 for row in rows if row.member is not None),
            created_memberships=summary.created,
        )

    @staticmethod
    def _result(row: _Row, *, dry_run: bool) -> MembershipImportRowResult:
        data = row.data
        opens = row.action.startswith("create_") or row.action == "change_category"
        since = f"from {data.start_date}" if data.start_date else "from before the records"
        who = (
            f"{row.member.name} ({row.member.country_code or 'no country'})"
            if row.member is not None
            else f"{data.name} ({data.country_code})"
        )
        current = row.current
        messages = {
            "create_city_and_membership": f"adds the city {who}, {data.category} {since}",
            "create_organization_and_membership": (
                f"adds the organization {who}, {data.category} {since}"
            ),
            "create_membership": f"{who} becomes {with_article(data.category)} member {since}",
            "change_category": (
                f"{who} is {data.category} {since}"
                + (f" ({current.category} until then)" if current else "")
            ),
            "update_membership": f"{who}: corrects {', '.join(sorted(row.changes))}",
            "unchanged": f"{who}: unchanged",
        }
        message = (
            _did_you_mean(row)
            if row.action == "ambiguous"
            else f"row {row.number}, {data.name!r}: {messages[row.action]}"
        )
        return MembershipImportRowResult(
            row=row.number,
            name=data.name,
            action=row.action,
            matched_by=row.matched_by,
            member_id=None if row.member is None and dry_run else row.member_id,
            membership_id=None if opens and dry_run else row.membership_id,
            ended_membership_id=current.id if row.action == "change_category" and current else None,
            changes=["category"] if row.action == "change_category" else sorted(row.changes),
            candidates=[
                ImportCandidate(
                    member_id=candidate.member_id,
                    kind="city" if candidate.kind == "city" else "organization",
                    name=candidate.name,
                    country_code=candidate.country_code,
                    score=candidate.score,
                )
                for candidate in row.candidates
            ],
            lang=data.lang,
            message=message,
        )


def _tagged_name(name: str, lang: str | None) -> dict[str, Any]:
    """A new member's names: the file's name in the language of the row's ``lang``."""
    if lang is None:
        return {}
    return {"names": [{"text": name, "lang": lang, "kind": "common"}]}


def _plan_in_words(summary: ImportSummary, changed_nothing: bool, *, dry_run: bool) -> str:
    """The plan in one sentence, for the officer who sent the file."""
    ambiguous = (
        f" {count_of(summary.ambiguous, 'row')} {'is' if summary.ambiguous == 1 else 'are'} "
        "ambiguous: see each row's candidates."
        if summary.ambiguous
        else ""
    )
    if changed_nothing:
        return (
            "Nothing to change: the registry already says what the file says "
            f"({count_of(summary.unchanged, 'row')} unchanged)." + ambiguous
        )
    would = "would " if dry_run else ""
    return (
        f"The import {would}{'open' if dry_run else 'opened'} "
        f"{count_of(summary.created, 'membership')}, {would}"
        f"{'change' if dry_run else 'changed'} {count_of(summary.changed, 'row')}'s "
        f"membership and {would}{'end' if dry_run else 'ended'} "
        f"{count_of(summary.ended, 'membership')}; {count_of(summary.unchanged, 'row')} "
        f"unchanged; {count_of(summary.missing, 'membership')} in force of members the "
        "file omits." + ambiguous
    )
