"""The path parameters the nouns' routes share: a network's slug and a role's."""

from __future__ import annotations

from typing import Annotated

from fastapi import Path

from netregistry.kit.types import LOOKUP_PATTERN

SlugPath = Annotated[
    str,
    Path(
        max_length=63,
        pattern=LOOKUP_PATTERN,
        description="The network's slug.",
        examples=["citynet"],
    ),
]
RolePath = Annotated[
    str,
    Path(max_length=63, pattern=LOOKUP_PATTERN, description="The role's slug.", examples=["chair"]),
]
