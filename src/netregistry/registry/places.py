"""Where members are: the coordinates of members by id, for maps and GeoJSON."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from typing import Any

from sqlalchemy import Uuid, any_, bindparam, select
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.ext.asyncio import AsyncSession

from netregistry.models import Member

Coordinates = tuple[float, float]  # (longitude, latitude), as GeoJSON orders them


async def coordinates(
    session: AsyncSession, member_ids: Sequence[uuid.UUID]
) -> dict[uuid.UUID, Coordinates]:
    """The longitude and latitude of each of ``member_ids`` that has both."""
    if not member_ids:
        return {}
    rows = await session.execute(
        select(Member.id, Member.longitude, Member.latitude).where(
            Member.id == any_(bindparam("ids", list(member_ids), ARRAY(Uuid))),
            Member.longitude.is_not(None),
            Member.latitude.is_not(None),
        )
    )
    located: dict[uuid.UUID, Coordinates] = {}
    for row in rows:
        member_id, longitude, latitude = row
        if longitude is not None and latitude is not None:
            located[member_id] = (longitude, latitude)
    return located


GEOJSON = "application/geo+json"


def feature_collection(
    rows: Sequence[dict[str, Any]],
    located: dict[uuid.UUID, Coordinates],
    next_cursor: str | None,
) -> dict[str, Any]:
    """A page of a member list as an RFC 7946 FeatureCollection: one Feature per
    membership row, its member's point (longitude, latitude, WGS 84) or ``geometry: null``
    for a member without coordinates, and the row's facts as properties. ``next_cursor``
    is a foreign member, as RFC 7946 section 6.1 allows."""
    features = []
    for row in rows:
        member = row["member"]
        point = located.get(uuid.UUID(member["id"]))
        features.append(
            {
                "type": "Feature",
                "id": member["id"],
                "geometry": None
                if point is None
                else {"type": "Point", "coordinates": [point[0], point[1]]},
                "properties": {
                    "name": member["name"],
                    "kind": member["kind"],
                    "country_code": member["country_code"],
                    "category": row["category"],
                    "roles": row["roles"],
                    "membership_id": row["membership_id"],
                    "start_date": row["start_date"],
                    "end_date": row["end_date"],
                },
            }
        )
    return {"type": "FeatureCollection", "features": features, "next_cursor": next_cursor}
