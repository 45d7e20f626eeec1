"""Dependencies every router shares."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request
from sqlalchemy.ext.asyncio import AsyncSession

from netregistry.db import UnitOfWork
from netregistry.kit.pagination import PageRequest, page_request


def get_session(request: Request) -> AsyncSession:
    """The request's session; its transaction is settled by the transaction middleware."""
    uow: UnitOfWork = request.state.uow
    return uow.session


SessionDep = Annotated[AsyncSession, Depends(get_session)]
PageDep = Annotated[PageRequest, Depends(page_request)]
