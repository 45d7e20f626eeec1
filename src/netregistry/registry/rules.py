"""The registry's rules: each written once, and used by every writer (the HTTP
endpoints, the CSV member-list import, ``netregistry import`` and the demo loader).

Checks on a request's own values (a category of the network, a period that ends after
it starts) raise a 422 naming the field. The rules that span memberships and tenures are
checked in the database under locks.

No constraint can say "at most N holders" for a per-role N, or "a holder is a member on
every day of the tenure". These checks run after the write, inside its transaction,
and the locks below serialise every write that could make them pass wrongly:

* ``network:<id>`` shared by membership, role and tenure writes, exclusive for changes
  to a network's categories or a role's eligibility rules;
* the role's row (``FOR UPDATE``) for any write to its tenures;
* ``member:<network>:<member>`` for any write to one member's memberships or tenures,
  then the tenure or membership rows themselves.

Every writer takes them in that order (member locks in id order), so none deadlock.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Sequence
from datetime import date

from sqlalchemy import Date, cast, func, literal, select
from sqlalchemy.ext.asyncio import AsyncSession

from netregistry.errors import Conflict, invalid
from netregistry.kit.dates import PartialDate, day_in_words, validate_period
from netregistry.kit.locks import advisory_lock, advisory_locks
from netregistry.kit.messages import count_of, in_words
from netregistry.models import Member, Membership, Network, Role, Tenure


def unknown_categories(network: Network, categories: Iterable[str]) -> list[str]:
    """Those of ``categories`` that are not among the network's membership categories,
    sorted: the one definition of "a category of the network"."""
    return sorted(set(categories) - set(network.membership_categories))


def category_problem(network: Network, category: str) -> str | None:
    """Why ``category`` cannot be a membership's category in ``network`` (None: it can)."""
    if not unknown_categories(network, [category]):
        return None
    return (
        f"{category!r} is not a category of {network.slug}; use one of "
        f"{', '.join(network.membership_categories)} (its membership_categories)"
    )


def check_category(network: Network, category: str) -> None:
    """A membership's category is one of its network's categories."""
    if problem := category_problem(network, category):
        raise invalid("category", problem, type="unknown_category")


def check_eligible_categories(network: Network, categories: Sequence[str] | None) -> None:
    """A role is open only to categories of its network (None: to every member)."""
    if unknown := unknown_categories(network, categories or ()):
        raise invalid(
            "eligible_categories",
            f"{in_words(unknown)} {'is' if len(unknown) == 1 else 'are'} not among "
            f"{network.slug}'s categories ({', '.join(network.membership_categories)})",
            type="unknown_category",
        )


def check_changed_period(start: PartialDate | None, end: PartialDate | None) -> None:
    """A changed period still ends after it starts (a new one is checked by its schema)."""
    if problem := validate_period(start, end):
        raise invalid("end_date", problem, type="period_order")


async def lock_network(session: AsyncSession, network_id: uuid.UUID, *, exclusive: bool) -> None:
    await advisory_lock(session, f"network:{network_id}", shared=not exclusive)


async def lock_members(
    session: AsyncSession, network_id: uuid.UUID, member_ids: Iterable[uuid.UUID]
) -> None:
    await advisory_locks(
        session, [f"member:{network_id}:{member_id}" for member_id in sorted(set(member_ids))]
    )


async def check_categories_unused(
    session: AsyncSession, network: Network, removed: Iterable[str]
) -> None:
    """A category may be dropped only when no membership or role refers to it.

    Takes the network's rule lock exclusively: no membership may be written with a
    category while it is being dropped.
    """
    dropped = sorted(set(removed))
    if not dropped:
        return
    await lock_network(session, network.id, exclusive=True)
    them = "it" if len(dropped) == 1 else "them"
    used = await session.scalar(
        select(func.count())
        .select_from(Membership)
        .where(Membership.network_id == network.id, Membership.category.in_(dropped))
    )
    if used:
        raise Conflict(
            f"{network.slug} has {count_of(used, 'membership')} in {in_words(dropped, 'or')}; "
            f"change {'its' if used == 1 else 'their'} category before dropping {them}."
        )
    roles = sorted(
        await session.scalars(
            select(Role.slug).where(
                Role.network_id == network.id, Role.eligible_categories.overlap(dropped)
            )
        )
    )
    if roles:
        one = len(roles) == 1
        raise Conflict(
            f"The {'role' if one else 'roles'} {in_words(roles)} of {network.slug} "
            f"{'is' if one else 'are'} open to {in_words(dropped, 'or')}; change "
            f"{'its' if one else 'their'} eligible categories before dropping {them}."
        )


async def check_membership_coverage(
    session: AsyncSession,
    network_id: uuid.UUID,
    member_id: uuid.UUID | None = None,
    role_id: uuid.UUID | None = None,
    new_tenure: uuid.UUID | None = None,
) -> None:
    """Every tenure of a role that requires membership lies within eligible memberships.

    ``new_tenure`` is the id of a tenure the request creates: the refusal rolls it back,
    so the message calls it "the new tenure", never by an id that will not exist.
    """
    eligible = (
        select(func.range_agg(Membership.period))
        .where(
            Membership.network_id == Tenure.network_id,
            Membership.member_id == Tenure.member_id,
            (Role.eligible_categories.is_(None))
            | (Membership.category == func.any(Role.eligible_categories)),
        )
        .correlate(Tenure, Role)
        .scalar_subquery()
    )
    statement = (
        select(Tenure.id, Tenure.start_date, Tenure.end_date, Role.slug, Member.name)
        .join(Role, Role.id == Tenure.role_id)
        .join(Member, Member.id == Tenure.member_id)
        .where(
            Tenure.network_id == network_id,
            Role.requires_membership,
            func.coalesce(eligible.op("@>")(Tenure.period), False).is_(False),
        )
        .order_by(Tenure.start_date)
        .limit(5)
    )
    if member_id is not None:
        statement = statement.where(Tenure.member_id == member_id)
    if role_id is not None:
        statement = statement.where(Tenure.role_id == role_id)
    uncovered = (await session.execute(statement)).all()
    if uncovered:
        listed = "; ".join(
            f"{name} as {role} from {start or 'before the records'} "
            f"{'to ' + str(end) if end else 'onwards'} "
            f"({'the new tenure' if tenure_id == new_tenure else f'tenure {tenure_id}'})"
            for tenure_id, start, end, role, name in uncovered
        )
        raise Conflict(
            "A role that requires membership would be held by a non-member (or a member "
            f"outside the role's eligible categories) on some days: {listed}. Change the "
            "memberships or the tenures so that every day of a tenure is a day of membership."
        )


async def check_capacity(session: AsyncSession, role: Role, tenure: Tenure | None = None) -> None:
    """The role never has more than ``max_holders`` holders on a day (that ``tenure`` covers).

    The busiest day of a set of periods is the start of one of them, so only those days
    are counted.
    """
    if role.max_holders is None:
        return
    if tenure is None:
        overlapping = (
            select(Tenure.period.label("part")).where(Tenure.role_id == role.id).cte("overlapping")
        )
    else:
        period = select(Tenure.period).where(Tenure.id == tenure.id).scalar_subquery()
        overlapping = (
            select(Tenure.period.op("*")(period).label("part"))
            .where(Tenure.role_id == role.id, Tenure.period.op("&&")(period))
            .cte("overlapping")
        )
    day = func.coalesce(func.lower(overlapping.c.part), cast(literal("-infinity"), Date))
    days = select(day.label("day")).distinct().subquery("days")
    crowded = (
        await session.execute(
            select(days.c.day, func.count())
            .join(overlapping, overlapping.c.part.op("@>")(days.c.day))
            .group_by(days.c.day)
            .having(func.count() > role.max_holders)
        )
    ).all()
    if not crowded:
        return
    # A write that breaks the rule is rare and its crowded days are few: the message
    # names the earliest, chosen here rather than left to the order of the plan.
    crowded_day, count = min((day, count) for day, count in crowded)
    holders = (
        await session.execute(
            select(Member.name, Tenure.id, Tenure.start_date)
            .select_from(Tenure)
            .join(Member, Member.id == Tenure.member_id)
            .where(
                Tenure.role_id == role.id,
                Tenure.period.op("@>")(crowded_day),
                Tenure.id != tenure.id if tenure is not None else literal(True),
            )
            .order_by(Member.name, Tenure.id)
        )
    ).all()
    if crowded_day == date.min:
        on = "before the records"
    else:
        # The day may be the last of a partial start: name that start as it was given.
        starts = [("the start_date", tenure.start_date)] if tenure is not None else []
        starts += [(f"{name}'s start_date", start) for name, _, start in holders]
        on = f"on {day_in_words(crowded_day, starts)}"
    held_by = ", ".join(f"{name} (tenure {tenure_id})" for name, tenure_id, _ in holders)
    raise Conflict(
        f"The role {role.slug!r} has at most {count_of(role.max_holders, 'holder')}; it would "
        f"have {count} {on}: already held by {held_by}."
    )
