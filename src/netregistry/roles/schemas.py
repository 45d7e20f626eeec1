from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from pydantic import ConfigDict, Field, StrictBool

from netregistry.kit.schemas import ReadSchema, UpdateSchema, WriteSchema
from netregistry.kit.types import NUMBER_ONLY, CategorySlug, Name, RoleSlug

MaxHolders = Annotated[int, Field(ge=1, le=10_000, description="Null: no limit."), NUMBER_ONLY]
EligibleCategories = Annotated[
    list[CategorySlug],
    Field(max_length=20, description="Categories whose members may hold it; null: any."),
]
CHAIR: dict[str, Any] = {
    "slug": "chair",
    "name": "Chair city",
    "max_holders": 1,
    "requires_membership": True,
    "eligible_categories": ["full"],
}


class RoleCreate(WriteSchema):
    """A new office of a network."""

    model_config = ConfigDict(json_schema_extra={"examples": [CHAIR]})

    slug: RoleSlug
    name: Name
    max_holders: MaxHolders | None = None
    requires_membership: StrictBool = True
    eligible_categories: EligibleCategories | None = None


class RoleUpdate(UpdateSchema):
    """Changes to a role; refused (409) if current tenures would break the new rules."""

    required = ("name", "requires_membership")

    model_config = ConfigDict(json_schema_extra={"examples": [{"max_holders": 2}]})

    name: Name | None = None
    max_holders: MaxHolders | None = None
    requires_membership: StrictBool | None = None
    eligible_categories: EligibleCategories | None = None


class RoleRead(ReadSchema):
    """An office a network defines."""

    model_config = ConfigDict(json_schema_extra={"examples": [{"network": "citynet", **CHAIR}]})

    network: str = Field(validation_alias="network_slug", examples=["citynet"])
    slug: str
    name: str
    max_holders: int | None
    requires_membership: bool
    eligible_categories: list[str] | None
    created_at: datetime
    updated_at: datetime
