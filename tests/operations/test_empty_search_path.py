"""The schema's functions work under an empty search_path, as pg_restore runs them.

pg_restore (and pg_dump, and any client that sets its own search_path) sees no
``public`` on its path; a function body that names a table, sequence or function of
``public`` without the schema breaks a restore (``memberships`` and ``tenures`` were
lost that way: issue 9). Two checks catch a new function that does it again: every SQL
body is validated again under ``search_path = ''``, and every function of the schema
must be named below with the statements that run it, run under that path.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import asyncpg
import pytest
from sqlalchemy.engine import make_url

# Every function of the schema (not of an extension), and which scenario runs it.
EXERCISED_BY = {
    "audit_events_append_only()": "test_the_append_only_triggers_refuse_under_an_empty_search_path",
    "alt_names_to_names()": "test_names_are_written_and_chosen_under_an_empty_search_path",
    "certain_period(text,text)": "test_registry_rows_are_written_under_an_empty_search_path",
    "derived_alt_names(uuid)": "test_names_are_written_and_chosen_under_an_empty_search_path",
    "display_name(uuid,text,text[],date,date)": (
        "test_names_are_written_and_chosen_under_an_empty_search_path"
    ),
    "fold_name(text)": "test_registry_rows_are_written_under_an_empty_search_path",
    "member_facts_to_memberships()": "test_registry_rows_are_written_under_an_empty_search_path",
    "membership_member_facts()": "test_registry_rows_are_written_under_an_empty_search_path",
    "names_to_alt_names()": "test_names_are_written_and_chosen_under_an_empty_search_path",
    "member_search_text(text,character varying[])": (
        "test_registry_rows_are_written_under_an_empty_search_path"
    ),
    "partial_date_first_day(text)": "test_registry_rows_are_written_under_an_empty_search_path",
    "partial_date_last_day(text)": "test_registry_rows_are_written_under_an_empty_search_path",
    "record_change()": "test_registry_rows_are_written_under_an_empty_search_path",
}

OWN_FUNCTIONS = """
SELECT p.oid, p.oid::regprocedure::text AS signature, l.lanname AS language,
       p.prosqlbody IS NULL AS string_body
FROM pg_proc AS p JOIN pg_language AS l ON l.oid = p.prolang
WHERE p.pronamespace = 'public'::regnamespace
  AND NOT EXISTS (SELECT FROM pg_depend AS d
                  WHERE d.classid = 'pg_proc'::regclass AND d.objid = p.oid AND d.deptype = 'e')
ORDER BY 2
"""


@pytest.fixture
async def connection(database_url: str) -> AsyncIterator[asyncpg.Connection]:
    """A session on a migrated database whose search_path is empty, as pg_restore's."""
    dsn = make_url(database_url).set(drivername="postgresql")
    session = await asyncpg.connect(
        dsn.render_as_string(hide_password=False), server_settings={"search_path": ""}
    )
    assert await session.fetchval("SELECT current_schemas(false)") == []
    try:
        yield session
    finally:
        await session.close()


async def test_every_function_of_the_schema_is_exercised_here(
    connection: asyncpg.Connection,
) -> None:
    functions = {row["signature"] for row in await connection.fetch(OWN_FUNCTIONS)}
    # A new function belongs in EXERCISED_BY, with a scenario run under an empty path.
    assert functions == {f"public.{signature}" for signature in EXERCISED_BY}


async def test_every_sql_function_body_resolves_under_an_empty_search_path(
    connection: asyncpg.Connection,
) -> None:
    """Re-creating a function as it stands runs PostgreSQL's validator, which parses and
    analyses an SQL body (with the function's own SET options, if any) under the
    session's search_path; the transaction is rolled back."""
    checked = []
    for function in await connection.fetch(OWN_FUNCTIONS):
        if function["language"] != "sql" or not function["string_body"]:
            continue  # plpgsql is only parsed when it runs; SQL-standard bodies when created
        transaction = connection.transaction()
        await transaction.start()
        try:
            await connection.execute("SET LOCAL check_function_bodies = on")
            definition = await connection.fetchval(
                "SELECT pg_get_functiondef($1::oid)", function["oid"]
            )
            await connection.execute(definition)
        finally:
            await transaction.rollback()
        checked.append(function["signature"])
    assert "public.certain_period(text,text)" in checked


async def test_registry_rows_are_written_under_an_empty_search_path(
    connection: asyncpg.Connection,
) -> None:
    """What pg_restore does to the generated columns, and what a client with its own
    search_path does to the change feed, through every function that computes them."""
    heard: asyncio.Queue[str] = asyncio.Queue()
    await connection.add_listener("netregistry_changes", lambda *args: heard.put_nowait(args[3]))
    async with connection.transaction():
        await connection.execute(
            """
            INSERT INTO public.networks (id, slug, name, membership_categories)
                VALUES ('00000000-0000-0000-0000-00000000000a', 'citynet', 'CITYNET',
                        ARRAY['full']);
            INSERT INTO public.members (id, kind, name, alt_names, country_code)
                VALUES ('00000000-0000-0000-0000-00000000000b', 'city', 'Łódź',
                        ARRAY['Lodz'], 'PL');
            INSERT INTO public.memberships (id, network_id, member_id, category,
                                            start_date, end_date)
                VALUES ('00000000-0000-0000-0000-00000000000c',
                        '00000000-0000-0000-0000-00000000000a',
                        '00000000-0000-0000-0000-00000000000b', 'full', '2013-11', '2020');
            INSERT INTO public.roles (id, network_id, slug, name, requires_membership)
                VALUES ('00000000-0000-0000-0000-00000000000d',
                        '00000000-0000-0000-0000-00000000000a', 'chair', 'Chair', true);
            INSERT INTO public.tenures (id, network_id, role_id, member_id, start_date,
                                        end_date)
                VALUES ('00000000-0000-0000-0000-00000000000e',
                        '00000000-0000-0000-0000-00000000000a',
                        '00000000-0000-0000-0000-00000000000d',
                        '00000000-0000-0000-0000-00000000000b', '2014', '2016-02-29');
            INSERT INTO public.audit_events (action, resource_type, resource_id)
                VALUES ('create', 'membership', '00000000-0000-0000-0000-00000000000c');
            """
        )
    # The change feed's trigger ran at that commit, still under the empty search_path.
    assert await connection.fetchval("SELECT count(*) FROM public.changes") == 1
    # ... and notified the read caches (an audit event of no network: every answer).
    assert await asyncio.wait_for(heard.get(), 5) == ""
    assert await connection.fetchval("SELECT search_text FROM public.members") == "lodz lodz"
    periods = await connection.fetch(
        "SELECT period::text FROM public.memberships UNION ALL "
        "SELECT period::text FROM public.tenures"
    )
    assert [row["period"] for row in periods] == [
        "[2013-11-30,2020-01-01)",
        "[2014-12-31,2016-02-29)",
    ]
    # The membership took its member's kind and country, and follows a move of country.
    facts = "SELECT member_kind, member_country FROM public.memberships"
    assert tuple(await connection.fetchrow(facts)) == ("city", "PL")
    await connection.execute("UPDATE public.members SET country_code = 'DE'")
    assert tuple(await connection.fetchrow(facts)) == ("city", "DE")


async def test_the_append_only_triggers_refuse_under_an_empty_search_path(
    connection: asyncpg.Connection,
) -> None:
    await connection.execute(
        "INSERT INTO public.audit_events (action, resource_type, resource_id) "
        "VALUES ('create', 'network', 'citynet')"
    )
    for statement in (
        "UPDATE public.audit_events SET action = 'update'",
        "DELETE FROM public.changes",
        "TRUNCATE public.changes",
    ):
        with pytest.raises(asyncpg.InsufficientPrivilegeError, match="append-only"):
            await connection.execute(statement)


async def test_names_are_written_and_chosen_under_an_empty_search_path(
    connection: asyncpg.Connection,
) -> None:
    """Migration 0013's triggers (alt_names to names and back) and display_name."""
    member = "00000000-0000-0000-0000-00000000000b"
    await connection.execute(
        """
        INSERT INTO public.members (id, kind, name, alt_names, country_code)
            VALUES ('00000000-0000-0000-0000-00000000000b', 'city', 'Mumbai',
                    ARRAY['Mumbai'], 'IN');
        INSERT INTO public.names (id, member_id, position, text, lang, kind, end_date)
            VALUES ('00000000-0000-0000-0000-00000000000c',
                    '00000000-0000-0000-0000-00000000000b', 5, 'Bombay', 'en', 'former', '1995');
        """
    )
    names = await connection.fetch("SELECT text, lang, kind FROM public.names ORDER BY position")
    assert [tuple(row) for row in names] == [
        ("Mumbai", "und", "common"),
        ("Bombay", "en", "former"),
    ]
    alt_names = await connection.fetchval("SELECT alt_names FROM public.members")
    assert alt_names == ["Mumbai", "Bombay"]
    chosen = await connection.fetchval(
        "SELECT public.display_name($1::uuid, 'Mumbai', ARRAY['en'], '1990-01-01', '2026-01-01')",
        member,
    )
    assert chosen == "Bombay"
