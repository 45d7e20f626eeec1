"""Field types shared by the request and response shapes."""

from __future__ import annotations

from typing import Annotated

from pydantic import AfterValidator, HttpUrl, StringConstraints, TypeAdapter

SLUG_PATTERN = r"^[a-z0-9]+(-[a-z0-9]+)*$"

Slug = Annotated[str, StringConstraints(pattern=SLUG_PATTERN, min_length=1, max_length=63)]
Name = Annotated[str, StringConstraints(min_length=1, max_length=200)]
ShortText = Annotated[str, StringConstraints(min_length=1, max_length=500)]
LongText = Annotated[str, StringConstraints(max_length=20_000)]

_http_url = TypeAdapter(HttpUrl)


def _check_http_url(value: str) -> str:
    _http_url.validate_python(value)
    return value


WebUrl = Annotated[str, StringConstraints(max_length=2000), AfterValidator(_check_http_url)]
"""An http(s) URL, kept exactly as given."""
