"""Strict types: a request means what the contract says or is refused, never read loosely.

A number is a JSON number (not ``true``, not ``"12"``), a day is text ``YYYY-MM-DD`` (not
seconds since 1970), a country code is two letters A to Z (``"ın"`` is not ``IN``), a JSON
object names each key once, and a JSON body declares no charset but UTF-8. Each refusal is
a 422 (or 415) naming the field, and writes nothing.
"""

from __future__ import annotations

import json
from typing import Any

import httpx
import pytest

from tests.conftest import Database
from tests.registry import builders

Headers = dict[str, str]
PREFIX = "urn:netregistry:problem:"


def _refused(response: httpx.Response, location: list[Any], error_type: str) -> str:
    """The message of the one error of a 422 ``response``, which names ``location``."""
    assert response.status_code == 422, response.text
    problem = response.json()
    assert problem["type"] == PREFIX + "validation-failed"
    assert [(error["location"], error["type"]) for error in problem["errors"]] == [
        (location, error_type)
    ], problem
    message: str = problem["errors"][0]["message"]
    assert not message.startswith("Value error"), message
    return message


@pytest.mark.parametrize(
    ("field", "value"),
    [
        pytest.param("population", True, id="population-true"),
        pytest.param("population", "12", id="population-text"),
        pytest.param("geonames", "1835848", id="geonames-text"),
        pytest.param("latitude", "37.5", id="latitude-text"),
        pytest.param("longitude", False, id="longitude-false"),
    ],
)
async def test_a_number_sent_as_a_boolean_or_as_text_is_refused(
    client: httpx.AsyncClient, admin_headers: Headers, db: Database, field: str, value: Any
) -> None:
    response = await client.post(
        "/v1/cities",
        json={"name": "Seoul", "country_code": "KR", field: value},
        headers=admin_headers,
    )
    message = _refused(response, ["body", field], "number_type")
    assert "without quotes" in message
    assert json.dumps(value) in message
    assert await db.count("members") == 0


async def test_numbers_are_taken_as_numbers(
    client: httpx.AsyncClient, admin_headers: Headers
) -> None:
    """12.0 is the JSON number 12 (JSON Schema's integer), so it is one."""
    seoul = await builders.city(
        client, admin_headers, "Seoul", population=12.0, latitude=37, geonames=1835848
    )
    assert (seoul["population"], seoul["latitude"], seoul["geonames"]) == (12, 37.0, 1835848)


async def test_a_role_limit_sent_as_true_is_refused(
    client: httpx.AsyncClient, admin_headers: Headers, db: Database
) -> None:
    await builders.network(client, admin_headers)
    response = await client.post(
        "/v1/networks/citynet/roles",
        json={"slug": "chair", "name": "Chair", "max_holders": True},
        headers=admin_headers,
    )
    _refused(response, ["body", "max_holders"], "number_type")
    assert await db.count("roles") == 0


@pytest.mark.parametrize(
    "day",
    [
        pytest.param(1699920000, id="seconds"),
        pytest.param("1699920000", id="seconds-as-text"),
        pytest.param("20231114", id="basic-format"),
        pytest.param(2023.11, id="a-float"),
    ],
)
async def test_a_handover_date_that_is_not_a_written_day_is_refused(
    client: httpx.AsyncClient, admin_headers: Headers, db: Database, day: Any
) -> None:
    """Pydantic would read 1699920000 as 2023-11-14 (seconds since 1970)."""
    await builders.network(client, admin_headers)
    seoul = await builders.city(client, admin_headers, "Seoul")
    await builders.membership(client, admin_headers, seoul["id"])
    await builders.role(client, admin_headers)
    before = await db.contents()
    response = await builders.handover(client, admin_headers, seoul["id"], day)  # type: ignore[arg-type]
    message = _refused(response, ["body", "date"], "date_type")
    assert "YYYY-MM-DD" in message
    assert await db.contents() == before
    accepted = await builders.handover(client, admin_headers, seoul["id"], "2023-11-14")
    assert accepted.status_code == 201, accepted.text
    assert accepted.json()["started"]["start_date"] == "2023-11-14"


async def test_a_dotless_i_is_not_the_letter_i_of_a_country_code(
    client: httpx.AsyncClient, admin_headers: Headers, db: Database
) -> None:
    """``"ın".upper()`` is ``"IN"`` in Python: the code must be refused, not read as India."""
    response = await client.post(
        "/v1/cities", json={"name": "Delhi", "country_code": "ın"}, headers=admin_headers
    )
    message = _refused(response, ["body", "country_code"], "value_error")
    assert "U+0131" in message
    assert await db.count("members") == 0


@pytest.mark.parametrize(
    ("body", "location"),
    [
        pytest.param(
            b'{"name": "Lyon", "country_code": "FR", "name": "Paris"}', ["body", "name"], id="top"
        ),
        pytest.param(
            b'{"name": "Lyon", "country_code": "FR", "country_code": "FR"}',
            ["body", "country_code"],
            id="same-value-twice",
        ),
        pytest.param(
            b'{"name": "Lyon", "country_code": "FR", "x": [1, {"a": 1, "b": 2, "a": 3}]}',
            ["body", "x", 1, "a"],
            id="nested",
        ),
    ],
)
async def test_a_json_object_that_names_a_key_twice_is_refused(
    client: httpx.AsyncClient,
    admin_headers: Headers,
    db: Database,
    body: bytes,
    location: list[Any],
) -> None:
    """Parsers disagree on which of two values wins; FastAPI's keeps the last one."""
    response = await client.post(
        "/v1/cities",
        content=body,
        headers={**admin_headers, "Content-Type": "application/json"},
    )
    message = _refused(response, location, "json_duplicate_key")
    assert f'"{location[-1]}"' in message
    assert await db.count("members") == 0


async def test_a_key_named_twice_in_a_patch_is_refused(
    client: httpx.AsyncClient, admin_headers: Headers
) -> None:
    seoul = await builders.city(client, admin_headers, "Seoul")
    response = await client.patch(
        f"/v1/cities/{seoul['id']}",
        content=b'{"population": 1, "population": 2}',
        headers={**admin_headers, "Content-Type": "application/json"},
    )
    _refused(response, ["body", "population"], "json_duplicate_key")
    assert (await client.get(f"/v1/cities/{seoul['id']}")).json()["population"] is None


@pytest.mark.parametrize("charset", ["latin-1", "ISO-8859-1", "utf-16", '"windows-1252"'])
async def test_json_that_declares_another_charset_than_utf8_is_a_415(
    client: httpx.AsyncClient, admin_headers: Headers, db: Database, charset: str
) -> None:
    """As the CSV import already did: the bytes are read as UTF-8 whatever the header
    says, so a body declared otherwise would be read as something it is not."""
    response = await client.post(
        "/v1/cities",
        content=json.dumps({"name": "Lyon", "country_code": "FR"}).encode(),
        headers={**admin_headers, "Content-Type": f"application/json; charset={charset}"},
    )
    assert response.status_code == 415, response.text
    problem = response.json()
    assert problem["type"] == PREFIX + "unsupported-media-type"
    assert charset.strip('"').lower() in problem["detail"]
    assert "UTF-8" in problem["detail"]
    assert await db.count("members") == 0


@pytest.mark.parametrize("charset", ["utf-8", "UTF-8", '"utf-8"', "utf8", "us-ascii"])
async def test_json_that_declares_utf8_is_accepted(
    client: httpx.AsyncClient, admin_headers: Headers, charset: str
) -> None:
    response = await client.post(
        "/v1/cities",
        content=json.dumps({"name": "Lyon", "country_code": "FR"}).encode(),
        headers={**admin_headers, "Content-Type": f"application/json; charset={charset}"},
    )
    assert response.status_code == 201, response.text
