"""Migration 0013 carries today's alt_names over to names without loss (issue 13,
point 1), and its downgrade leaves alt_names as they were."""

from __future__ import annotations

import unicodedata

from sqlalchemy import text
from sqlalchemy.ext.asyncio import create_async_engine
from sqlalchemy.pool import NullPool

from netregistry import migrations

SEOUL = "00000000-0000-4000-8000-000000000001"
LODZ = "00000000-0000-4000-8000-000000000002"
PLAIN = "00000000-0000-4000-8000-000000000003"


async def test_alt_names_become_untagged_names_in_nfc_and_alt_names_stay_readable(
    database_url: str,
) -> None:
    engine = create_async_engine(database_url, poolclass=NullPool)
    try:
        await migrations.downgrade(engine, "0012")
        decomposed = unicodedata.normalize("NFD", "Łódź")
        async with engine.begin() as connection:
            await connection.execute(
                text(
                    "INSERT INTO members (id, kind, name, alt_names, country_code) VALUES"
                    " (:seoul, 'city', 'Seoul', ARRAY['서울', 'Seoul City', '서울'], 'KR'),"
                    " (:lodz, 'city', 'Lodz', ARRAY[:decomposed, 'Lodz'], 'PL'),"
                    " (:plain, 'city', 'Suwon', '{}', 'KR')"
                ),
                {"seoul": SEOUL, "lodz": LODZ, "plain": PLAIN, "decomposed": decomposed},
            )
        await migrations.upgrade(engine)
        async with engine.connect() as connection:
            names = (
                await connection.execute(
                    text(
                        "SELECT member_id::text, text, lang, kind FROM names"
                        " ORDER BY member_id, position"
                    )
                )
            ).all()
            alt_names = dict(
                (await connection.execute(text("SELECT id::text, alt_names FROM members"))).all()
            )
            found = await connection.scalar(
                text("SELECT count(*) FROM members WHERE fold_name('ソウル') <% search_text")
            )
        assert [tuple(row) for row in names] == [
            (SEOUL, "서울", "und", "common"),
            (SEOUL, "Seoul City", "und", "common"),
            (LODZ, "Łódź", "und", "common"),
            (LODZ, "Lodz", "und", "common"),
        ]
        assert alt_names == {
            SEOUL: ["서울", "Seoul City"],
            LODZ: ["Łódź", "Lodz"],
            PLAIN: [],
        }
        assert found == 0
        await migrations.downgrade(engine, "0012")
        async with engine.connect() as connection:
            kept = dict(
                (await connection.execute(text("SELECT id::text, alt_names FROM members"))).all()
            )
        assert kept == alt_names
    finally:
        await engine.dispose()
