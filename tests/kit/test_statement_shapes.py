"""The cold read path builds each statement shape once: values travel as parameters,
so a second request of the same shape, with other values, builds nothing."""

from __future__ import annotations

import httpx
from sqlalchemy.dialects import postgresql

from netregistry.members import repository as members
from netregistry.memberships import repository as memberships
from netregistry.networks import repository as networks
from netregistry.tenures import repository as tenures
from tests.registry import builders


async def test_requests_of_one_shape_reuse_its_statement(
    client: httpx.AsyncClient, admin_headers: dict[str, str]
) -> None:
    await builders.network(client, admin_headers)
    seoul = await builders.city(client, admin_headers, "Seoul")
    await builders.membership(client, admin_headers, seoul["id"], start_date="1987")
    await builders.role(client, admin_headers, "chair")
    shapes = [
        (memberships._members_on, "/v1/networks/citynet/members?as_of={day}&country=KR"),
        (tenures._holders, "/v1/networks/citynet/roles/chair/holders?as_of={day}"),
        (networks._stats, "/v1/networks/citynet/stats?as_of={day}"),
        (members._read_page, "/v1/cities?network=citynet&as_of={day}&q=seo"),
    ]
    for built, path in shapes:
        assert (await client.get(path.format(day="2001-01-01"))).status_code == 200
        misses = built.cache_info().misses
        for day in ("1990-05-06", "2020-06-01"):
            assert (await client.get(path.format(day=day))).status_code == 200
        assert built.cache_info().misses == misses, path


def test_no_value_is_written_into_a_statement() -> None:
    statement = memberships._members_on(
        q=True, country=True, kind=True, role=True, category=True, after=True
    )
    compiled = statement.compile(dialect=postgresql.dialect())
    assert {"slug", "as_of", "q", "country", "kind", "role", "category"} <= set(compiled.params)
    assert {"page_limit", "page_fetch", "after_0", "after_1"} <= set(compiled.params)
    assert all(
        compiled.params[name] is None
        for name in ("slug", "as_of", "q", "page_limit", "page_fetch", "after_0")
    )
