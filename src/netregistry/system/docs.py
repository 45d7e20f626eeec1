"""The interactive API documentation (Swagger UI at /docs, ReDoc at /redoc), each page
with a Content-Security-Policy that admits exactly what the page loads.

Every other response carries ``kit.middleware.API_POLICY``, which admits nothing.
"""

from __future__ import annotations

import base64
import hashlib
import re

from fastapi import APIRouter, Request
from fastapi.openapi.docs import get_redoc_html, get_swagger_ui_html
from fastapi.responses import HTMLResponse

_INLINE_SCRIPT = re.compile(r"<script>(.*?)</script>", re.DOTALL)
_SCRIPT_URL = re.compile(r'<script src="([^"]+)"')
_LINK = re.compile(r"<link\b[^>]*>")
_HREF = re.compile(r'href="([^"]+)"')
_NONE = "'none'"

router = APIRouter(include_in_schema=False)


def _source(url: str) -> str:
    """A URL as a CSP source: without its query, which CSP does not match (and whose
    commas would split the policy)."""
    return url.split("?", 1)[0]


def _policy(
    html: str, *, inline_styles: bool = False, fonts: str = _NONE, workers: str = _NONE
) -> str:
    """A policy for ``html``: its scripts and stylesheets by their exact URLs, its inline
    scripts by hash; nothing else."""
    hashes = [
        f"'sha256-{base64.b64encode(hashlib.sha256(script.encode()).digest()).decode()}'"
        for script in _INLINE_SCRIPT.findall(html)
    ]
    scripts = [*map(_source, _SCRIPT_URL.findall(html)), *hashes]
    styles = [
        _source(href.group(1))
        for link in _LINK.findall(html)
        if 'rel="stylesheet"' in link and (href := _HREF.search(link)) is not None
    ]
    if inline_styles:
        styles.append("'unsafe-inline'")
    return "; ".join(
        (
            "default-src 'none'",
            f"script-src {' '.join(scripts) or _NONE}",
            f"style-src {' '.join(styles) or _NONE}",
            "img-src 'self' data: https://fastapi.tiangolo.com",
            f"font-src {fonts}",
            "connect-src 'self'",
            f"worker-src {workers}",
            "frame-ancestors 'none'",
            "base-uri 'none'",
            "form-action 'none'",
        )
    )


def _title(request: Request) -> str:
    return f"{request.app.title}: API"


def _html(response: HTMLResponse) -> str:
    return bytes(response.body).decode()


def _page(html: str, policy: str) -> HTMLResponse:
    return HTMLResponse(html, headers={"Content-Security-Policy": policy})


@router.get("/docs")
async def swagger_ui(request: Request) -> HTMLResponse:
    page = _html(get_swagger_ui_html(openapi_url=request.app.openapi_url, title=_title(request)))
    return _page(page, _policy(page))


@router.get("/redoc")
async def redoc(request: Request) -> HTMLResponse:
    page = _html(get_redoc_html(openapi_url=request.app.openapi_url, title=_title(request)))
    # ReDoc writes its styles into <style> elements and renders in a blob: worker.
    return _page(
        page,
        _policy(
            page,
            inline_styles=True,
            fonts="https://fonts.gstatic.com",
            workers="blob:",
        ),
    )
