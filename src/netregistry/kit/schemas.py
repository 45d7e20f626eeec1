"""Base classes of the request and response shapes."""

from __future__ import annotations

from typing import Any, ClassVar, Self

from pydantic import BaseModel, ConfigDict, GetJsonSchemaHandler, field_validator, model_validator
from pydantic.json_schema import JsonSchemaValue
from pydantic_core import CoreSchema


class ReadSchema(BaseModel):
    """A representation the API returns."""

    model_config = ConfigDict(from_attributes=True)


class WriteSchema(BaseModel):
    """A request body: unknown fields are refused, so a typo never passes silently."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    @field_validator("*", mode="before")
    @classmethod
    def _no_nul_characters(cls, value: Any) -> Any:
        # PostgreSQL text cannot hold U+0000: refuse it here, not with a 500 at the INSERT.
        if _contains_nul(value):
            raise ValueError("must not contain the NUL character (U+0000)")
        return value

    def values(self, *, exclude_unset: bool = False) -> dict[str, Any]:
        """The fields as Python values (unlike ``model_dump``, value types stay intact)."""
        names = self.model_fields_set if exclude_unset else type(self).model_fields
        return {name: getattr(self, name) for name in names}


class UpdateSchema(WriteSchema):
    """A PATCH body: only the fields sent change, and `null` clears a field, except the
    fields named in ``required``, which a resource cannot lack."""

    required: ClassVar[tuple[str, ...]] = ()

    @classmethod
    def __get_pydantic_json_schema__(
        cls, core_schema: CoreSchema, handler: GetJsonSchemaHandler
    ) -> JsonSchemaValue:
        # The contract offers `null` only where it clears: a required field's schema is
        # its type alone (the validator below refuses the null the type would admit).
        schema = handler.resolve_ref_schema(handler(core_schema))
        for field in cls.required:
            prop = schema["properties"][field]
            kept = [option for option in prop.pop("anyOf") if option != {"type": "null"}]
            prop.pop("default", None)
            (only,) = kept
            prop.update(only)
        return schema

    @model_validator(mode="after")
    def _required_not_cleared(self) -> Self:
        for field in self.required:
            if field in self.model_fields_set and getattr(self, field) is None:
                raise ValueError(f"{field} cannot be null")
        return self


def _contains_nul(value: Any) -> bool:
    if isinstance(value, str):
        return "\x00" in value
    if isinstance(value, list | tuple):
        return any(_contains_nul(item) for item in value)
    if isinstance(value, dict):
        return any(_contains_nul(key) or _contains_nul(item) for key, item in value.items())
    return False
