"""Dependencies every router shares."""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Annotated

from fastapi import Depends, Query, Request
from sqlalchemy.ext.asyncio import AsyncSession

from netregistry.db import UnitOfWork
from netregistry.kit.pagination import PageRequest, page_request


def get_session(request: Request) -> AsyncSession:
    """The request's session; its transaction is settled by the transaction middleware."""
    uow: UnitOfWork = request.state.uow
    return uow.session


SessionDep = Annotated[AsyncSession, Depends(get_session)]
PageDep = Annotated[PageRequest, Depends(page_request)]


def as_of_date(
    as_of: Annotated[
        date | None,
        Query(
            description="The day to answer for (YYYY-MM-DD). Default: today (UTC).",
            examples=["2014-01-01"],
        ),
    ] = None,
) -> date:
    return as_of if as_of is not None else datetime.now(UTC).date()


AsOfDep = Annotated[date, Depends(as_of_date)]
