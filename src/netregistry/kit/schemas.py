"""Base classes of the request and response shapes."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict


class ReadSchema(BaseModel):
    """A representation the API returns."""

    model_config = ConfigDict(from_attributes=True)


class WriteSchema(BaseModel):
    """A request body: unknown fields are refused, so a typo never passes silently."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    def values(self, *, exclude_unset: bool = False) -> dict[str, Any]:
        """The fields as Python values (unlike ``model_dump``, value types stay intact)."""
        names = self.model_fields_set if exclude_unset else type(self).model_fields
        return {name: getattr(self, name) for name in names}
