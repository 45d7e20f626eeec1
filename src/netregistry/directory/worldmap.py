"""Members on a map: their points projected (equirectangular: longitude and latitude as
x and y) onto a graticule, framed to the members' extent. No tiles, no coastlines, no
external data: a static SVG of where the members are, each point titled with its name."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from markupsafe import Markup, escape

WIDTH = 720
MARGIN_DEGREES = 8.0
POINT = "#b3261e"


@dataclass(frozen=True)
class Place:
    name: str
    longitude: float
    latitude: float


def _extent(places: Sequence[Place]) -> tuple[float, float, float, float]:
    """West, east, south, north of the places with a margin, at least 40° by 20°."""
    if not places:
        return -180.0, 180.0, -90.0, 90.0
    west = max(-180.0, min(p.longitude for p in places) - MARGIN_DEGREES)
    east = min(180.0, max(p.longitude for p in places) + MARGIN_DEGREES)
    south = max(-90.0, min(p.latitude for p in places) - MARGIN_DEGREES)
    north = min(90.0, max(p.latitude for p in places) + MARGIN_DEGREES)
    if east - west < 40:
        middle = (east + west) / 2
        west, east = max(-180.0, middle - 20), min(180.0, middle + 20)
    if north - south < 20:
        middle = (north + south) / 2
        south, north = max(-90.0, middle - 10), min(90.0, middle + 10)
    return west, east, south, north


def map_svg(
    places: Sequence[Place], *, title: str, unplaced: int, id_prefix: str = "map"
) -> Markup:
    west, east, south, north = _extent(places)
    scale = WIDTH / (east - west)
    height = round((north - south) * scale, 1)

    def xy(longitude: float, latitude: float) -> tuple[float, float]:
        return round((longitude - west) * scale, 1), round((north - latitude) * scale, 1)

    parts = [f'<rect x="0" y="0" width="{WIDTH}" height="{height}" fill="#eef4f8"/>']
    for meridian in range(-180, 181, 10):
        if west <= meridian <= east:
            left, _ = xy(meridian, 0)
            strong = ' stroke-width="1.5"' if meridian == 0 else ""
            parts.append(
                f'<line x1="{left}" x2="{left}" y1="0" y2="{height}" stroke="#c8d6e0"{strong}/>'
            )
    for parallel in range(-90, 91, 10):
        if south <= parallel <= north:
            _, top = xy(0, parallel)
            strong = ' stroke-width="1.5"' if parallel == 0 else ""
            parts.append(
                f'<line x1="0" x2="{WIDTH}" y1="{top}" y2="{top}" stroke="#c8d6e0"{strong}/>'
            )
    for place in places:
        cx, cy = xy(place.longitude, place.latitude)
        parts.append(
            f'<circle class="place" cx="{cx}" cy="{cy}" r="5" fill="{POINT}" '
            f'stroke="#ffffff" stroke-width="1.5" data-name="{escape(place.name)}">'
            f"<title>{escape(place.name)}</title></circle>"
        )
    words = ", ".join(
        f"{p.name} ({abs(p.latitude):.2f}°{'N' if p.latitude >= 0 else 'S'}, "
        f"{abs(p.longitude):.2f}°{'E' if p.longitude >= 0 else 'W'})"
        for p in places
    )
    without = f" {unplaced} without coordinates are not drawn." if unplaced else ""
    # Every value written into it is escaped (markupsafe.escape) or a number.
    return Markup(  # noqa: S704
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {WIDTH} {height}" '
        f'width="{WIDTH}" height="{height}" role="img" '
        f'aria-labelledby="{id_prefix}-title {id_prefix}-desc">'
        f'<title id="{id_prefix}-title">{escape(title)}</title>'
        f'<desc id="{id_prefix}-desc">{len(places)} members drawn: {escape(words)}.'
        f"{without} Longitudes {west:.0f} to {east:.0f}, latitudes {south:.0f} to "
        f"{north:.0f}, lines every 10 degrees.</desc>" + "".join(parts) + "</svg>"
    )
