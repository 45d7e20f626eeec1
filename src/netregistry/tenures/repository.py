from __future__ import annotations

import functools
import uuid
from collections.abc import Sequence
from datetime import date
from typing import Any

from sqlalchemy import Date, Select, bindparam, func, select
from sqlalchemy.orm import joinedload

from netregistry.db import read_connection
from netregistry.kit.dates import PartialDate
from netregistry.kit.languages import NameChoice
from netregistry.kit.pagination import (
    JsonPage,
    PageRequest,
    json_object,
    json_page_rows,
    json_page_statement,
    json_value,
    page_parameters,
    read_json_page,
)
from netregistry.kit.repository import Repository
from netregistry.models import Member, Network, Role, Tenure
from netregistry.registry.shapes import member_summary


class TenureRepository(Repository[Tenure]):
    model = Tenure

    def base(self) -> Select[Tenure]:
        return select(Tenure).options(
            joinedload(Tenure.member), joinedload(Tenure.network), joinedload(Tenure.role)
        )

    async def get(
        self, network_id: uuid.UUID, tenure_id: uuid.UUID, *, for_update: bool = False
    ) -> Tenure | None:
        """The tenure ``tenure_id`` of the network ``network_id``."""
        return await self.get_by_id(
            tenure_id, where=[Tenure.network_id == network_id], for_update=for_update
        )

    async def list_page(
        self,
        network_id: uuid.UUID,
        page: PageRequest,
        *,
        role: str | None,
        member_id: uuid.UUID | None,
    ) -> tuple[Sequence[Tenure], str | None]:
        statement = self.base().where(Tenure.network_id == network_id)
        if role is not None:
            statement = statement.where(
                Tenure.role_id.in_(
                    select(Role.id).where(Role.network_id == network_id, Role.slug == role)
                )
            )
        if member_id is not None:
            statement = statement.where(Tenure.member_id == member_id)
        return await self.page(
            statement,
            order_by=[Tenure.created_at, Tenure.id],
            page=page,
            key=lambda tenure: [tenure.created_at, tenure.id],
        )

    async def holding_on(self, role_id: uuid.UUID, day: date) -> Sequence[Tenure]:
        return (
            await self.session.scalars(
                self.base().where(Tenure.role_id == role_id, Tenure.period.contains(day))
            )
        ).all()

    async def first_from(self, role_id: uuid.UUID, day: date) -> Tenure | None:
        """The earliest tenure of the role with a certain day on or after ``day``."""
        found: Tenure | None = await self.session.scalar(
            self.base()
            .where(
                Tenure.role_id == role_id,
                Tenure.period.op("&&")(func.daterange(day, None)),
            )
            .order_by(func.lower(Tenure.period))
            .limit(1)
        )
        return found

    async def same_holder_overlapping(
        self,
        role_id: uuid.UUID,
        member_id: uuid.UUID,
        start: PartialDate | None,
        end: PartialDate | None,
        *,
        exclude: uuid.UUID | None,
    ) -> Tenure | None:
        """A tenure of the member in the role sharing a certain day with ``[start, end)``."""
        period = func.certain_period(str(start) if start else None, str(end) if end else None)
        statement = self.base().where(
            Tenure.role_id == role_id,
            Tenure.member_id == member_id,
            Tenure.period.op("&&")(period),
        )
        if exclude is not None:
            statement = statement.where(Tenure.id != exclude)
        found: Tenure | None = await self.session.scalar(statement.limit(1))
        return found

    async def holders(
        self,
        slug: str,
        role_slug: str,
        day: date,
        page: PageRequest,
        *,
        names: NameChoice | None = None,
    ) -> JsonPage:
        """The holders of the role on ``day``, by member name, as JSON written by
        PostgreSQL (``Page[HolderRow]``): one statement. The anchor counts what is
        missing: 2 the network, 1 the role, 0 nothing."""
        after = page.after(HOLDER_ORDER)
        parameters = page_parameters(page, after) | {
            "slug": slug,
            "role": role_slug,
            "as_of": day,
        }
        named = names is not None and not names.plain
        if named and names is not None:
            parameters |= names.parameters()
        return await read_json_page(
            await read_connection(self.session),
            _holders(after=after is not None, named=named),
            parameters,
            page=page,
            keys=len(HOLDER_ORDER),
        )


# The holders' order: a unique key.
HOLDER_ORDER = (Member.name, Tenure.id)


@functools.cache
def _holders(*, after: bool, named: bool = False) -> Select[Any]:
    """The holders' statement, with placeholders for ``slug``, ``role``, ``as_of`` and
    the page's (:func:`page_parameters`)."""
    network_id = select(Network.id).where(Network.slug == bindparam("slug")).scalar_subquery()
    role_id = (
        select(Role.id)
        .where(Role.network_id == network_id, Role.slug == bindparam("role"))
        .scalar_subquery()
    )
    holding = (
        select(Tenure.id)
        .join(Member, Member.id == Tenure.member_id)
        .where(Tenure.role_id == role_id, Tenure.period.contains(bindparam("as_of", type_=Date)))
    )
    document = json_object(
        {
            "tenure_id": json_value(Tenure.id),
            "member": member_summary(named=named),
            "start_date": json_value(Tenure.start_date),
            "end_date": json_value(Tenure.end_date),
            "representative": json_value(Tenure.representative),
        }
    )
    rows = json_page_rows(holding, document=document, order_by=HOLDER_ORDER, after=after)
    return json_page_statement(
        [rows], keys=len(HOLDER_ORDER), anchor=func.num_nulls(network_id, role_id)
    )
