"""The directory's pages through HTTP, in process: HTML that escapes what it shows,
ETags and the read cache like the API's reads, a policy that loads nothing from
elsewhere and lets only the configured origins frame the embed page, pages that take
exactly their parameters, and the embed script's size."""

from __future__ import annotations

import statistics
import time

import httpx
import pytest
from fastapi import FastAPI

from netregistry.config import Settings
from netregistry.kit.edge import API_POLICY
from netregistry.kit.readcache import ReadCache
from tests.conftest import running
from tests.kit.test_readcache import settled
from tests.registry import builders

HOSTILE = '<script>alert("x")</script> & Co'
PAGES = (
    "/",
    "/networks/citynet",
    "/networks/citynet/timeline.svg",
    "/embed/networks/citynet/members",
)


@pytest.fixture
async def citynet(app: FastAPI, client: httpx.AsyncClient, admin_headers: dict[str, str]) -> None:
    await builders.network(client, admin_headers, membership_categories=["full", "associate"])
    seoul = await builders.city(client, admin_headers, "Seoul", latitude=37.5665, longitude=126.978)
    odd = await builders.city(client, admin_headers, HOSTILE, country_code="JP")
    await builders.membership(client, admin_headers, seoul["id"])
    await builders.membership(client, admin_headers, odd["id"], category="associate")
    await builders.role(client, admin_headers, "chair", requires_membership=True)
    await builders.tenure(client, admin_headers, seoul["id"], start_date="2013-11")
    await builders.tenure(client, admin_headers, odd["id"], start_date="2001", end_date="2013-11")
    await settled(app)


async def test_pages_escape_what_they_show(client: httpx.AsyncClient, citynet: None) -> None:
    for path in PAGES:
        response = await client.get(path)
        assert response.status_code == 200, (path, response.text)
        assert "<script>" not in response.text, path
    page = (await client.get("/networks/citynet")).text
    assert "&lt;script&gt;alert(&#34;x&#34;)&lt;/script&gt; &amp; Co" in page
    svg = (await client.get("/networks/citynet/timeline.svg")).text
    assert "&lt;script&gt;" in svg
    assert svg.startswith('<?xml version="1.0" encoding="UTF-8"?>\n<svg ')


async def test_pages_carry_etags_and_are_cached_like_api_reads(
    app: FastAPI, client: httpx.AsyncClient, citynet: None, admin_headers: dict[str, str]
) -> None:
    cache: ReadCache = app.state.read_cache
    for path in PAGES:
        first = await client.get(path)
        assert first.headers["cache-control"] == "public, max-age=30"
        hits = cache.hits
        again = await client.get(path, headers={"If-None-Match": first.headers["etag"]})
        assert again.status_code == 304
        assert cache.hits == hits + 1, path
    before = (await client.get("/networks/citynet")).text
    assert "Nothing declared by this day." in before
    declared = await client.post(
        "/v1/networks/citynet/declarations",
        json={"date": "2013", "by_category": {"full": 85, "associate": 46}, "source": "SMG"},
        headers=admin_headers,
    )
    assert declared.status_code == 201
    after = (await client.get("/networks/citynet")).text  # a write drops the cached page
    assert "Nothing declared by this day." not in after
    assert ">85<" in after
    assert ">46<" in after


async def test_a_cached_page_is_served_as_fast_as_a_cached_api_read(
    client: httpx.AsyncClient, citynet: None
) -> None:
    async def median(path: str) -> float:
        await client.get(path)
        times = []
        for _ in range(150):
            started = time.perf_counter()
            await client.get(path)
            times.append(time.perf_counter() - started)
        return statistics.median(times)

    rounds = [
        (await median("/networks/citynet"), await median("/v1/networks/citynet/members"))
        for _ in range(3)
    ]
    page, api = min(p for p, _ in rounds), min(a for _, a in rounds)
    assert page < api * 1.5, f"page {page * 1000:.2f} ms, API read {api * 1000:.2f} ms"


async def test_pages_load_nothing_from_elsewhere_and_only_embeds_may_be_framed(
    client: httpx.AsyncClient, citynet: None, settings: Settings
) -> None:
    page = await client.get("/networks/citynet")
    policy = page.headers["content-security-policy"]
    assert policy == (
        "default-src 'none'; style-src 'self'; img-src 'self'; frame-ancestors 'none'; "
        "base-uri 'none'; form-action 'self'"
    )
    assert page.headers["x-content-type-options"] == "nosniff"
    assert "http" not in page.text.split("<main>")[0]  # no external stylesheet, font or script
    assert "<script" not in page.text
    embedded = await client.get("/embed/networks/citynet/members")
    assert "frame-ancestors 'none'" in embedded.headers["content-security-policy"]
    assert (await client.get("/v1/networks/citynet")).headers[
        "content-security-policy"
    ] == API_POLICY
    origins = ["https://partner.example.org", "http://127.0.0.1:8080"]
    async with running(settings.model_copy(update={"embed_origins": origins})) as allowing:
        transport = httpx.ASGITransport(app=allowing)
        async with httpx.AsyncClient(transport=transport, base_url="http://test") as other:
            framed = await other.get("/embed/networks/citynet/members")
            page_policy = (await other.get("/networks/citynet")).headers["content-security-policy"]
    assert (
        "frame-ancestors https://partner.example.org http://127.0.0.1:8080"
        in framed.headers["content-security-policy"]
    )
    assert "frame-ancestors 'none'" in page_policy  # the page itself stays unframed


async def test_pages_take_exactly_their_parameters(
    client: httpx.AsyncClient, citynet: None
) -> None:
    cases = [
        ("/networks/citynet?contry=KR", 422, "Did you mean `country`?"),
        ("/networks/citynet?country=UK", 422, "GB"),
        ("/networks/citynet?as_of=2014-02-30", 422, "as_of"),
        ("/networks/citynet?kind=person", 422, "kind"),
        ("/networks/citynet?lang=<b>", 422, "lang"),
        ("/networks/citynet?cursor=forged", 400, "cursor"),
        ("/networks/nowhere", 404, "nowhere"),
        ("/networks/citynet/timeline.svg?as_of=2014-01-01", 422, "as_of"),
        ("/?network=citynet", 422, "lang"),
        ("/embed.js?v=2", 422, "takes no query parameters"),
    ]
    for path, status, words in cases:
        response = await client.get(path)
        assert response.status_code == status, (path, response.text)
        assert response.headers["content-type"] == "application/problem+json", path
        assert words in response.text, (path, response.text)
    # An empty form field is no filter.
    empty = await client.get("/networks/citynet?category=&country=&kind=&q=&as_of=")
    assert empty.status_code == 200
    assert empty.text.count('class="member"') == 2


async def test_the_document_language_is_the_labels_language(
    client: httpx.AsyncClient, citynet: None
) -> None:
    korean = (await client.get("/networks/citynet?lang=ko-KR")).text
    assert '<html lang="ko">' in korean
    assert "회원" in korean
    unknown = (await client.get("/networks/citynet?lang=sw")).text
    assert '<html lang="en">' in unknown  # no Swahili labels: the page is in English
    # Seoul has no Korean name: its name is in another script, of no known language.
    assert 'translate="no" lang="">Seoul<' in korean


async def test_names_are_chosen_by_the_page_language_and_carry_their_own_lang(
    client: httpx.AsyncClient, admin_headers: dict[str, str]
) -> None:
    await builders.network(client, admin_headers)
    seoul = await builders.city(
        client,
        admin_headers,
        "Seoul",
        names=[
            {"text": "서울특별시", "lang": "ko", "kind": "official"},
            {"text": "Seoul", "lang": "en", "kind": "common"},
        ],
    )
    yokohama = await builders.city(
        client,
        admin_headers,
        "Yokohama",
        country_code="JP",
        names=[
            {"text": "横浜市", "lang": "ja", "kind": "official"},
            {"text": "Yokohama", "lang": "en", "kind": "common"},
        ],
    )
    kuala_lumpur = await builders.city(client, admin_headers, "Kuala Lumpur", country_code="MY")
    for city in (seoul, yokohama, kuala_lumpur):
        await builders.membership(client, admin_headers, city["id"])
    await builders.role(client, admin_headers, "chair", requires_membership=True)
    await builders.tenure(client, admin_headers, yokohama["id"], start_date="2001")

    def member_cell(page: str, member: dict[str, str]) -> str:
        start = page.index(f'data-member-id="{member["id"]}"')
        return page[start : page.index("</th>", start)]

    korean = (await client.get("/networks/citynet?lang=ko")).text
    assert '<html lang="ko">' in korean
    # Korean: Seoul's Korean name, in the page's language; Yokohama's English name and
    # Kuala Lumpur's untagged one in their own.
    assert member_cell(korean, seoul).endswith('<span translate="no">서울특별시</span>')
    assert member_cell(korean, yokohama).endswith('<span translate="no" lang="en">Yokohama</span>')
    assert member_cell(korean, kuala_lumpur).endswith(
        '<span translate="no" lang="">Kuala Lumpur</span>'
    )
    # The holder and the history name their member the same way.
    yokohama_en = '<span translate="no" lang="en">Yokohama</span>'
    assert f"Chair</th>\n<td>{yokohama_en}</td></tr>" in korean
    assert f"{yokohama_en}</td><td>2001</td>" in korean

    english = (await client.get("/networks/citynet")).text
    assert member_cell(english, seoul).endswith('<span translate="no">Seoul</span>')
    assert member_cell(english, kuala_lumpur).endswith('<span translate="no">Kuala Lumpur</span>')

    # Japanese names, on a page whose labels are English (the pages have none in Japanese).
    japanese = (await client.get("/networks/citynet?lang=ja")).text
    assert '<html lang="en">' in japanese
    assert member_cell(japanese, yokohama).endswith('<span translate="no" lang="ja">横浜市</span>')
    yokohama_ja = '<span translate="no" lang="ja">横浜市</span>'
    assert f"Chair</th>\n<td>{yokohama_ja}</td></tr>" in japanese
    assert f"{yokohama_ja}</td><td>2001</td>" in japanese
    embedded = (await client.get("/embed/networks/citynet/members?lang=ja")).text
    assert member_cell(embedded, yokohama).endswith('<span translate="no" lang="ja">横浜市</span>')

    # The timeline, inline and on its own, labels the chair's bar the same way.
    def bar_label(svg: str) -> str:
        bar = svg[svg.index('<g class="tenure"') :]
        return bar[bar.index("<text") : bar.index("</text>") + 7]

    timeline = (await client.get("/networks/citynet/timeline.svg?lang=ko")).text
    assert 'role="img" lang="ko" xml:lang="ko"' in timeline
    assert bar_label(timeline).endswith(' lang="en" xml:lang="en">Yokohama</text>')
    assert bar_label(korean).endswith(' lang="en" xml:lang="en">Yokohama</text>')
    timeline = (await client.get("/networks/citynet/timeline.svg?lang=ja")).text
    assert 'role="img" lang="en" xml:lang="en"' in timeline
    assert bar_label(timeline).endswith(' lang="ja" xml:lang="ja">横浜市</text>')
    plain = (await client.get("/networks/citynet/timeline.svg")).text
    assert bar_label(plain).endswith('fill="#ffffff">Yokohama</text>')


async def test_the_embed_script_is_small_and_standalone(client: httpx.AsyncClient) -> None:
    script = await client.get("/embed.js")
    assert script.status_code == 200
    assert script.headers["content-type"] == "text/javascript; charset=utf-8"
    assert len(script.content) < 10 * 1024
    for dependency in ("import ", "require(", "http://", "https://registry"):
        assert dependency not in script.text.split("*/", 1)[1]
    assert "var(--netregistry-accent" in script.text
    cached = await client.get("/embed.js", headers={"If-None-Match": script.headers["etag"]})
    assert cached.status_code == 304
