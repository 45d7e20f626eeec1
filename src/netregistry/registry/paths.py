"""The path parameters the nouns' routes share: a network's slug and a role's."""

from __future__ import annotations

from typing import Annotated

from fastapi import Path

SlugPath = Annotated[
    str, Path(max_length=63, description="The network's slug.", examples=["citynet"])
]
RolePath = Annotated[str, Path(max_length=63, description="The role's slug.", examples=["chair"])]
