"""Dependencies every router shares."""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Annotated, Any

from fastapi import Depends, Query, Request
from sqlalchemy.ext.asyncio import AsyncSession

from netregistry.db import UnitOfWork
from netregistry.errors import FieldError, ValidationFailed
from netregistry.kit.languages import (
    MAX_TAG_LENGTH,
    TAG_PATTERN,
    NameChoice,
    name_choice,
    standard_tag,
    tag_problem,
)
from netregistry.kit.pagination import PageRequest, page_request
from netregistry.kit.types import DAY_PATTERN


def session_of(request: Request) -> AsyncSession:
    """The request's session; its transaction is settled by the transaction middleware."""
    uow: UnitOfWork = request.state.uow
    return uow.session


# Dependencies are coroutines, even those that never wait: FastAPI runs a plain function
# in a worker thread, a hop that costs more than the work.


async def get_session(request: Request) -> AsyncSession:
    return session_of(request)


SessionDep = Annotated[AsyncSession, Depends(get_session)]
PageDep = Annotated[PageRequest, Depends(page_request)]


def parse_day(value: str, name: str = "as_of") -> date:
    """A full day, YYYY-MM-DD exactly (no time, no timestamp number)."""
    try:
        return date.fromisoformat(value)
    except ValueError as error:
        raise ValidationFailed(
            f"{name}: {value} is not a day of the calendar",
            [
                FieldError(
                    location=["query", name],
                    message="not a valid day",
                    type="date_from_datetime_parsing",
                )
            ],
        ) from error


def _day_query(description: str) -> Any:
    return Query(
        pattern=DAY_PATTERN,
        json_schema_extra={"format": "date"},
        description=description,
        examples=["2014-01-01"],
    )


async def as_of_date(
    as_of: Annotated[
        str | None, _day_query("The day to answer for (YYYY-MM-DD). Default: today (UTC).")
    ] = None,
) -> date:
    return parse_day(as_of) if as_of is not None else datetime.now(UTC).date()


async def optional_as_of(
    as_of: Annotated[
        str | None,
        _day_query("The state on this day (YYYY-MM-DD); omitted: the full history."),
    ] = None,
) -> date | None:
    return parse_day(as_of) if as_of is not None else None


AsOfDep = Annotated[date, Depends(as_of_date)]
OptionalAsOfDep = Annotated[date | None, Depends(optional_as_of)]


async def name_choice_of(
    request: Request,
    lang: Annotated[
        str | None,
        Query(
            min_length=2,
            max_length=MAX_TAG_LENGTH,
            pattern=TAG_PATTERN,
            description=(
                "The language to show names in (BCP 47: ko, ja, zh-Hant-TW, fr), falling "
                "back to a broader tag (zh-Hant-TW, zh-Hant, zh) and then to the default "
                "name. Absent: the `Accept-Language` header's languages."
            ),
            examples=["ko"],
        ),
    ] = None,
) -> NameChoice:
    tag = None
    if lang is not None:
        tag = standard_tag(lang)
        if tag is None:
            raise ValidationFailed(
                f"lang: {tag_problem(lang)}",
                [
                    FieldError(
                        location=["query", "lang"], message=tag_problem(lang), type="language_tag"
                    )
                ],
            )
    return name_choice(tag, request.headers.get("accept-language"))


NameChoiceDep = Annotated[NameChoice, Depends(name_choice_of)]
