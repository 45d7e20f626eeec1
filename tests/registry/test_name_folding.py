"""Name folding, defined once (``public.fold_name``): the CSV import and name search
treat names written differently as one name, and the import's check of its own rows
and its match against the registry cannot disagree, since both use the database's keys.
"""

from __future__ import annotations

from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import text
from sqlalchemy.ext.asyncio import create_async_engine
from sqlalchemy.pool import NullPool

from netregistry import migrations
from netregistry.registry.names import fold_names
from tests.registry import builders
from tests.registry.test_csv_import import import_csv, spreadsheet

Headers = dict[str, str]

# (as the registry has it, as a spreadsheet or a search writes it, country)
SAME_CITY = [
    pytest.param("Łódź", "Lodz", "PL", id="Łódź-Lodz"),
    pytest.param("Straße", "Strasse", "DE", id="Straße-Strasse"),
    pytest.param("Ålesund", "Alesund", "NO", id="Ålesund-Alesund"),
    pytest.param("İstanbul", "Istanbul", "TR", id="İstanbul-Istanbul"),
    pytest.param("Kuala Lumpur", "Kuala  Lumpur", "MY", id="doubled-space"),
    pytest.param("São Paulo", "Sa\u0303o Paulo", "BR", id="NFD"),
]
OTHER_CITY = [
    pytest.param("Łódź", "Lods", "PL", id="Łódź-Lods"),
    pytest.param("São Paulo", "San Paulo", "BR", id="São-San"),
    pytest.param("Kuala Lumpur", "KualaLumpur", "MY", id="no-space"),
]


async def _repeated_in_one_file(
    client: httpx.AsyncClient, headers: Headers, first: str, second: str, country: str
) -> bool:
    """Whether a member list naming ``first`` then ``second`` is refused for naming one
    city twice (a dry run: nothing is written)."""
    body = spreadsheet(f"{first},{country},full,,", f"{second},{country},full,,")
    response = await import_csv(client, headers, body, dry_run=True)
    if response.status_code == 200:
        return False
    assert response.status_code == 422, response.text
    assert [(error["location"], error["type"]) for error in response.json()["errors"]] == [
        (["body", "row", 3, "name"], "duplicate")
    ]
    return True


async def _matched_in_registry(
    client: httpx.AsyncClient, headers: Headers, city: dict[str, Any], written: str
) -> bool:
    """Whether a member list naming ``written`` is matched to ``city`` (a dry run)."""
    body = spreadsheet(f"{written},{city['country_code']},full,,")
    response = await import_csv(client, headers, body, dry_run=True)
    assert response.status_code == 200, response.text
    [row] = response.json()["rows"]
    if row["action"] in ("create_city_and_membership", "ambiguous"):
        # Not the same name: a new city, or (a near miss) one to confirm by hand.
        return False
    assert (row["matched_by"], row["member_id"]) == ("name", city["id"]), row
    return True


async def _search(client: httpx.AsyncClient, path: str, q: str) -> list[str]:
    response = await client.get(path, params={"q": q})
    assert response.status_code == 200, response.text
    return [
        item["member"]["name"] if "member" in item else item["name"]
        for item in response.json()["items"]
    ]


async def test_names_fold_to_the_keys_the_definition_gives(app: FastAPI) -> None:
    given = [
        "Łódź",
        "Straße",
        "STRASSE",
        "Ålesund",
        "İstanbul",
        "Diyarbakır",
        "  Kuala \t Lumpur\u00a0 ",
        "Sa\u0303o Paulo",
        "\u1109\u1165\u110b\u116e\u11af",  # 서울 in decomposed jamo
        "",
    ]
    async with app.state.sessionmaker() as session:
        keys = await fold_names(session, given)
    assert keys == [
        "lodz",
        "strasse",
        "strasse",
        "alesund",
        "istanbul",
        "diyarbakir",
        "kuala lumpur",
        "sao paulo",
        "서울",
        "",
    ]


@pytest.mark.parametrize(("registered", "written", "country"), SAME_CITY)
async def test_a_member_list_naming_one_city_in_two_spellings_is_refused(
    client: httpx.AsyncClient, admin_headers: Headers, registered: str, written: str, country: str
) -> None:
    await builders.network(client, admin_headers)
    assert await _repeated_in_one_file(client, admin_headers, registered, written, country)
    assert await _repeated_in_one_file(client, admin_headers, written, registered, country)


@pytest.mark.parametrize(("registered", "written", "country"), SAME_CITY)
async def test_a_member_list_finds_the_registry_s_city_in_another_spelling(
    client: httpx.AsyncClient, admin_headers: Headers, registered: str, written: str, country: str
) -> None:
    await builders.network(client, admin_headers)
    city = await builders.city(client, admin_headers, registered, country)
    response = await import_csv(client, admin_headers, spreadsheet(f"{written},{country},full,,"))
    assert response.status_code == 201, response.text
    report = response.json()
    assert (report["created_cities"], report["matched_cities"]) == (0, 1)
    assert (report["rows"][0]["matched_by"], report["rows"][0]["member_id"]) == (
        "name",
        city["id"],
    )
    # An alternative name is compared the same way.
    alias = await builders.city(client, admin_headers, "Municipality", "AT", alt_names=[registered])
    response = await import_csv(
        client, admin_headers, spreadsheet(f"{written},AT,full,,"), dry_run=True
    )
    assert response.status_code == 200, response.text
    [row] = response.json()["rows"]
    assert (row["matched_by"], row["member_id"]) == ("alt_name", alias["id"])


@pytest.mark.parametrize(("registered", "written", "country"), SAME_CITY)
async def test_a_search_finds_a_city_in_another_spelling(
    client: httpx.AsyncClient, admin_headers: Headers, registered: str, written: str, country: str
) -> None:
    await builders.network(client, admin_headers)
    city = await builders.city(client, admin_headers, registered, country)
    await builders.membership(client, admin_headers, city["id"], start_date="2001")
    for near_miss in ("Lods", "San Paulo", "Strasen", "Alesundet", "Istanbulu"):
        decoy = await builders.city(client, admin_headers, near_miss, country)
        await builders.membership(client, admin_headers, decoy["id"], start_date="2001")
    for q in (written, registered):
        # A city search ranks the city whose folded name is the query's first ...
        assert (await _search(client, "/v1/cities", q))[0] == registered, q
        # ... and a network's member list (in name order) has it among the matches.
        assert registered in await _search(client, "/v1/networks/citynet/members", q), q


@pytest.mark.parametrize(
    ("registered", "written", "country", "same"),
    [pytest.param(*pair.values, True, id=pair.id) for pair in SAME_CITY]
    + [pytest.param(*pair.values, False, id=pair.id) for pair in OTHER_CITY],
)
async def test_the_import_s_own_check_and_the_registry_match_agree_on_every_pair(
    client: httpx.AsyncClient,
    admin_headers: Headers,
    registered: str,
    written: str,
    country: str,
    same: bool,
) -> None:
    """The check of a file's rows against each other and the match of a row against the
    registry's cities give one answer for each pair, same city or not."""
    await builders.network(client, admin_headers)
    in_file = await _repeated_in_one_file(client, admin_headers, registered, written, country)
    city = await builders.city(client, admin_headers, registered, country)
    in_registry = await _matched_in_registry(client, admin_headers, city, written)
    assert in_file is in_registry is same


async def test_migration_0009_refolds_the_search_text_written_before_it(
    database_url: str,
) -> None:
    engine = create_async_engine(database_url, poolclass=NullPool)
    search_text = text("SELECT name, search_text FROM members ORDER BY name")
    try:
        await migrations.downgrade(engine, "0008")
        async with engine.begin() as connection:
            await connection.execute(
                text(
                    "INSERT INTO members (id, kind, name, alt_names, country_code) VALUES"
                    " (gen_random_uuid(), 'city', 'Kuala  Lumpur', '{KL}', 'MY'),"
                    " (gen_random_uuid(), 'city', 'Łódź', '{}', 'PL')"
                )
            )
            before = (await connection.execute(search_text)).all()
        assert before == [("Kuala  Lumpur", "kuala  lumpur kl"), ("Łódź", "lodz ")]
        await migrations.upgrade(engine)
        async with engine.connect() as connection:
            after = (await connection.execute(search_text)).all()
        assert after == [("Kuala  Lumpur", "kuala lumpur kl"), ("Łódź", "lodz")]
        await migrations.downgrade(engine, "0008")
        async with engine.connect() as connection:
            assert (await connection.execute(search_text)).all() == before
            assert await connection.scalar(text("SELECT to_regproc('public.fold_name')")) is None
    finally:
        await engine.dispose()
