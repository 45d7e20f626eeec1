"""The interactive API documentation (Swagger UI at /docs, ReDoc at /redoc), served with
its scripts, stylesheet and icons by the service itself, so that it works without
internet access.

The assets are the files of the pinned ``fastapi-standalone-docs`` package (Swagger UI's
dist and ReDoc's standalone bundle; its helper that patches FastAPI is not used). Each is
served from bytes read once, under a URL that carries a digest of its content, so that
browsers may cache it for a year and an upgrade of the package is a new URL.

Each page has a Content-Security-Policy that admits the service's own origin and the
page's inline script by hash, nothing else. Every other response carries
``kit.edge.API_POLICY``, which admits nothing.
"""

from __future__ import annotations

import base64
import hashlib
import re
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from importlib.resources import files

from fastapi import APIRouter, Request, Response
from fastapi.openapi.docs import get_redoc_html, get_swagger_ui_html
from fastapi.responses import HTMLResponse

from netregistry.kit.etag import etag_of_bytes, none_match

ASSETS_PATH = "/docs/assets"
# The package's ReDoc bundle asks for its logo next to the page it renders
# (``location.pathname + "/logo-mini.svg"``, in place of upstream's CDN URL).
REDOC_LOGO_PATH = "/redoc/logo-mini.svg"

_IMMUTABLE = "public, max-age=31536000, immutable"
_LOGO_CACHE = "public, max-age=86400"  # its URL carries no digest
_INLINE_SCRIPT = re.compile(r"<script>(.*?)</script>", re.DOTALL)
_NONE = "'none'"
_SELF = "'self'"

router = APIRouter(include_in_schema=False)


@dataclass(frozen=True)
class Asset:
    """One file of the docs pages, as served."""

    url: str
    content: bytes
    media_type: str
    cache_control: str


def _read(resource: str) -> bytes:
    return (files("fastapi_standalone_docs") / "static" / resource).read_bytes()


def _asset(resource: str, media_type: str) -> Asset:
    """The packaged file ``resource`` under ``ASSETS_PATH``, its name carrying a digest."""
    content = _read(resource)
    stem, _, suffix = resource.rsplit("/", 1)[-1].rpartition(".")
    digest = hashlib.sha256(content).hexdigest()[:16]
    return Asset(f"{ASSETS_PATH}/{stem}.{digest}.{suffix}", content, media_type, _IMMUTABLE)


SWAGGER_JS = _asset("swagger/swagger-ui-bundle.js", "text/javascript; charset=utf-8")
SWAGGER_CSS = _asset("swagger/swagger-ui.css", "text/css; charset=utf-8")
REDOC_JS = _asset("redoc/redoc.standalone.js", "text/javascript; charset=utf-8")
FAVICON = _asset("fastapi/favicon.png", "image/png")
REDOC_LOGO = Asset(
    REDOC_LOGO_PATH, _read("redoc/logo-mini.svg"), "image/svg+xml; charset=utf-8", _LOGO_CACHE
)
ASSETS = (SWAGGER_JS, SWAGGER_CSS, REDOC_JS, FAVICON, REDOC_LOGO)


def _serve(asset: Asset) -> Callable[[Request], Awaitable[Response]]:
    etag = etag_of_bytes(asset.content)
    headers = {"ETag": etag, "Cache-Control": asset.cache_control}

    async def serve(request: Request) -> Response:
        if none_match(request.headers.get("if-none-match"), etag):
            return Response(status_code=304, headers=headers)
        return Response(asset.content, media_type=asset.media_type, headers=headers)

    return serve


for _served in ASSETS:
    router.add_api_route(_served.url, _serve(_served), methods=["GET"])


def _policy(html: str, *, inline_styles: bool = False, workers: str = _NONE) -> str:
    """A policy for ``html``: scripts, stylesheets and images from the service itself, its
    inline scripts by hash; nothing else."""
    hashes = [
        f"'sha256-{base64.b64encode(hashlib.sha256(script.encode()).digest()).decode()}'"
        for script in _INLINE_SCRIPT.findall(html)
    ]
    styles = [_SELF, "'unsafe-inline'"] if inline_styles else [_SELF]
    return "; ".join(
        (
            "default-src 'none'",
            f"script-src {' '.join([_SELF, *hashes])}",
            f"style-src {' '.join(styles)}",
            "img-src 'self' data:",
            "font-src 'none'",
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
    page = _html(
        get_swagger_ui_html(
            openapi_url=request.app.openapi_url,
            title=_title(request),
            swagger_js_url=SWAGGER_JS.url,
            swagger_css_url=SWAGGER_CSS.url,
            swagger_favicon_url=FAVICON.url,
            # No badge that sends the contract's URL to swagger.io's validator.
            swagger_ui_parameters={"validatorUrl": None},
        )
    )
    return _page(page, _policy(page))


@router.get("/redoc")
async def redoc(request: Request) -> HTMLResponse:
    page = _html(
        get_redoc_html(
            openapi_url=request.app.openapi_url,
            title=_title(request),
            redoc_js_url=REDOC_JS.url,
            redoc_favicon_url=FAVICON.url,
            with_google_fonts=False,
        )
    )
    # ReDoc writes its styles into <style> elements and searches in a blob: worker.
    return _page(page, _policy(page, inline_styles=True, workers="blob:"))
