"""The base the repositories share: a row by id (optionally locked), rows by ids,
adding, deleting and a page of a statement. A repository adds the queries of its own
table; :meth:`Repository.base` is where it says what a loaded row brings with it."""

from __future__ import annotations

import uuid
from collections.abc import Callable, Sequence
from typing import Any, ClassVar, Generic, TypeVar

from sqlalchemy import ColumnElement, Select, Uuid, any_, bindparam, select
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.ext.asyncio import AsyncSession

from netregistry.kit.pagination import PageRequest, fetch_page
from netregistry.models import Base

ModelT = TypeVar("ModelT", bound=Base)


class Repository(Generic[ModelT]):
    model: ClassVar[type[Any]]

    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    def base(self) -> Select[ModelT]:
        """The statement every read starts from (a subclass adds its eager loads)."""
        return select(self.model)

    def by_ids(self, ids: Sequence[uuid.UUID]) -> Select[ModelT]:
        """The rows with these ids, loaded as :meth:`base` loads them. The ids travel as
        one array parameter, so any number of them fits (a bind apiece stops at 32,767)."""
        return self.base().where(self.model.id == any_(bindparam("ids", list(ids), ARRAY(Uuid))))

    async def get_by_id(
        self,
        row_id: uuid.UUID,
        *,
        where: Sequence[ColumnElement[bool]] = (),
        for_update: bool = False,
    ) -> ModelT | None:
        """The row ``row_id`` (that also meets ``where``), read fresh from the database;
        ``for_update``: locked until the transaction ends."""
        statement = (
            self.base()
            .where(self.model.id == row_id, *where)
            .execution_options(populate_existing=True)
        )
        if for_update:
            statement = statement.with_for_update(of=self.model)
        row: ModelT | None = await self.session.scalar(statement)
        return row

    def add(self, row: ModelT) -> None:
        self.session.add(row)

    async def delete(self, row: ModelT) -> None:
        await self.session.delete(row)

    async def page(
        self,
        statement: Select[ModelT],
        *,
        order_by: Sequence[Any],
        page: PageRequest,
        key: Callable[[ModelT], Sequence[Any]],
    ) -> tuple[Sequence[ModelT], str | None]:
        """One page of ``statement`` in ``order_by`` (a unique key; ``key`` gives a row's)."""
        return await fetch_page(self.session, statement, order_by=order_by, page=page, key=key)
