"""The docs pages work without internet access: a real ``netregistry serve`` process, and
headless Chromium that may reach that server and nothing else, finds every operation of
the contract rendered on /docs (Swagger UI) and /redoc (ReDoc), with no request leaving
for another host, no Content-Security-Policy violation and no script error.

Chromium is Debian's (``apt-get install chromium``, which .ci/run does): without it the
tests skip locally and fail in CI.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import httpx
import pytest
from playwright.async_api import Browser, ConsoleMessage, Page, Route, async_playwright
from sqlalchemy.engine import URL

from tests.conftest import fresh_database
from tests.reliability.test_faults import Service

pytestmark = pytest.mark.browser

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
RENDER_TIMEOUT_MS = 30_000

# Every violation the page's policy reports, whether or not it also reaches the console.
_RECORD_VIOLATIONS = """
window.__violations = [];
document.addEventListener("securitypolicyviolation", (event) => {
  window.__violations.push(`${event.violatedDirective} ${event.blockedURI}`);
});
"""


@pytest.fixture(scope="module")
def chromium() -> str:
    if not Path(CHROMIUM).exists():
        reason = f"headless Chromium is not installed ({CHROMIUM}): apt-get install chromium"
        if os.environ.get("CI") == "true":
            pytest.fail(f"CI must run the docs pages in a browser, but {reason}")
        pytest.skip(reason)
    return CHROMIUM


@pytest.fixture(scope="module")
async def service(
    server_url: URL, template_database: str, tmp_path_factory: pytest.TempPathFactory
) -> AsyncIterator[Service]:
    async with fresh_database(server_url, template_database) as database_url:
        running = Service(database_url, tmp_path_factory.mktemp("docs-offline"))
        await running.start()
        try:
            yield running
        finally:
            running.kill()


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


@pytest.fixture(scope="module")
async def operations(service: Service) -> list[dict[str, Any]]:
    """Every operation of the contract the service publishes, its webhooks' too (the docs
    render them beside the paths)."""
    async with httpx.AsyncClient(base_url=service.url) as client:
        contract = (await client.get("/openapi.json")).json()
    return [
        operation
        for section in ("paths", "webhooks")
        for methods in contract.get(section, {}).values()
        for method, operation in methods.items()
        if method in ("get", "put", "post", "patch", "delete", "head", "options")
    ]


@dataclass
class Offline:
    """A page that may reach the service only; what it tried and what it complained of."""

    page: Page
    origin: str
    refused: list[str] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)

    async def _route(self, route: Route) -> None:
        url = route.request.url
        parts = urlsplit(url)
        if f"{parts.scheme}://{parts.netloc}" == self.origin or parts.scheme in ("data", "blob"):
            await route.continue_()
        else:
            self.refused.append(url)
            await route.abort("internetdisconnected")

    def _console(self, message: ConsoleMessage) -> None:
        # A blocked load (CSP or not) and a failed script are console errors.
        if message.type == "error":
            self.errors.append(f"console error: {message.text}")

    async def open(self, path: str) -> None:
        await self.page.add_init_script(_RECORD_VIOLATIONS)
        await self.page.route("**/*", self._route)
        self.page.on("console", self._console)
        self.page.on("pageerror", lambda error: self.errors.append(f"page error: {error}"))
        response = await self.page.goto(self.origin + path)
        assert response is not None
        assert response.status == 200

    async def violations(self) -> list[str]:
        found: list[str] = await self.page.evaluate("window.__violations")
        return found


@pytest.fixture
async def offline(browser: Browser, service: Service) -> AsyncIterator[Offline]:
    context = await browser.new_context()
    try:
        yield Offline(await context.new_page(), service.url)
    finally:
        await context.close()


async def test_swagger_ui_renders_every_operation_without_internet(
    offline: Offline, operations: list[dict[str, Any]]
) -> None:
    await offline.open("/docs")

    summaries = offline.page.locator(".opblock .opblock-summary-description")
    await summaries.first.wait_for(timeout=RENDER_TIMEOUT_MS)
    rendered = set(await summaries.all_inner_texts())
    assert rendered == {operation["summary"] for operation in operations}
    assert await offline.page.get_by_text("List networks", exact=True).first.is_visible()
    assert offline.refused == []
    assert await offline.violations() == []
    assert offline.errors == []


async def test_redoc_renders_every_operation_without_internet(
    offline: Offline, operations: list[dict[str, Any]]
) -> None:
    await offline.open("/redoc")

    sections = offline.page.locator('[data-section-id^="operation/"]')
    await sections.first.wait_for(state="attached", timeout=RENDER_TIMEOUT_MS)
    rendered = {
        section_id.removeprefix("operation/")
        for section_id in await sections.evaluate_all(
            "sections => sections.map(section => section.dataset.sectionId)"
        )
    }
    assert rendered == {operation["operationId"] for operation in operations}
    heading = offline.page.locator('[data-section-id="operation/list_networks"] h2')
    assert await heading.inner_text() == "List networks"
    assert await heading.is_visible()
    assert offline.refused == []
    assert await offline.violations() == []
    assert offline.errors == []
