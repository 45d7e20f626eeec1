"""Categories have labels and descriptions per language (issue 13, point 7)."""

from __future__ import annotations

import httpx

from tests.conftest import Database
from tests.registry import builders

Headers = dict[str, str]

LABELS = [
    {
        "category": "full",
        "lang": "en",
        "label": "Full member",
        "description": "Local governments",
    },
    {
        "category": "associate",
        "lang": "en",
        "label": "Associate member",
        "description": "NGOs, institutes",
    },
    {"category": "full", "lang": "ko", "label": "정회원", "description": None},
]


async def test_a_networks_categories_carry_labels_and_descriptions_per_language(
    client: httpx.AsyncClient, admin_headers: Headers
) -> None:
    created = await builders.network(client, admin_headers, category_labels=LABELS)
    assert created["category_labels"] == LABELS
    read = (await client.get("/v1/networks/citynet")).json()
    assert read["category_labels"] == LABELS
    listed = (await client.get("/v1/networks")).json()["items"][0]
    assert listed["category_labels"] == LABELS


async def test_a_label_of_a_category_the_network_lacks_or_given_twice_is_422(
    client: httpx.AsyncClient, admin_headers: Headers, db: Database
) -> None:
    for labels in (
        [{"category": "observer", "lang": "en", "label": "Observer"}],
        [LABELS[0], {**LABELS[0], "label": "Full"}],
        [{"category": "full", "lang": "english", "label": "Full"}],
    ):
        response = await client.post(
            "/v1/networks",
            json={"slug": "citynet", "name": "CITYNET", "category_labels": labels},
            headers=admin_headers,
        )
        assert response.status_code == 422, response.text
    assert await db.count("networks") == 0
    await builders.network(client, admin_headers)
    patched = await client.patch(
        "/v1/networks/citynet",
        json={"category_labels": [{"category": "observer", "lang": "en", "label": "Observer"}]},
        headers=admin_headers,
    )
    assert patched.status_code == 422, patched.text
    assert "observer" in patched.json()["errors"][0]["message"]
    assert await db.count("category_labels") == 0


async def test_category_slugs_take_underscores_and_a_removed_category_loses_its_labels(
    client: httpx.AsyncClient, admin_headers: Headers, db: Database
) -> None:
    await builders.network(
        client,
        admin_headers,
        membership_categories=["full", "associate", "president_city"],
        category_labels=[
            *LABELS,
            {"category": "president_city", "lang": "en", "label": "President city"},
        ],
    )
    assert await db.count("category_labels") == 4
    patched = await client.patch(
        "/v1/networks/citynet",
        json={"membership_categories": ["full", "president_city"]},
        headers=admin_headers,
    )
    assert patched.status_code == 200, patched.text
    assert [label["category"] for label in patched.json()["category_labels"]] == [
        "full",
        "full",
        "president_city",
    ]
    assert await db.count("category_labels") == 3
