"""The public directory in a real browser: Debian's headless Chromium (.ci/run installs
it) against a real ``netregistry serve --demo``, and two partner sites on other origins,
one allowed to frame the embeddable list (``NETREGISTRY_EMBED_ORIGINS``) and one not.

The page shows CITYNET's chair and executive cities from the demo data; its filter and
search work without JavaScript; the timeline draws CITYNET's handover and C40's chairs
in order; the embed script renders the list on a partner's page while the other
partner cannot frame the embed page; the GeoJSON validates; axe-core (pinned through
``axe-playwright-python``, which ships axe.min.js) reports no serious or critical
violation. Screenshots go to ``build/screenshots/``.

Without Chromium the tests skip locally and fail in CI.
"""

from __future__ import annotations

import asyncio
import json
import os
import shutil
import threading
from collections.abc import AsyncIterator, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import httpx
import pytest
from axe_playwright_python.async_playwright import Axe
from playwright.async_api import Browser, Page, async_playwright
from sqlalchemy.engine import URL

from tests.conftest import free_port, fresh_database
from tests.reliability.test_faults import Service, _cli

pytestmark = pytest.mark.browser

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
SCREENSHOTS = Path(__file__).resolve().parents[2] / "build" / "screenshots"
TIMEOUT_MS = 30_000

# C40's chairs, as test data written through the API (the demo holds only the seeds).
C40_CHAIRS = [
    ("London", "GB", 51.5072, -0.1276, "2005", "2008"),
    ("Toronto", "CA", 43.6532, -79.3832, "2008", "2010"),
    ("New York", "US", 40.7128, -74.0060, "2010", "2013"),
    ("Rio de Janeiro", "BR", -22.9068, -43.1729, "2013", "2016-12"),
    ("Paris", "FR", 48.8566, 2.3522, "2016-12", "2019"),
    ("Los Angeles", "US", 34.0549, -118.2426, "2019", "2021"),
    ("London", "GB", 51.5072, -0.1276, "2021", "2023-06"),
    ("London", "GB", 51.5072, -0.1276, "2023-06", None),
    ("Freetown", "SL", 8.4657, -13.2317, "2023-06", None),
]


class DirectoryService(Service):
    """``netregistry serve --demo``, with the partner origins allowed to frame it."""

    embed_origins: list[str]

    @property
    def env(self) -> dict[str, str]:
        return {**super().env, "NETREGISTRY_EMBED_ORIGINS": json.dumps(self.embed_origins)}

    def spawn(self) -> None:
        import subprocess

        with (self.data_dir / "service.log").open("ab") as log:
            self.process = subprocess.Popen(
                [_cli(), "serve", "--demo", "--port", str(self.port)],
                env=self.env,
                stdout=log,
                stderr=log,
            )


class Partner:
    """A partner's site on an origin of its own: one page with the embed script and an
    iframe of the embed page."""

    def __init__(self, service_url: str) -> None:
        self.port = free_port()
        page = f"""<!DOCTYPE html><html lang="en"><head><meta charset="utf-8">
<title>Partner</title></head><body><main><h1>Our partners</h1>
<div class="theme"><script src="{service_url}/embed.js" data-network="citynet"
 data-lang="ko" data-category="full"></script></div>
<iframe id="framed" title="CITYNET members" width="800" height="400"
 src="{service_url}/embed/networks/citynet/members"></iframe></main></body></html>"""
        body = page.encode()

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                self.send_response(200)
                self.send_header("Content-Type", "text/html; charset=utf-8")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", self.port), Handler)
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    @property
    def origin(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def __enter__(self) -> Partner:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture(scope="module")
def chromium() -> str:
    if not Path(CHROMIUM).exists():
        reason = f"headless Chromium is not installed ({CHROMIUM}): apt-get install chromium"
        if os.environ.get("CI") == "true":
            pytest.fail(f"CI must run the directory in a browser, but {reason}")
        pytest.skip(reason)
    return CHROMIUM


@pytest.fixture(scope="module")
def ports() -> tuple[int, int]:
    return free_port(), free_port()


@pytest.fixture(scope="module")
async def service(
    server_url: URL, template_database: str, tmp_path_factory: pytest.TempPathFactory
) -> AsyncIterator[DirectoryService]:
    async with fresh_database(server_url, template_database) as database_url:
        running = DirectoryService(database_url, tmp_path_factory.mktemp("directory"))
        running.embed_origins = []
        yield running
        running.kill()


@pytest.fixture(scope="module")
def partners(service: DirectoryService) -> Iterator[tuple[Partner, Partner]]:
    with Partner(service.url) as allowed, Partner(service.url) as refused:
        yield allowed, refused


@pytest.fixture(scope="module")
async def started(service: DirectoryService, partners: tuple[Partner, Partner]) -> DirectoryService:
    service.embed_origins = [partners[0].origin]
    await service.start()
    await _add_c40(service)
    return service


async def _add_c40(service: DirectoryService) -> None:
    token = await asyncio.to_thread(service.admin_key)
    headers = {"Authorization": f"Bearer {token}"}
    async with httpx.AsyncClient(base_url=service.url, headers=headers) as client:
        created = await client.post(
            "/v1/networks",
            json={"slug": "c40", "name": "C40 Cities", "membership_categories": ["full"]},
        )
        assert created.status_code == 201, created.text
        role = await client.post(
            "/v1/networks/c40/roles",
            json={"slug": "chair", "name": "Chair", "max_holders": 2, "requires_membership": False},
        )
        assert role.status_code == 201, role.text
        ids: dict[str, str] = {}
        for name, country, latitude, longitude, start, end in C40_CHAIRS:
            if name not in ids:
                city = await client.post(
                    "/v1/cities",
                    json={
                        "name": name,
                        "country_code": country,
                        "latitude": latitude,
                        "longitude": longitude,
                    },
                )
                assert city.status_code == 201, city.text
                ids[name] = city.json()["id"]
                member = await client.post(
                    "/v1/networks/c40/memberships",
                    json={"member_id": ids[name], "category": "full"},
                )
                assert member.status_code == 201, member.text
            tenure = await client.post(
                "/v1/networks/c40/tenures",
                json={
                    "role": "chair",
                    "member_id": ids[name],
                    "start_date": start,
                    "end_date": end,
                },
            )
            assert tenure.status_code == 201, tenure.text
        # A member without coordinates: listed, on no map.
        org = await client.post(
            "/v1/organizations", json={"name": "Urban Institute (test)", "org_type": "institute"}
        )
        assert org.status_code == 201, org.text
        joined = await client.post(
            "/v1/networks/c40/memberships",
            json={"member_id": org.json()["id"], "category": "full"},
        )
        assert joined.status_code == 201, joined.text


@pytest.fixture(scope="module")
async def browser(chromium: str) -> AsyncIterator[Browser]:
    async with async_playwright() as playwright:
        launched = await playwright.chromium.launch(
            executable_path=chromium,
            headless=True,
            args=["--no-sandbox", "--disable-gpu", "--disable-background-networking"],
        )
        try:
            yield launched
        finally:
            await launched.close()


@pytest.fixture
async def page(browser: Browser) -> AsyncIterator[Page]:
    context = await browser.new_context(viewport={"width": 1100, "height": 900})
    try:
        yield await context.new_page()
    finally:
        await context.close()


async def _serious(page: Page) -> list[str]:
    results = await Axe().run(page)
    return [
        f"{violation['id']} ({violation['impact']}): {violation['help']}"
        for violation in results.response["violations"]
        if violation["impact"] in ("serious", "critical")
    ]


async def test_the_page_shows_citynets_office_holders_and_passes_axe(
    started: DirectoryService, page: Page
) -> None:
    errors: list[str] = []
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    response = await page.goto(f"{started.url}/networks/citynet?as_of=2014-01-01")
    assert response is not None
    assert response.status == 200
    assert await page.get_attribute("html", "lang") == "en"
    chair = page.locator('#holders tr[data-role="chair"] td')
    assert await chair.inner_text() == "Seoul"
    executives = await page.locator('#holders tr[data-role="executive"] td').inner_text()
    assert sorted(executives.split(", ")) == sorted(
        ["Seoul", "Yokohama", "Colombo", "Lyon", "Surabaya", "Bangkok"]
    )
    # The declared figures beside the counted ones.
    declared = await page.locator("#declared").inner_text()
    assert "85" in declared
    assert "46" in declared
    assert "11" in await page.locator("#counted").inner_text()
    assert await _serious(page) == []
    assert errors == []
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    await page.screenshot(path=str(SCREENSHOTS / "network-citynet.png"), full_page=True)
    await page.screenshot(path=str(SCREENSHOTS / "network-citynet-top.png"))


async def test_filter_and_search_work_without_javascript(
    started: DirectoryService, browser: Browser
) -> None:
    context = await browser.new_context(java_script_enabled=False)
    page = await context.new_page()
    try:
        await page.goto(f"{started.url}/networks/citynet")
        assert await page.locator("#members-table tbody tr.member").count() == 11
        await page.fill("#f-country", "kr")
        await page.click("form.filters button")
        await page.wait_for_url("**country=kr**")
        names = await page.locator("#members-table tbody tr.member th").all_inner_texts()
        assert names == ["Busan", "Changwon", "Incheon", "Seoul", "Suwon", "Yongin"]
        await page.fill("#f-country", "")
        await page.fill("#f-q", "surabaya")
        await page.click("form.filters button")
        await page.wait_for_url("**q=surabaya**")
        names = await page.locator("#members-table tbody tr.member th").all_inner_texts()
        assert names == ["Surabaya"]
        await page.select_option("#f-kind", "organization")
        await page.fill("#f-q", "")
        await page.click("form.filters button")
        await page.wait_for_url("**kind=organization**")
        assert await page.locator("#members-table tbody tr.member").count() == 0
    finally:
        await context.close()


async def _bars(page: Page, role: str) -> list[dict[str, Any]]:
    bars: list[dict[str, Any]] = await page.locator(
        f'#timeline g.lane[data-role="{role}"] g.tenure'
    ).evaluate_all(
        """groups => groups.map(g => {
            const boxes = [...g.querySelectorAll('rect')].map(r => r.getBBox());
            const solid = g.querySelector('rect.solid').getBBox();
            return {holder: g.dataset.holder, start: g.dataset.start, end: g.dataset.end,
                    solid_left: solid.x, solid_right: solid.x + solid.width,
                    left: Math.min(...boxes.map(b => b.x)),
                    right: Math.max(...boxes.map(b => b.x + b.width)),
                    top: Math.min(...boxes.map(b => b.y))};
        })"""
    )
    return bars


async def test_the_timeline_draws_the_handovers_where_they_happened(
    started: DirectoryService, page: Page
) -> None:
    await page.goto(f"{started.url}/networks/citynet")
    chair = {bar["holder"]: bar for bar in await _bars(page, "chair")}
    # Yokohama until 2013-11, Seoul from 2013-11: November 2013 is the uncertain month,
    # over which Yokohama fades out while Seoul fades in.
    yokohama, seoul = chair["Yokohama"], chair["Seoul"]
    assert yokohama["end"] == "2013-11"
    assert seoul["start"] == "2013-11"
    assert yokohama["solid_right"] == pytest.approx(seoul["left"], abs=0.2)
    assert yokohama["right"] == pytest.approx(seoul["solid_left"], abs=0.2)
    assert 0 < seoul["solid_left"] - seoul["left"] < 12  # one month wide
    assert yokohama["top"] == seoul["top"]  # one row: a handover, not two offices
    ticks = await page.locator("#timeline text").evaluate_all(
        "texts => Object.fromEntries(texts.map(t => "
        "[t.textContent, t.getBBox().x + t.getBBox().width / 2]))"
    )
    year = ticks["2014"] - ticks["2013"]
    assert seoul["left"] == pytest.approx(ticks["2013"] + year * 304 / 365, abs=1)
    assert yokohama["left"] < ticks["2013"]  # since before the records
    # The text alternative names every tenure.
    desc = await page.locator("#timeline desc").text_content() or ""
    assert "Yokohama, from before the records until 2013-11" in desc
    assert "Seoul, from 2013-11 ongoing" in desc
    await page.locator("#timeline").screenshot(path=str(SCREENSHOTS / "timeline-citynet.png"))

    await page.goto(f"{started.url}/networks/c40")
    bars = await _bars(page, "chair")
    in_order = [bar["holder"] for bar in sorted(bars, key=lambda b: (b["left"], b["holder"]))]
    assert in_order == [
        "London",
        "Toronto",
        "New York",
        "Rio de Janeiro",
        "Paris",
        "Los Angeles",
        "London",
        "Freetown",
        "London",
    ]
    # Every chair in one row, but the co-chair beside London.
    assert {bar["top"] for bar in bars if bar["holder"] != "Freetown"} == {bars[0]["top"]}
    co_chairs = [bar for bar in bars if bar["start"] == "2023-06"]
    assert len(co_chairs) == 2
    assert co_chairs[0]["left"] == co_chairs[1]["left"]
    assert co_chairs[0]["top"] != co_chairs[1]["top"]  # side by side, one row each
    # Rio until 2016-12, Paris from 2016-12: the one fades out over the month the other
    # fades in.
    rio = next(bar for bar in bars if bar["holder"] == "Rio de Janeiro")
    paris = next(bar for bar in bars if bar["holder"] == "Paris")
    assert rio["solid_right"] == pytest.approx(paris["left"], abs=0.2)
    assert rio["right"] == pytest.approx(paris["solid_left"], abs=0.2)
    await page.locator("#timeline").screenshot(path=str(SCREENSHOTS / "timeline-c40.png"))
    # The map leaves out the member without coordinates.
    assert await page.locator("#members-map circle.place").count() == 7
    assert await page.locator("#members-table tbody tr.member").count() == 8
    assert await _serious(page) == []
    svg = await page.request.get(f"{started.url}/networks/c40/timeline.svg")
    assert svg.headers["content-type"].startswith("image/svg+xml")
    assert "Freetown" in await svg.text()


async def test_the_embed_script_renders_on_a_partner_page_and_only_allowed_origins_frame(
    started: DirectoryService, partners: tuple[Partner, Partner], browser: Browser
) -> None:
    allowed, refused = partners
    context = await browser.new_context()
    page = await context.new_page()
    try:
        await page.goto(allowed.origin + "/")
        rows = page.locator(".netregistry-members tr.netregistry-member")
        await rows.first.wait_for(timeout=TIMEOUT_MS)
        assert await rows.count() == 11  # CITYNET's full members in the demo
        assert await page.locator(".netregistry-members").get_attribute("lang") == "ko"
        assert await page.locator(".netregistry-members caption").inner_text() == "회원"
        framed = page.frame_locator("#framed")
        await framed.locator("#members-table").wait_for(timeout=TIMEOUT_MS)
        assert await framed.locator("#members-table tbody tr.member").count() == 11

        await page.goto(refused.origin + "/")
        await page.locator(".netregistry-members tr.netregistry-member").first.wait_for(
            timeout=TIMEOUT_MS
        )  # reading the API is open to every origin; framing is not
        await page.wait_for_timeout(1000)
        frame = next(f for f in page.frames if f.parent_frame is not None)
        assert await frame.locator("#members-table").count() == 0
        await page.screenshot(path=str(SCREENSHOTS / "partner-refused.png"))
    finally:
        await context.close()


async def test_the_member_list_as_geojson_is_valid_rfc_7946(started: DirectoryService) -> None:
    async with httpx.AsyncClient(base_url=started.url) as client:
        by_format = await client.get("/v1/networks/c40/members?format=geojson")
        by_accept = await client.get(
            "/v1/networks/c40/members", headers={"Accept": "application/geo+json"}
        )
        plain = await client.get("/v1/networks/c40/members")
    for response in (by_format, by_accept):
        assert response.status_code == 200
        assert response.headers["content-type"] == "application/geo+json"
    assert by_format.json() == by_accept.json()
    assert plain.headers["content-type"] == "application/json"
    assert "Accept" in plain.headers["vary"]
    document = by_format.json()
    _check_rfc_7946(document)
    features = document["features"]
    assert len(features) == 8
    placed = {f["properties"]["name"]: f["geometry"] for f in features}
    assert placed["Urban Institute (test)"] is None
    assert placed["Freetown"]["coordinates"] == [-13.2317, 8.4657]  # longitude first
    london = next(f for f in features if f["properties"]["name"] == "London")
    assert [role["role"] for role in london["properties"]["roles"]] == ["chair"]


def _check_rfc_7946(document: dict[str, Any]) -> None:
    """The rules of RFC 7946 a FeatureCollection of points must meet."""
    assert document["type"] == "FeatureCollection"
    assert "crs" not in document  # 4: WGS 84 always, no crs member
    assert isinstance(document["features"], list)
    for feature in document["features"]:
        assert feature["type"] == "Feature"
        assert set(feature) >= {"type", "geometry", "properties"}  # 3.2
        assert isinstance(feature["id"], str | int)
        assert feature["properties"] is None or isinstance(feature["properties"], dict)
        geometry = feature["geometry"]
        if geometry is None:
            continue
        assert geometry["type"] == "Point"
        longitude, latitude = geometry["coordinates"]  # 3.1.1: two numbers
        assert all(
            isinstance(n, int | float) and not isinstance(n, bool) for n in (longitude, latitude)
        )
        assert -180 <= longitude <= 180
        assert -90 <= latitude <= 90


async def test_the_landing_page_and_the_embed_page_pass_axe(
    started: DirectoryService, page: Page
) -> None:
    await page.goto(f"{started.url}/?lang=ko")
    assert await page.get_attribute("html", "lang") == "ko"
    assert await page.locator("ul.networks a").count() == 3
    assert await _serious(page) == []
    await page.goto(f"{started.url}/embed/networks/citynet/members?lang=ko")
    assert await page.get_attribute("html", "lang") == "ko"
    assert await _serious(page) == []
    await page.goto(f"{started.url}/networks/metropolis?lang=ko")
    assert "163" in await page.locator("#declared").inner_text()
    assert await _serious(page) == []
