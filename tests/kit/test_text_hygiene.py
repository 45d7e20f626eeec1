"""Text hygiene: every text is stored as Unicode NFC, and no text holds what displays as
nothing or as something else (control characters, bidirectional controls, tag
characters); a name has at least one visible character.
"""

from __future__ import annotations

import json
import re
import unicodedata
from typing import Any

import httpx
import pytest

from netregistry.kit.types import MULTI_LINE_PATTERN, SINGLE_LINE_PATTERN
from tests.conftest import Database
from tests.registry import builders
from tests.registry.test_csv_import import import_csv, spreadsheet

Headers = dict[str, str]
PREFIX = "urn:netregistry:problem:"

LODZ = "Łódź"
LODZ_NFD = unicodedata.normalize("NFD", LODZ)  # "Ło\u0301dz\u0301", as macOS types it
assert LODZ_NFD != LODZ

REFUSED_NAMES = [
    pytest.param("\u200d", "text_not_visible", id="zero-width-joiner-only"),
    pytest.param("\u200d \u200c\u2060", "text_not_visible", id="invisible-and-spaces-only"),
    pytest.param("\u0301", "text_not_visible", id="a-lone-combining-accent"),
    pytest.param("Seoul\u202e", "text_bidi_control", id="right-to-left-override"),
    pytest.param("\u202dSeoul\u202c", "text_bidi_control", id="override-and-pop"),
    pytest.param("\u2067Seoul\u2069", "text_bidi_control", id="isolate"),
    pytest.param("Seoul\u200f", "text_bidi_control", id="right-to-left-mark"),
    pytest.param("Seoul\U000e0041\U000e0042", "text_tag_character", id="tag-characters"),
    pytest.param("Seo\nul", "text_control_character", id="line-feed"),
    pytest.param("Seoul\r\n", "text_control_character", id="trailing-crlf"),
    pytest.param("Seo\tul", "text_control_character", id="tab"),
    pytest.param("Seoul\x07", "text_control_character", id="bell"),
    pytest.param("Seoul\x85", "text_control_character", id="c1-next-line"),
]


def _error(response: httpx.Response) -> tuple[list[Any], str, str]:
    assert response.status_code == 422, response.text
    problem = response.json()
    assert problem["type"] == PREFIX + "validation-failed"
    [error] = problem["errors"]
    assert not error["message"].startswith("Value error"), error
    return error["location"], error["type"], error["message"]


@pytest.mark.parametrize(("name", "error_type"), REFUSED_NAMES)
async def test_a_name_that_displays_as_nothing_or_as_something_else_is_refused(
    client: httpx.AsyncClient, admin_headers: Headers, db: Database, name: str, error_type: str
) -> None:
    response = await client.post(
        "/v1/cities", json={"name": name, "country_code": "KR"}, headers=admin_headers
    )
    location, found_type, message = _error(response)
    assert (location, found_type) == (["body", "name"], error_type)
    if error_type != "text_not_visible":
        # The character is named by its code point and place, so it can be found and removed.
        character = next(c for c in name if not c.isalnum())
        assert f"U+{ord(character):04X}" in message or "line break" in message, message
        assert "character " in message, message
    assert await db.count("members") == 0


@pytest.mark.parametrize(
    ("path", "field", "body"),
    [
        pytest.param("/v1/networks", "name", {"slug": "c40"}, id="network-name"),
        pytest.param("/v1/networks", "acronym", {"slug": "c40", "name": "C40"}, id="acronym"),
        pytest.param("/v1/networks", "scope", {"slug": "c40", "name": "C40"}, id="scope"),
        pytest.param(
            "/v1/networks", "official_name", {"slug": "c40", "name": "C40"}, id="official-name"
        ),
        pytest.param("/v1/organizations", "name", {}, id="organization-name"),
        pytest.param("/v1/organizations", "org_type", {"name": "ICLEI"}, id="org-type"),
        pytest.param(
            "/v1/cities", "subdivision", {"name": "Seoul", "country_code": "KR"}, id="subdivision"
        ),
    ],
)
async def test_every_one_line_text_follows_the_same_rules(
    client: httpx.AsyncClient,
    admin_headers: Headers,
    db: Database,
    path: str,
    field: str,
    body: dict[str, Any],
) -> None:
    before = await db.contents()
    for value, error_type in (
        ("\u2066x\u2069", "text_bidi_control"),
        ("a\nb", "text_control_character"),
        ("\u200d", "text_not_visible"),
    ):
        response = await client.post(path, json={**body, field: value}, headers=admin_headers)
        assert _error(response)[:2] == (["body", field], error_type), (field, value)
    assert await db.contents() == before


async def test_alternative_names_follow_the_rules_of_names(
    client: httpx.AsyncClient, admin_headers: Headers, db: Database
) -> None:
    response = await client.post(
        "/v1/cities",
        json={"name": "Seoul", "country_code": "KR", "alt_names": ["서울", "\u202eluoeS"]},
        headers=admin_headers,
    )
    assert _error(response)[:2] == (["body", "alt_names", 1], "text_bidi_control")
    assert await db.count("members") == 0


async def test_a_note_may_hold_line_breaks_and_tabs_but_no_other_control(
    client: httpx.AsyncClient, admin_headers: Headers, db: Database
) -> None:
    await builders.network(client, admin_headers)
    seoul = await builders.city(client, admin_headers, "Seoul")
    path = "/v1/networks/citynet/memberships"
    body = {"member_id": seoul["id"], "category": "full"}
    for note, error_type in (
        ("one\x0btwo", "text_control_character"),
        ("Named chair \u202ein 2013", "text_bidi_control"),
        ("\u200b", "text_not_visible"),
    ):
        response = await client.post(path, json={**body, "note": note}, headers=admin_headers)
        assert _error(response)[:2] == (["body", "note"], error_type), note
    assert await db.count("memberships") == 0
    note = "Named in the 2013 article.\n\tSecond line.\r\nThird."
    created = await client.post(path, json={**body, "note": note}, headers=admin_headers)
    assert created.status_code == 201, created.text
    assert created.json()["note"] == note


async def test_text_is_stored_composed_nfc_whatever_form_it_was_sent_in(
    client: httpx.AsyncClient, admin_headers: Headers, db: Database
) -> None:
    """The NFC and NFD spellings of Łódź are one name: stored alike, read back alike."""
    created = await builders.city(
        client, admin_headers, LODZ_NFD, "PL", alt_names=[LODZ_NFD], subdivision=LODZ_NFD
    )
    assert (created["name"], created["alt_names"], created["subdivision"]) == (
        LODZ,
        [LODZ],
        LODZ,
    )
    stored = await db.scalar("SELECT name || alt_names[1] || subdivision FROM members")
    assert stored == LODZ * 3
    renamed = await client.patch(
        f"/v1/cities/{created['id']}", json={"name": LODZ_NFD + " "}, headers=admin_headers
    )
    assert renamed.status_code == 200, renamed.text
    assert renamed.json()["name"] == LODZ
    assert await db.scalar("SELECT name FROM members") == LODZ
    # A search in either form finds it, and lists it as stored.
    for q in (LODZ, LODZ_NFD):
        found = await client.get("/v1/cities", params={"q": q})
        assert [city["name"] for city in found.json()["items"]] == [LODZ], q


async def test_texts_of_networks_roles_memberships_and_tenures_are_stored_nfc(
    client: httpx.AsyncClient, admin_headers: Headers
) -> None:
    nfd = unicodedata.normalize("NFD", "Réseau des villes d'Amérique")
    network = await builders.network(
        client, admin_headers, "reseau", scope=nfd, official_name=nfd, description=nfd
    )
    nfc = unicodedata.normalize("NFC", nfd)
    assert [network[field] for field in ("scope", "official_name", "description")] == [nfc] * 3
    role = await builders.role(client, admin_headers, "chair", network="reseau")
    patched = await client.patch(
        "/v1/networks/reseau/roles/chair", json={"name": nfd}, headers=admin_headers
    )
    assert patched.status_code == 200, patched.text
    assert (role["name"], patched.json()["name"]) == ("Chair", nfc)
    city = await builders.city(client, admin_headers, LODZ, "PL")
    membership = await client.post(
        "/v1/networks/reseau/memberships",
        json={"member_id": city["id"], "category": "full", "note": nfd},
        headers=admin_headers,
    )
    assert membership.json()["note"] == nfc
    tenure = await client.post(
        "/v1/networks/reseau/tenures",
        json={"role": "chair", "member_id": city["id"], "representative": nfd, "note": nfd},
        headers=admin_headers,
    )
    assert (tenure.json()["representative"], tenure.json()["note"]) == (nfc, nfc)


async def test_the_csv_import_stores_nfc_and_matches_either_form_to_one_city(
    client: httpx.AsyncClient, admin_headers: Headers, db: Database
) -> None:
    await builders.network(client, admin_headers)
    imported = await import_csv(client, admin_headers, spreadsheet(f"{LODZ_NFD},PL,full,,"))
    assert imported.status_code == 201, imported.text
    assert await db.scalar("SELECT name FROM members") == LODZ
    # The same city again, spelt composed, in another network: matched, not added.
    await builders.network(client, admin_headers, "metropolis")
    again = await import_csv(
        client,
        admin_headers,
        spreadsheet(f"{LODZ},PL,full,,"),
        path="/v1/networks/metropolis/memberships:import",
    )
    assert again.status_code == 201, again.text
    assert [row["matched_by"] for row in again.json()["rows"]] == ["name"]
    assert await db.count("members") == 1
    # A row with a bidi override is an error naming its row and column.
    refused = await import_csv(client, admin_headers, spreadsheet("Seoul\u202e,KR,full,,"))
    assert refused.status_code == 422, refused.text
    assert [(e["location"], e["type"]) for e in refused.json()["errors"]] == [
        (["body", "row", 2, "name"], "text_bidi_control")
    ]


async def test_names_from_real_scripts_are_accepted_as_written(
    client: httpx.AsyncClient, admin_headers: Headers
) -> None:
    """What the rules must not refuse: the joiners Persian and Sinhala need, Hangul,
    right-to-left scripts without explicit controls, emoji sequences."""
    names = [
        "می\u200cخواهم",  # Persian with a zero-width non-joiner
        "ශ්\u200dරී ලංකා",  # Sinhala with a zero-width joiner
        "서울특별시",
        "תל אביב-יפו",
        "الرياض",
        "São Paulo",
        "Zürich 🇨🇭",
    ]
    for name in names:
        city = await builders.city(client, admin_headers, name, "LK")
        assert city["name"] == name


def _matches(pattern: str, text: str) -> bool:
    """Whether ``text`` matches ``pattern`` as JSON Schema (ECMA-262) reads it: its ``$``
    is the end of the text, where Python's also admits a final line feed."""
    found = re.search(pattern, text)
    return found is not None and found.end() == len(text)


def test_the_contract_patterns_say_what_the_rules_refuse() -> None:
    """The JSON Schema patterns (tag characters aside, which a pattern cannot name) refuse
    what the service refuses: controls and bidi controls anywhere, blank names."""
    for text in ("Seoul", " Seoul ", "ශ්\u200dරී", "\u200d"):
        assert _matches(SINGLE_LINE_PATTERN, text), text
    for text in ("", "   ", "\u3000", "Seo\nul", "Seoul\n", "\u202eSeoul", "a\x00b", "a\x85"):
        assert not _matches(SINGLE_LINE_PATTERN, text), json.dumps(text)
    for text in ("one\ntwo\r\n\tthree", "", "  "):
        assert _matches(MULTI_LINE_PATTERN, text), json.dumps(text)
    for text in ("a\x0bb", "\u2066x\u2069", "\x00"):
        assert not _matches(MULTI_LINE_PATTERN, text), json.dumps(text)
