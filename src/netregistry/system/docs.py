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

_CDN = "https://cdn.jsdelivr.net"
_INLINE_SCRIPT = re.compile(r"<script>(.*?)</script>", re.DOTALL)

router = APIRouter(include_in_schema=False)


def _policy(html: str, *, styles: str, fonts: str = "'none'", workers: str = "'none'") -> str:
    """A policy for ``html``: its inline scripts by hash, its assets by origin."""
    hashes = " ".join(
        f"'sha256-{base64.b64encode(hashlib.sha256(script.encode()).digest()).decode()}'"
        for script in _INLINE_SCRIPT.findall(html)
    )
    return "; ".join(
        (
            "default-src 'none'",
            f"script-src {_CDN} {hashes}".rstrip(),
            f"style-src {styles}",
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
    return _page(page, _policy(page, styles=_CDN))


@router.get("/redoc")
async def redoc(request: Request) -> HTMLResponse:
    page = _html(get_redoc_html(openapi_url=request.app.openapi_url, title=_title(request)))
    # ReDoc writes its styles into <style> elements and renders in a blob: worker.
    return _page(
        page,
        _policy(
            page,
            styles="'unsafe-inline' https://fonts.googleapis.com",
            fonts="https://fonts.gstatic.com",
            workers="blob:",
        ),
    )
