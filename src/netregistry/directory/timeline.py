"""A network's history as an SVG timeline: one lane per role, each tenure a bar from its
start to its end labelled with its holder.

Dates are drawn as the sources give them. A start or end given as a year or month is a
fade over that year or month (the days the source leaves uncertain); a start "since
before the records" fades in from the left edge; an ongoing tenure runs to the day
drawn for, with an open end. Tenures of one role that overlap (co-chairs, executive
cities) take a row each within the lane; a gap between two holders is empty space.
Presentation attributes only (no CSS, no script), so the file renders alike inline and
on its own, under any Content-Security-Policy.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import date, timedelta

from markupsafe import Markup, escape

from netregistry.kit.dates import PartialDate

WIDTH = 960
LEFT = 150  # the lanes' names
RIGHT = 24
TOP = 40
ROW = 26
BAR = 18
LANE_GAP = 14
BAR_COLOUR = "#1f5f99"
TEXT_COLOUR = "#ffffff"
INK = "#1a1a1a"
RULE = "#767676"

Scale = Callable[[date], float]


@dataclass(frozen=True)
class Tenure:
    role: str
    holder: str
    start: PartialDate | None
    end: PartialDate | None
    holder_id: uuid.UUID | None = None
    # The holder's name's own language where it is not the drawing's (None: it is).
    lang: str | None = None


@dataclass(frozen=True)
class Lane:
    slug: str
    name: str
    tenures: tuple[Tenure, ...]


def in_words(tenure: Tenure) -> str:
    since = f"from {tenure.start}" if tenure.start else "from before the records"
    until = f"until {tenure.end}" if tenure.end else "ongoing"
    return f"{tenure.holder}, {since} {until}"


def _rows(tenures: Sequence[Tenure], first: date, last: date) -> list[list[Tenure]]:
    """Tenures in start order, each in the first row where it overlaps no certain day;
    among tenures that start together, one that continues a row's holder (London
    chairing again) takes that row first."""

    def certain(tenure: Tenure) -> tuple[date, date]:
        # By the certain days (kit/dates.py): a handover within an uncertain month stays
        # in one row, the one holder fading out over the month the other fades in.
        start = tenure.start.last_day() if tenure.start else first
        end = tenure.end.first_day() if tenure.end else last
        return start, end

    rows: list[list[Tenure]] = []
    ends: list[date] = []
    ordered = sorted(tenures, key=lambda t: (certain(t)[0], t.holder))
    groups: dict[date, list[Tenure]] = {}
    for tenure in ordered:
        groups.setdefault(certain(tenure)[0], []).append(tenure)
    for start, group in groups.items():
        free = {index for index, row_end in enumerate(ends) if row_end <= start}
        holders = {rows[index][-1].holder: index for index in sorted(free, reverse=True)}
        continuing = [t for t in group if t.holder in holders]
        for tenure in continuing + [t for t in group if t not in continuing]:
            index = holders.pop(tenure.holder, None) if tenure in continuing else None
            if index is None or index not in free:
                index = min(free) if free else None
            if index is None:
                rows.append([tenure])
                ends.append(certain(tenure)[1])
                continue
            free.discard(index)
            rows[index].append(tenure)
            ends[index] = certain(tenure)[1]
    return rows


def _span(lanes: Sequence[Lane], today: date) -> tuple[date, date]:
    known = [
        day
        for lane in lanes
        for tenure in lane.tenures
        for partial in (tenure.start, tenure.end)
        if partial is not None
        for day in (partial.first_day(),)
        if day <= today
    ]
    earliest = min(known, default=today - timedelta(days=365 * 5))
    unknown_start = any(t.start is None for lane in lanes for t in lane.tenures)
    first = date(earliest.year - (1 if unknown_start else 0), 1, 1)
    return first, max(today, first + timedelta(days=365))


def timeline_svg(
    lanes: Sequence[Lane],
    today: date,
    *,
    title: str,
    lang: str = "en",
    id_prefix: str = "timeline",
) -> Markup:
    """The timeline of ``lanes`` up to ``today`` as an ``<svg>`` element (valid as a file
    of its own), written in ``lang``, with a ``<title>`` and a ``<desc>`` naming every
    tenure in words; a holder's label carries the language of its name where that is
    another (``lang`` for HTML and SVG 2, ``xml:lang`` for SVG 1.1 readers)."""
    first, last = _span(lanes, today)
    span = (last - first).days or 1
    scale = (WIDTH - LEFT - RIGHT) / span

    def x(day: date) -> float:
        day = min(max(day, first), last)
        return round(LEFT + (day - first).days * scale, 1)

    parts: list[str] = []
    y = TOP
    for lane in lanes:
        rows = _rows(lane.tenures, first, last) or [[]]
        height = len(rows) * ROW
        parts.append(
            f'<g class="lane" data-role="{escape(lane.slug)}">'
            f'<text x="8" y="{y + ROW / 2 + 4}" fill="{INK}" font-size="13" '
            f'font-weight="bold">{escape(lane.name)}</text>'
            f'<line x1="{LEFT}" x2="{WIDTH - RIGHT}" y1="{y + height + LANE_GAP / 2}" '
            f'y2="{y + height + LANE_GAP / 2}" stroke="#dddddd"/>'
        )
        for index, row in enumerate(rows):
            top = y + index * ROW + (ROW - BAR) / 2
            for tenure in row:
                parts.append(_bar(tenure, top, x, first, last, id_prefix))
        parts.append("</g>")
        y += height + LANE_GAP
    axis = _axis(first, last, x, y)
    height = y + 30
    words = "; ".join(
        f"{lane.name}: " + (", ".join(in_words(t) for t in lane.tenures) or "no holder")
        for lane in lanes
    )
    # Every value written into it is escaped (markupsafe.escape) or a number.
    return Markup(  # noqa: S704
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {WIDTH} {height}" '
        f'width="{WIDTH}" height="{height}" role="img" {_lang(lang)} '
        f'aria-labelledby="{id_prefix}-title {id_prefix}-desc" font-family="sans-serif">'
        f'<title id="{id_prefix}-title">{escape(title)}</title>'
        f'<desc id="{id_prefix}-desc">{escape(words)}. Drawn up to {today}.</desc>'
        "<defs>"
        f'<linearGradient id="{id_prefix}-fade-in" x1="0" x2="1" y1="0" y2="0">'
        f'<stop offset="0" stop-color="{BAR_COLOUR}" stop-opacity="0.05"/>'
        f'<stop offset="1" stop-color="{BAR_COLOUR}" stop-opacity="1"/></linearGradient>'
        f'<linearGradient id="{id_prefix}-fade-out" x1="0" x2="1" y1="0" y2="0">'
        f'<stop offset="0" stop-color="{BAR_COLOUR}" stop-opacity="1"/>'
        f'<stop offset="1" stop-color="{BAR_COLOUR}" stop-opacity="0.05"/></linearGradient>'
        "</defs>"
        f'<rect x="0" y="0" width="{WIDTH}" height="{height}" fill="#ffffff"/>'
        + axis
        + "".join(parts)
        + "</svg>"
    )


def _bar(tenure: Tenure, top: float, x: Scale, first: date, last: date, prefix: str) -> str:
    # The certain days: a partial start counts from its last day, a partial end stops at
    # its first day (kit/dates.py); the uncertain ones either side are the fades.
    if tenure.start is None:
        fade_in_from, solid_from = first, first + (last - first) / 40
    elif tenure.start.is_exact:
        fade_in_from = solid_from = tenure.start.first_day()
    else:
        fade_in_from = tenure.start.first_day()
        solid_from = tenure.start.last_day() + timedelta(days=1)
    if tenure.end is None:
        solid_to = fade_out_to = last
    elif tenure.end.is_exact:
        solid_to = fade_out_to = tenure.end.first_day()
    else:
        solid_to = tenure.end.first_day()
        fade_out_to = tenure.end.last_day() + timedelta(days=1)
    x0, x1, x2, x3 = x(fade_in_from), x(solid_from), x(solid_to), x(fade_out_to)
    x2 = max(x2, x1)
    label = escape(tenure.holder)
    pieces = [
        f'<g class="tenure" data-holder="{label}" '
        f'data-start="{escape(str(tenure.start or ""))}" '
        f'data-end="{escape(str(tenure.end or ""))}" data-x0="{x0}" data-x3="{x3}">',
        f"<title>{escape(in_words(tenure))}</title>",
    ]
    if x1 > x0:
        pieces.append(
            f'<rect x="{x0}" y="{top}" width="{round(x1 - x0, 1)}" height="{BAR}" '
            f'fill="url(#{prefix}-fade-in)"/>'
        )
    pieces.append(
        f'<rect class="solid" x="{x1}" y="{top}" width="{round(x2 - x1, 1)}" height="{BAR}" '
        'stroke="#ffffff" stroke-width="1" '
        f'fill="{BAR_COLOUR}"/>'
    )
    if x3 > x2:
        pieces.append(
            f'<rect x="{x2}" y="{top}" width="{round(x3 - x2, 1)}" height="{BAR}" '
            f'fill="url(#{prefix}-fade-out)"/>'
        )
    if tenure.end is None:  # ongoing: an open end
        pieces.append(f'<path d="M{x3} {top} l6 {BAR / 2} l-6 {BAR / 2} z" fill="{BAR_COLOUR}"/>')
    middle = round((max(x0, x1 - 4) + x3) / 2, 1)
    own = "" if tenure.lang is None else " " + _lang(tenure.lang)
    pieces.append(
        f'<text x="{middle}" y="{top + BAR / 2 + 4}" text-anchor="middle" font-size="11" '
        f'fill="{TEXT_COLOUR}"{own}>{label}</text></g>'
    )
    return "".join(pieces)


def _lang(tag: str) -> str:
    return f'lang="{escape(tag)}" xml:lang="{escape(tag)}"'


def _axis(first: date, last: date, x: Scale, y: float) -> str:
    years = last.year - first.year + 1
    step = 1 if years <= 16 else 2 if years <= 32 else 5 if years <= 80 else 10
    parts = [
        f'<line x1="{LEFT}" x2="{WIDTH - RIGHT}" y1="{y}" y2="{y}" stroke="{RULE}"/>',
    ]
    for year in range(first.year, last.year + 1):
        if year % step:
            continue
        tick = x(date(year, 1, 1))
        parts.append(
            f'<line x1="{tick}" x2="{tick}" y1="{TOP - 6}" y2="{y + 4}" stroke="#e4e4e4"/>'
            f'<text x="{tick}" y="{y + 18}" font-size="11" text-anchor="middle" '
            f'fill="{INK}">{year}</text>'
        )
    now = x(last)
    parts.append(
        f'<line x1="{now}" x2="{now}" y1="{TOP - 10}" y2="{y}" stroke="#b00020" '
        f'stroke-dasharray="3 3"/><text x="{now}" y="{TOP - 14}" font-size="11" '
        f'text-anchor="end" fill="#b00020">{last}</text>'
    )
    return "".join(parts)
