"""Cities and organizations: validation, identifiers, filters, search, deletion."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from tests.conftest import Database, Keys
from tests.registry import builders

Headers = dict[str, str]


def error_fields(response: httpx.Response) -> set[str]:
    """The body fields a 422 problem names."""
    assert response.status_code == 422, response.text
    assert response.headers["content-type"].startswith("application/problem+json")
    return {str(error["location"][-1]) for error in response.json()["errors"]}


async def names(client: httpx.AsyncClient, path: str, **params: Any) -> list[str]:
    response = await client.get(path, params=params)
    assert response.status_code == 200, response.text
    return [item["name"] for item in response.json()["items"]]


# --- validation -----------------------------------------------------------------------


async def test_city_country_code_is_upper_cased_and_kept(
    client: httpx.AsyncClient, admin_headers: Headers
) -> None:
    seoul = await builders.city(
        client, admin_headers, "Seoul", "kr", alt_names=["서울", "Seoul Metropolitan Government"]
    )
    assert seoul["country_code"] == "KR"
    assert seoul["kind"] == "city"
    fetched = await client.get(f"/v1/cities/{seoul['id']}")
    assert fetched.status_code == 200
    assert fetched.json()["country_code"] == "KR"
    assert fetched.json()["alt_names"] == ["서울", "Seoul Metropolitan Government"]


async def test_city_with_a_code_that_is_not_an_iso_country_is_422(
    client: httpx.AsyncClient, admin_headers: Headers, db: Database
) -> None:
    for code in ("ZZ", "XX", "K", "KOR", "12", ""):
        response = await client.post(
            "/v1/cities", json={"name": "Nowhere", "country_code": code}, headers=admin_headers
        )
        assert error_fields(response) == {"country_code"}, code
    assert await db.count("members") == 0


async def test_city_without_a_country_is_422_but_an_organization_may_have_none(
    client: httpx.AsyncClient, admin_headers: Headers, db: Database
) -> None:
    missing = await client.post("/v1/cities", json={"name": "Nowhere"}, headers=admin_headers)
    assert error_fields(missing) == {"country_code"}
    null = await client.post(
        "/v1/cities", json={"name": "Nowhere", "country_code": None}, headers=admin_headers
    )
    assert error_fields(null) == {"country_code"}
    assert await db.count("members") == 0

    unhabitat = await builders.organization(
        client, admin_headers, "UN-Habitat", country_code=None, org_type="UN programme"
    )
    assert unhabitat["country_code"] is None
    assert unhabitat["kind"] == "organization"


async def test_city_patch_cannot_clear_its_country(
    client: httpx.AsyncClient, admin_headers: Headers
) -> None:
    seoul = await builders.city(client, admin_headers, "Seoul", "KR")
    response = await client.patch(
        f"/v1/cities/{seoul['id']}", json={"country_code": None}, headers=admin_headers
    )
    assert response.status_code == 422, response.text
    assert (await client.get(f"/v1/cities/{seoul['id']}")).json()["country_code"] == "KR"


async def test_malformed_wikidata_id_is_422(
    client: httpx.AsyncClient, admin_headers: Headers, db: Database
) -> None:
    for wikidata in ("Q0", "123", "Q12a", "q8684", "Q", "Q08684"):
        city = await client.post(
            "/v1/cities",
            json={"name": "Seoul", "country_code": "KR", "wikidata": wikidata},
            headers=admin_headers,
        )
        assert error_fields(city) == {"wikidata"}, wikidata
        organization = await client.post(
            "/v1/organizations",
            json={"name": "KOICA", "wikidata": wikidata},
            headers=admin_headers,
        )
        assert error_fields(organization) == {"wikidata"}, wikidata
    assert await db.count("members") == 0


async def test_taken_wikidata_id_is_409_naming_the_member_that_has_it(
    client: httpx.AsyncClient, admin_headers: Headers, db: Database
) -> None:
    seoul = await builders.city(client, admin_headers, "Seoul", "KR", wikidata="Q8684")
    response = await client.post(
        "/v1/organizations",
        json={"name": "Seoul Institute", "wikidata": "Q8684"},
        headers=admin_headers,
    )
    assert response.status_code == 409, response.text
    detail = response.json()["detail"]
    assert "Q8684" in detail
    assert "Seoul" in detail
    assert seoul["id"] in detail
    assert await db.count("members") == 1


async def test_patch_to_a_taken_wikidata_id_is_409_and_changes_nothing(
    client: httpx.AsyncClient, admin_headers: Headers
) -> None:
    seoul = await builders.city(client, admin_headers, "Seoul", "KR", wikidata="Q8684")
    busan = await builders.city(client, admin_headers, "Busan", "KR", wikidata="Q16520")
    response = await client.patch(
        f"/v1/cities/{busan['id']}", json={"wikidata": "Q8684"}, headers=admin_headers
    )
    assert response.status_code == 409, response.text
    assert seoul["id"] in response.json()["detail"]
    assert (await client.get(f"/v1/cities/{busan['id']}")).json()["wikidata"] == "Q16520"
    # Keeping one's own identifier is not a conflict.
    same = await client.patch(
        f"/v1/cities/{seoul['id']}",
        json={"wikidata": "Q8684", "population": 9_400_000},
        headers=admin_headers,
    )
    assert same.status_code == 200, same.text
    assert same.json()["population"] == 9_400_000


async def test_taken_geonames_id_is_409_naming_the_member_that_has_it(
    client: httpx.AsyncClient, admin_headers: Headers, db: Database
) -> None:
    seoul = await builders.city(client, admin_headers, "Seoul", "KR", geonames=1835848)
    response = await client.post(
        "/v1/cities",
        json={"name": "Seoul again", "country_code": "KR", "geonames": 1835848},
        headers=admin_headers,
    )
    assert response.status_code == 409, response.text
    assert "1835848" in response.json()["detail"]
    assert seoul["id"] in response.json()["detail"]
    assert await db.count("members") == 1


async def test_out_of_range_coordinates_and_numbers_are_422(
    client: httpx.AsyncClient, admin_headers: Headers, db: Database
) -> None:
    for field, value in [
        ("latitude", 90.5),
        ("latitude", -91),
        ("longitude", 180.01),
        ("longitude", -181),
        ("geonames", 0),
        ("population", -1),
    ]:
        response = await client.post(
            "/v1/cities",
            json={"name": "Seoul", "country_code": "KR", field: value},
            headers=admin_headers,
        )
        assert error_fields(response) == {field}, (field, value)
    assert await db.count("members") == 0


async def test_coordinates_at_the_edges_are_accepted(
    client: httpx.AsyncClient, admin_headers: Headers
) -> None:
    pole = await builders.city(
        client, admin_headers, "Edge", "NZ", latitude=-90, longitude=180, population=0
    )
    assert (pole["latitude"], pole["longitude"], pole["population"]) == (-90, 180, 0)


# --- list filters ---------------------------------------------------------------------


async def test_city_list_filters_by_country_case_insensitively(
    client: httpx.AsyncClient, admin_headers: Headers
) -> None:
    for name, country in [("Seoul", "KR"), ("Busan", "KR"), ("Yokohama", "JP")]:
        await builders.city(client, admin_headers, name, country)
    assert await names(client, "/v1/cities", country="kr") == ["Busan", "Seoul"]
    assert await names(client, "/v1/cities", country="JP") == ["Yokohama"]
    assert await names(client, "/v1/cities", country="FR") == []


async def test_city_list_filters_by_wikidata(
    client: httpx.AsyncClient, admin_headers: Headers
) -> None:
    await builders.city(client, admin_headers, "Seoul", "KR", wikidata="Q8684")
    await builders.city(client, admin_headers, "Yokohama", "JP", wikidata="Q38283")
    assert await names(client, "/v1/cities", wikidata="Q38283") == ["Yokohama"]
    assert await names(client, "/v1/cities", wikidata="Q1") == []


async def test_member_lists_are_per_kind(client: httpx.AsyncClient, admin_headers: Headers) -> None:
    await builders.city(client, admin_headers, "Seoul", "KR")
    await builders.organization(client, admin_headers, "KOICA", country_code="KR")
    assert await names(client, "/v1/cities") == ["Seoul"]
    assert await names(client, "/v1/organizations") == ["KOICA"]


async def test_city_list_network_filter_gives_members_of_that_network_today(
    client: httpx.AsyncClient, admin_headers: Headers
) -> None:
    await builders.network(client, admin_headers, "citynet")
    await builders.network(client, admin_headers, "metropolis")
    seoul = await builders.city(client, admin_headers, "Seoul", "KR")
    yokohama = await builders.city(client, admin_headers, "Yokohama", "JP")
    paris = await builders.city(client, admin_headers, "Paris", "FR")
    await builders.city(client, admin_headers, "Lyon", "FR")
    await builders.membership(client, admin_headers, seoul["id"], start_date="2000")
    await builders.membership(
        client, admin_headers, yokohama["id"], start_date="2000", end_date="2015"
    )
    await builders.membership(client, admin_headers, paris["id"], network="metropolis")
    koica = await builders.organization(client, admin_headers, "KOICA", country_code="KR")
    await builders.membership(client, admin_headers, koica["id"], category="associate")

    assert await names(client, "/v1/cities", network="citynet") == ["Seoul"]
    assert await names(client, "/v1/cities", network="citynet", as_of="2010-01-01") == [
        "Seoul",
        "Yokohama",
    ]
    assert await names(client, "/v1/cities", network="metropolis") == ["Paris"]
    assert await names(client, "/v1/organizations", network="citynet") == ["KOICA"]
    unknown = await client.get("/v1/cities", params={"network": "nope"})
    assert unknown.status_code == 404


# --- search ---------------------------------------------------------------------------


@pytest.fixture
async def cities(client: httpx.AsyncClient, admin_headers: Headers) -> dict[str, dict[str, Any]]:
    created = {}
    for name, country, alt_names in [
        ("Surabaya", "ID", []),
        ("São Paulo", "BR", ["Sao Paulo City"]),
        ("Seoul", "KR", ["서울", "Hanyang"]),
        ("Seongnam", "KR", []),
        ("Bangkok", "TH", ["Krung Thep Maha Nakhon"]),
        ("Colombo", "LK", []),
    ]:
        created[name] = await builders.city(
            client, admin_headers, name, country, alt_names=alt_names
        )
    return created


async def test_search_forgives_a_small_typo(
    client: httpx.AsyncClient, cities: dict[str, Any]
) -> None:
    assert (await names(client, "/v1/cities", q="surabya"))[0] == "Surabaya"


async def test_search_ignores_accents(
    client: httpx.AsyncClient, admin_headers: Headers, cities: dict[str, Any]
) -> None:
    assert (await names(client, "/v1/cities", q="sao paulo"))[0] == "São Paulo"
    assert (await names(client, "/v1/cities", q="SÃO PAULO"))[0] == "São Paulo"
    # Every letter of "Łódź" that carries a mark differs from plain "lodz": no trigram in
    # common, no alternative name. Only removing the accents can find it.
    await builders.city(client, admin_headers, "Łódź", "PL")
    assert await names(client, "/v1/cities", q="lodz") == ["Łódź"]


async def test_search_ignores_case(client: httpx.AsyncClient, cities: dict[str, Any]) -> None:
    assert (await names(client, "/v1/cities", q="SEOUL"))[0] == "Seoul"


async def test_search_finds_a_city_by_an_alternative_name(
    client: httpx.AsyncClient, cities: dict[str, Any]
) -> None:
    assert await names(client, "/v1/cities", q="Krung Thep") == ["Bangkok"]
    assert await names(client, "/v1/cities", q="서울") == ["Seoul"]


async def test_search_leaves_out_names_that_do_not_resemble(
    client: httpx.AsyncClient, cities: dict[str, Any]
) -> None:
    found = await names(client, "/v1/cities", q="colombo")
    assert found == ["Colombo"]
    assert await names(client, "/v1/cities", q="zzzzqqq") == []


async def test_search_ranks_the_exact_match_first(
    client: httpx.AsyncClient, admin_headers: Headers
) -> None:
    # Created in an order where name order would put the exact match last.
    for name in ("Sanjose", "San Jose del Monte", "San Jos", "San Jose"):
        await builders.city(client, admin_headers, name, "PH")
    found = await names(client, "/v1/cities", q="san jose")
    assert found[0] == "San Jose"
    assert set(found) >= {"San Jose", "San Jose del Monte"}


async def test_search_results_page_with_a_cursor_without_repeats_or_gaps(
    client: httpx.AsyncClient, admin_headers: Headers
) -> None:
    for name in ("Springfield", "Springfield Gardens", "West Springfield", "Springfeld", "Paris"):
        await builders.city(client, admin_headers, name, "US")
    everything = await names(client, "/v1/cities", q="springfield")
    assert len(everything) == 4
    assert everything[0] == "Springfield"

    walked: list[str] = []
    params: dict[str, Any] = {"q": "springfield", "limit": 1}
    for _ in range(10):
        response = await client.get("/v1/cities", params=params)
        assert response.status_code == 200, response.text
        page = response.json()
        walked += [item["name"] for item in page["items"]]
        if page["next_cursor"] is None:
            break
        assert 'rel="next"' in response.headers["link"]
        params["cursor"] = page["next_cursor"]
    assert walked == everything


async def test_organizations_are_searchable_by_alternative_name(
    client: httpx.AsyncClient, admin_headers: Headers
) -> None:
    await builders.organization(
        client,
        admin_headers,
        "Korea International Cooperation Agency",
        alt_names=["KOICA"],
        country_code="KR",
    )
    await builders.organization(client, admin_headers, "UN-Habitat")
    assert await names(client, "/v1/organizations", q="koica") == [
        "Korea International Cooperation Agency"
    ]


async def test_search_text_follows_a_renamed_city(
    client: httpx.AsyncClient, admin_headers: Headers
) -> None:
    city = await builders.city(client, admin_headers, "Bombay", "IN")
    response = await client.patch(
        f"/v1/cities/{city['id']}",
        json={"name": "Mumbai", "alt_names": ["Bombay"]},
        headers=admin_headers,
    )
    assert response.status_code == 200, response.text
    assert await names(client, "/v1/cities", q="mumbai") == ["Mumbai"]
    assert await names(client, "/v1/cities", q="bombay") == ["Mumbai"]


# --- deletion -------------------------------------------------------------------------


async def test_deleting_a_member_with_memberships_and_tenures_is_409_naming_them(
    client: httpx.AsyncClient, admin_headers: Headers, db: Database
) -> None:
    await builders.network(client, admin_headers)
    seoul = await builders.city(client, admin_headers, "Seoul", "KR")
    membership = await builders.membership(client, admin_headers, seoul["id"], start_date="2010")
    await builders.role(client, admin_headers, "chair")
    tenure = await builders.tenure(client, admin_headers, seoul["id"], start_date="2013-11")

    response = await client.delete(f"/v1/cities/{seoul['id']}", headers=admin_headers)
    assert response.status_code == 409, response.text
    detail = response.json()["detail"]
    assert membership["id"] in detail
    assert tenure["id"] in detail
    assert "citynet" in detail
    assert (await client.get(f"/v1/cities/{seoul['id']}")).status_code == 200
    assert await db.count("members") == 1


async def test_deleting_a_member_with_only_a_membership_is_409(
    client: httpx.AsyncClient, admin_headers: Headers
) -> None:
    await builders.network(client, admin_headers)
    koica = await builders.organization(client, admin_headers, "KOICA")
    membership = await builders.membership(client, admin_headers, koica["id"], category="associate")
    response = await client.delete(f"/v1/organizations/{koica['id']}", headers=admin_headers)
    assert response.status_code == 409, response.text
    assert membership["id"] in response.json()["detail"]


async def test_deleting_a_member_without_commitments_is_204_and_audited(
    client: httpx.AsyncClient, admin_headers: Headers, db: Database
) -> None:
    seoul = await builders.city(client, admin_headers, "Seoul", "KR")
    audit_before = await db.count("audit_events")
    response = await client.delete(f"/v1/cities/{seoul['id']}", headers=admin_headers)
    assert response.status_code == 204, response.text
    assert (await client.get(f"/v1/cities/{seoul['id']}")).status_code == 404
    assert await db.count("members") == 0
    assert await db.count("audit_events") == audit_before + 1
    assert (
        await db.scalar(
            "SELECT action FROM audit_events WHERE resource_id = :id ORDER BY id DESC LIMIT 1",
            id=seoul["id"],
        )
        == "delete"
    )


async def test_deleting_a_member_needs_an_admin_key(
    client: httpx.AsyncClient, admin_headers: Headers, keys: Keys, db: Database
) -> None:
    await builders.network(client, admin_headers)
    seoul = await builders.city(client, admin_headers, "Seoul", "KR")
    koica = await builders.organization(client, admin_headers, "KOICA")
    scoped = {"Authorization": f"Bearer {await keys.create('citynet staff', networks=['citynet'])}"}
    for path in (f"/v1/cities/{seoul['id']}", f"/v1/organizations/{koica['id']}"):
        response = await client.delete(path, headers=scoped)
        assert response.status_code == 403, response.text
    anonymous = await client.delete(f"/v1/cities/{seoul['id']}")
    assert anonymous.status_code == 401
    assert await db.count("members") == 2


async def test_a_city_id_is_not_an_organization(
    client: httpx.AsyncClient, admin_headers: Headers
) -> None:
    seoul = await builders.city(client, admin_headers, "Seoul", "KR")
    assert (await client.get(f"/v1/organizations/{seoul['id']}")).status_code == 404
    response = await client.delete(f"/v1/organizations/{seoul['id']}", headers=admin_headers)
    assert response.status_code == 404
    assert (await client.get(f"/v1/cities/{seoul['id']}")).status_code == 200
