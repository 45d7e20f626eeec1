"""Entity tags: a strong ETag is the hash of the exact representation sent."""

from __future__ import annotations

import hashlib

from pydantic import BaseModel

from netregistry.errors import PreconditionFailed


def etag_of_bytes(content: bytes) -> str:
    return '"' + hashlib.sha256(content).hexdigest()[:32] + '"'


def etag_of(representation: BaseModel) -> str:
    """The ETag a GET of this representation answers with."""
    return etag_of_bytes(representation.model_dump_json().encode())


def _tags(header: str) -> list[str]:
    return [tag.strip().removeprefix("W/") for tag in header.split(",") if tag.strip()]


def none_match(if_none_match: str | None, etag: str) -> bool:
    """True when ``If-None-Match`` names ``etag`` (weak comparison, RFC 9110 13.1.2)."""
    if not if_none_match:
        return False
    tags = _tags(if_none_match)
    return "*" in tags or etag in tags


def require_match(if_match: str | None, current: BaseModel) -> None:
    """Raise :class:`PreconditionFailed` unless ``If-Match`` names the current representation."""
    if if_match is None:
        return
    etag = etag_of(current)
    tags = [tag.strip() for tag in if_match.split(",") if tag.strip()]
    if "*" in tags or etag in tags:
        return
    raise PreconditionFailed(
        f"If-Match {if_match} does not match the current ETag {etag}: "
        "the resource changed since you read it. Read it again and retry."
    )
