"""Importing a member list from CSV: matching and creating cities, all or nothing, dry runs."""

from __future__ import annotations

from typing import Any

import httpx

from tests.conftest import Database, Keys
from tests.registry import builders

Headers = dict[str, str]
IMPORT = "/v1/networks/citynet/memberships:import"
HEADER = "name,country_code,category,start_date,wikidata"


def spreadsheet(*rows: str, header: str = HEADER) -> bytes:
    """A CSV file as spreadsheets save it: UTF-8 with a byte order mark, CRLF line ends."""
    return "\ufeff".encode() + "".join(f"{line}\r\n" for line in (header, *rows)).encode()


async def import_csv(
    client: httpx.AsyncClient,
    headers: Headers,
    body: bytes,
    *,
    dry_run: bool = False,
    content_type: str = "text/csv",
    path: str = IMPORT,
) -> httpx.Response:
    return await client.post(
        path,
        content=body,
        params={"dry_run": "true"} if dry_run else {},
        headers={**headers, "Content-Type": content_type},
    )


async def written(db: Database) -> tuple[int, int, int, int]:
    return (
        await db.count("members"),
        await db.count("memberships"),
        await db.count("audit_events"),
        await db.count("changes"),
    )


def row_errors(response: httpx.Response) -> set[tuple[Any, ...]]:
    """(row, column, type) of each error of a refused import."""
    return {
        (error["location"][2], error["location"][3], error["type"])
        for error in response.json()["errors"]
    }


async def test_a_spreadsheet_export_creates_cities_and_memberships(
    client: httpx.AsyncClient, admin_headers: Headers, db: Database
) -> None:
    await builders.network(client, admin_headers)
    members_before, memberships_before, audit_before, changes_before = await written(db)
    body = spreadsheet(
        "Seoul,KR,full,1987,Q8684",
        "Yokohama,jp,Full,1987-09,",
        '"Surabaya",ID,associate,2013-11-05,',
        ",,,,",
        "Colombo,LK,full,,",
        header="Name,Country_Code,CATEGORY,Start_Date,WikiData",
    )
    response = await import_csv(client, admin_headers, body)
    assert response.status_code == 201, response.text
    report = response.json()
    assert report["network"] == "citynet"
    assert report["dry_run"] is False
    assert [(row["row"], row["name"], row["action"]) for row in report["rows"]] == [
        (2, "Seoul", "create_city_and_membership"),
        (3, "Yokohama", "create_city_and_membership"),
        (4, "Surabaya", "create_city_and_membership"),
        (6, "Colombo", "create_city_and_membership"),
    ]
    assert (report["created_cities"], report["matched_cities"], report["created_memberships"]) == (
        4,
        0,
        4,
    )
    memberships = (await client.get("/v1/networks/citynet/memberships")).json()["items"]
    assert {
        (m["member"]["name"], m["member"]["country_code"], m["category"], m["start_date"])
        for m in memberships
    } == {
        ("Seoul", "KR", "full", "1987"),
        ("Yokohama", "JP", "full", "1987-09"),
        ("Surabaya", "ID", "associate", "2013-11-05"),
        ("Colombo", "LK", "full", None),
    }
    assert {m["id"] for m in memberships} == {row["membership_id"] for row in report["rows"]}
    seoul = (await client.get("/v1/cities", params={"wikidata": "Q8684"})).json()["items"]
    assert [city["id"] for city in seoul] == [report["rows"][0]["member_id"]]
    assert await written(db) == (
        members_before + 4,
        memberships_before + 4,
        audit_before + 8,
        changes_before + 8,
    )


async def test_audit_rows_are_the_created_cities_and_memberships(
    client: httpx.AsyncClient, keys: Keys, admin_headers: Headers, db: Database
) -> None:
    await builders.network(client, admin_headers)
    await builders.city(client, admin_headers, "Seoul", "KR", wikidata="Q8684")
    staff = {"Authorization": f"Bearer {await keys.create('staff', networks=['citynet'])}"}
    response = await import_csv(
        client, staff, spreadsheet("Seoul,KR,full,1987,Q8684", "Busan,KR,full,1990,")
    )
    assert response.status_code == 201, response.text
    request_id = response.headers["x-request-id"]
    events = await db.scalar(
        "SELECT json_agg(json_build_array(resource_type, action, actor_name, network)"
        " ORDER BY id) FROM audit_events WHERE request_id = :request_id",
        request_id=request_id,
    )
    assert sorted(map(tuple, events)) == [
        ("city", "create", "staff", None),
        ("membership", "create", "staff", "citynet"),
        ("membership", "create", "staff", "citynet"),
    ]


async def test_existing_cities_are_matched_by_wikidata_or_by_name_and_country_not_duplicated(
    client: httpx.AsyncClient, admin_headers: Headers, db: Database
) -> None:
    await builders.network(client, admin_headers)
    seoul = await builders.city(client, admin_headers, "Seoul", "KR", wikidata="Q8684")
    sao_paulo = await builders.city(client, admin_headers, "São Paulo", "BR")
    mexico = await builders.city(
        client, admin_headers, "Ciudad de México", "MX", alt_names=["Mexico City"]
    )
    await builders.city(client, admin_headers, "San Paulo", "BR")  # a near miss stays apart
    cities_before = await db.count("members")
    body = spreadsheet(
        "Seoul Metropolitan Government,KR,full,1987,q8684,",
        "SAO PAULO,br,full,2001,,",
        "mexico city,MX,associate,2004,,",
        # The same name in another country is another city, but a city of that name
        # exists: the file says this one is new.
        "Sao Paulo,PT,full,,,x",
        header=f"{HEADER},new",
    )
    response = await import_csv(client, admin_headers, body)
    assert response.status_code == 201, response.text
    rows = response.json()["rows"]
    assert [(row["action"], row["matched_by"], row["member_id"]) for row in rows[:3]] == [
        ("create_membership", "wikidata", seoul["id"]),
        ("create_membership", "name", sao_paulo["id"]),
        ("create_membership", "alt_name", mexico["id"]),
    ]
    assert rows[3]["action"] == "create_city_and_membership"
    assert response.json()["matched_cities"] == 3
    assert response.json()["created_cities"] == 1
    assert await db.count("members") == cities_before + 1
    assert await db.scalar("SELECT count(*) FROM members WHERE wikidata = 'Q8684'") == 1


async def test_invalid_rows_are_422_each_named_by_row_and_column_and_nothing_is_written(
    client: httpx.AsyncClient, admin_headers: Headers, db: Database
) -> None:
    await builders.network(client, admin_headers)
    before = await written(db)
    body = spreadsheet(
        "Seoul,KR,full,1987,Q8684",
        "Atlantis,XX,honorary,1987,",
        "Lyon,FR,honorary,1987,",
        "Bangkok,TH,full,2013-13,",
        ",LK,full,1987,",
        "seoul,KR,associate,1990,",
        "Busan,KR,full,1990,8684",
        "Incheon,KR,full,1990,Q8684",
    )
    response = await import_csv(client, admin_headers, body)
    assert response.status_code == 422, response.text
    problem = response.json()
    assert problem["type"] == "urn:netregistry:problem:validation-failed"
    assert row_errors(response) == {
        (3, "country_code", "value_error"),
        (3, "category", "value_error"),
        (4, "category", "value_error"),
        (5, "start_date", "value_error"),
        (6, "name", "missing"),
        (7, "name", "duplicate"),
        (8, "wikidata", "string_pattern_mismatch"),
        (9, "wikidata", "duplicate"),
    }
    assert all(error["location"][:2] == ["body", "row"] for error in problem["errors"])
    assert "Nothing was imported" in problem["detail"]
    assert "row 4 category" in problem["detail"]
    assert "full, associate" in problem["detail"]
    assert await written(db) == before


async def test_unknown_and_missing_columns_are_refused_by_name(
    client: httpx.AsyncClient, admin_headers: Headers, db: Database
) -> None:
    await builders.network(client, admin_headers)
    before = await written(db)
    body = spreadsheet("Seoul,KR,full,Kim", header="name,country,category,mayor")
    response = await import_csv(client, admin_headers, body)
    assert response.status_code == 422, response.text
    assert row_errors(response) == {
        (1, "country", "unknown_column"),
        (1, "mayor", "unknown_column"),
        (1, "country_code", "missing"),
    }
    assert await written(db) == before


async def test_files_that_cannot_be_read_are_422(
    client: httpx.AsyncClient, admin_headers: Headers, db: Database
) -> None:
    await builders.network(client, admin_headers)
    before = await written(db)
    for body, kind in [
        ("name,country_code,category\r\nSão Paulo,BR,full\r\n".encode("latin-1"), "encoding"),
        (b"", "missing"),
        (HEADER.encode() + b"\r\n\r\n,,,,\r\n", "missing"),
        (HEADER.encode() + b'\r\n"Seoul"x,KR,full,,\r\n', "csv"),
    ]:
        response = await import_csv(client, admin_headers, body)
        assert response.status_code == 422, (body, response.text)
        assert [error["type"] for error in response.json()["errors"]] == [kind], body
    assert await written(db) == before


async def test_a_value_outside_the_named_columns_is_refused(
    client: httpx.AsyncClient, admin_headers: Headers
) -> None:
    await builders.network(client, admin_headers)
    body = spreadsheet(
        "Seoul,KR,full",
        "Busan,KR,full,,",
        "Suwon,KR,full,extra",
        header="name,country_code,category",
    )
    response = await import_csv(client, admin_headers, body)
    assert response.status_code == 422, response.text
    assert [error["location"] for error in response.json()["errors"]] == [["body", "row", 4]]


async def test_a_wikidata_id_of_another_member_or_country_and_an_ambiguous_name_are_422(
    client: httpx.AsyncClient, admin_headers: Headers, db: Database
) -> None:
    await builders.network(client, admin_headers)
    await builders.organization(client, admin_headers, "KOICA", wikidata="Q1783468")
    await builders.city(client, admin_headers, "Seoul", "KR", wikidata="Q8684")
    await builders.city(client, admin_headers, "Springfield", "US", subdivision="Illinois")
    await builders.city(client, admin_headers, "Springfield", "US", subdivision="Missouri")
    before = await written(db)
    body = spreadsheet(
        "KOICA,KR,full,,Q1783468",
        "Seoul,JP,full,,Q8684",
        "Springfield,US,full,,",
    )
    response = await import_csv(client, admin_headers, body)
    assert response.status_code == 422, response.text
    assert row_errors(response) == {
        (2, "wikidata", "value_error"),
        (3, "country_code", "value_error"),
        (4, "name", "ambiguous"),
    }
    assert "add a wikidata column" in response.json()["detail"]
    assert await written(db) == before


async def test_a_row_overlapping_an_existing_membership_refuses_the_whole_import_with_409(
    client: httpx.AsyncClient, admin_headers: Headers, db: Database
) -> None:
    await builders.network(client, admin_headers)
    seoul = await builders.city(client, admin_headers, "Seoul", "KR", wikidata="Q8684")
    existing = await builders.membership(
        client, admin_headers, seoul["id"], start_date="1990", end_date="2000"
    )
    await builders.membership(client, admin_headers, seoul["id"], start_date="2005")
    before = await written(db)
    # Moving the start of Seoul's membership in force back to 1995 would overlap 1990-2000.
    body = spreadsheet("Busan,KR,full,1990,", "Seoul,KR,full,1995,Q8684", "Suwon,KR,full,,")
    for dry_run in (True, False):
        response = await import_csv(client, admin_headers, body, dry_run=dry_run)
        assert response.status_code == 409, response.text
        problem = response.json()
        assert problem["type"] == "urn:netregistry:problem:conflict"
        assert row_errors(response) == {(3, "start_date", "conflict")}
        assert existing["id"] in problem["errors"][0]["message"]
        assert existing["id"] in problem["detail"]
        assert await written(db) == before


async def test_dry_run_reports_the_same_plan_and_writes_nothing(
    client: httpx.AsyncClient, admin_headers: Headers, db: Database
) -> None:
    await builders.network(client, admin_headers)
    seoul = await builders.city(client, admin_headers, "Seoul", "KR", wikidata="Q8684")
    before = await written(db)
    body = spreadsheet("Seoul,KR,full,1987,Q8684", "Yokohama,JP,full,1987-09,Q38283")
    plan = await import_csv(client, admin_headers, body, dry_run=True)
    assert plan.status_code == 200, plan.text
    assert plan.json()["dry_run"] is True
    assert [
        (row["action"], row["member_id"], row["membership_id"]) for row in plan.json()["rows"]
    ] == [("create_membership", seoul["id"], None), ("create_city_and_membership", None, None)]
    assert await written(db) == before

    applied = await import_csv(client, admin_headers, body)
    assert applied.status_code == 201, applied.text

    def outline(report: dict[str, Any]) -> list[Any]:
        return [
            [(row["row"], row["action"], row["matched_by"]) for row in report["rows"]],
            report["created_cities"],
            report["matched_cities"],
            report["created_memberships"],
        ]

    assert outline(applied.json()) == outline(plan.json())
    # Yokohama created; two memberships; each write audited and published once.
    members, memberships, audited, published = before
    assert await written(db) == (members + 1, memberships + 2, audited + 3, published + 3)


async def test_a_body_that_is_not_csv_is_415(
    client: httpx.AsyncClient, admin_headers: Headers, db: Database
) -> None:
    await builders.network(client, admin_headers)
    before = await written(db)
    body = spreadsheet("Seoul,KR,full,1987,Q8684")
    for content_type in ("application/json", "text/plain", "text/csv; charset=windows-1252"):
        response = await import_csv(client, admin_headers, body, content_type=content_type)
        assert response.status_code == 415, (content_type, response.text)
        assert response.headers["content-type"] == "application/problem+json"
        assert "text/csv" in response.json()["detail"] or "UTF-8" in response.json()["detail"]
    json_body = await client.post(IMPORT, json={"name": "Seoul"}, headers=admin_headers)
    assert json_body.status_code == 415, json_body.text
    elsewhere = await import_csv(client, admin_headers, body, path="/v1/cities")
    assert elsewhere.status_code == 415, elsewhere.text
    assert await written(db) == before


async def test_import_without_a_key_is_401(
    client: httpx.AsyncClient, admin_headers: Headers, db: Database
) -> None:
    await builders.network(client, admin_headers)
    before = await written(db)
    response = await import_csv(client, {}, spreadsheet("Seoul,KR,full,1987,Q8684"))
    assert response.status_code == 401, response.text
    assert await written(db) == before


async def test_a_key_scoped_to_another_network_is_403(
    client: httpx.AsyncClient, keys: Keys, admin_headers: Headers, db: Database
) -> None:
    await builders.network(client, admin_headers)
    await builders.network(client, admin_headers, "metropolis")
    before = await written(db)
    other = {"Authorization": f"Bearer {await keys.create('metro', networks=['metropolis'])}"}
    response = await import_csv(client, other, spreadsheet("Seoul,KR,full,1987,Q8684"))
    assert response.status_code == 403, response.text
    assert await written(db) == before


async def test_an_import_into_an_unknown_network_is_404(
    client: httpx.AsyncClient, admin_headers: Headers
) -> None:
    response = await import_csv(
        client,
        admin_headers,
        spreadsheet("Seoul,KR,full,1987,Q8684"),
        path="/v1/networks/nowhere/memberships:import",
    )
    assert response.status_code == 404, response.text


async def test_more_than_10000_rows_is_413(
    client: httpx.AsyncClient, admin_headers: Headers, db: Database
) -> None:
    await builders.network(client, admin_headers)
    before = await written(db)
    body = spreadsheet(
        *(f"C{n},KR,full" for n in range(10_001)), header="name,country_code,category"
    )
    response = await import_csv(client, admin_headers, body)
    assert response.status_code == 413, response.text
    assert "10000" in response.json()["detail"]
    assert await written(db) == before


async def test_a_retried_import_with_the_same_idempotency_key_is_applied_once(
    client: httpx.AsyncClient, admin_headers: Headers, db: Database
) -> None:
    await builders.network(client, admin_headers)
    body = spreadsheet("Seoul,KR,full,1987,Q8684")
    headers = {**admin_headers, "Idempotency-Key": "import-2026-01"}
    first = await import_csv(client, headers, body)
    again = await import_csv(client, headers, body)
    assert first.status_code == again.status_code == 201, again.text
    assert again.json() == first.json()
    assert again.headers["idempotent-replayed"] == "true"
    assert await db.count("memberships") == 1
