"""The directory's routes: pages, not operations of the API (outside the contract, like
the docs pages), each with an ``ETag`` and cached like the API's reads (kit/readcache.py).

Every page takes exactly the query parameters it lists (any other is the API's 422
problem naming it), written by a person or a form: an empty field is no filter. Pages
load nothing but the service's own stylesheet and run no script; the embeddable list
may be framed by the origins ``NETREGISTRY_EMBED_ORIGINS`` names and by no other.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Sequence
from datetime import UTC, date, datetime
from importlib.resources import files
from typing import Any
from urllib.parse import urlencode

from fastapi import APIRouter, Request, Response
from jinja2 import Environment, PackageLoader, select_autoescape
from pydantic import TypeAdapter, ValidationError

from netregistry.directory import service
from netregistry.directory.labels import labels_for
from netregistry.directory.timeline import Lane, Tenure, timeline_svg
from netregistry.directory.worldmap import Place, map_svg
from netregistry.errors import FieldError, ValidationFailed
from netregistry.kit.deps import parse_day, session_of
from netregistry.kit.etag import etag_of_bytes, none_match
from netregistry.kit.http import represent_bytes
from netregistry.kit.languages import NameChoice, name_choice, standard_tag
from netregistry.kit.pagination import MAX_CURSOR_LENGTH, PageRequest, list_scope
from netregistry.kit.query import unknown_query_parameters
from netregistry.kit.types import CURSOR_PATTERN, LOOKUP_PATTERN, CountryCode
from netregistry.registry.paths import SlugPath

router = APIRouter(include_in_schema=False)

HTML = "text/html; charset=utf-8"
SVG = "image/svg+xml; charset=utf-8"
_ASSET_CACHE = "public, max-age=31536000, immutable"
_SCRIPT_CACHE = "public, max-age=3600"  # its URL, pasted into partners' pages, is fixed

_environment = Environment(
    loader=PackageLoader("netregistry.directory", "templates"),
    autoescape=select_autoescape(default=True, default_for_string=True),
    trim_blocks=True,
    lstrip_blocks=True,
)


def _static(name: str) -> bytes:
    return (files("netregistry.directory") / "static" / name).read_bytes()


STYLESHEET = _static("directory.css")
STYLESHEET_URL = f"/directory/assets/directory.{hashlib.sha256(STYLESHEET).hexdigest()[:16]}.css"
EMBED_SCRIPT = _static("embed.js")
ICON = _static("icon.svg")
ICON_URL = f"/directory/assets/icon.{hashlib.sha256(ICON).hexdigest()[:16]}.svg"


def _policy(frame_ancestors: str) -> str:
    """Nothing but the service's own stylesheet (and, for the embed script's list, the
    API it reads); forms submit to the service; framed by ``frame_ancestors``."""
    return "; ".join(
        (
            "default-src 'none'",
            "style-src 'self'",
            "img-src 'self'",
            f"frame-ancestors {frame_ancestors}",
            "base-uri 'none'",
            "form-action 'self'",
        )
    )


PAGE_POLICY = _policy("'none'")


def embed_policy(origins: Sequence[str]) -> str:
    return _policy(" ".join(origins) if origins else "'none'")


_LANG = re.compile(r"^[A-Za-z]{2,3}(-[A-Za-z0-9]{1,8}){0,4}$")
_LOOKUP = re.compile(LOOKUP_PATTERN)
_CURSOR = re.compile(CURSOR_PATTERN)
_SEARCH = re.compile(r"^[^\x00-\x1f\x7f]+$")
_COUNTRY: TypeAdapter[str] = TypeAdapter(CountryCode)


def _refused(name: str, message: str) -> ValidationFailed:
    return ValidationFailed(
        f"{name}: {message}",
        [FieldError(location=["query", name], message=message, type="value_error")],
    )


class PageQuery:
    """A page's query: only the parameters it takes, an empty value as none."""

    def __init__(self, request: Request, takes: Sequence[str]) -> None:
        given = dict(request.query_params)
        unknown = [name for name in given if name not in takes]
        if unknown:
            raise unknown_query_parameters(unknown, takes)
        self.values = {name: value.strip() for name, value in given.items() if value.strip()}

    def text(
        self,
        name: str,
        *,
        max_length: int,
        pattern: re.Pattern[str] = _LOOKUP,
        rule: str = "lowercase letters, digits, hyphens or underscores",
    ) -> str | None:
        value = self.values.get(name)
        if value is None:
            return None
        if len(value) > max_length or not pattern.match(value):
            raise _refused(
                name, f"use {rule}, at most {max_length} characters (got {value[:60]!r})"
            )
        return value

    def as_of(self) -> date:
        value = self.values.get("as_of")
        return parse_day(value) if value is not None else datetime.now(UTC).date()

    def lang(self) -> tuple[str, dict[str, str]]:
        return labels_for(
            self.text("lang", max_length=35, pattern=_LANG, rule="a language tag such as ko or en")
        )

    def filters(self) -> service.Filters:
        country = self.values.get("country")
        if country is not None:
            try:
                country = _COUNTRY.validate_python(country).upper()
            except ValidationError as error:
                raise _refused(
                    "country", error.errors()[0]["msg"].removeprefix("Value error, ")
                ) from error
        kind = self.values.get("kind")
        if kind not in (None, "city", "organization"):
            raise _refused("kind", "use city or organization")
        return service.Filters(
            category=self.text("category", max_length=63),
            country=country,
            kind=kind,
            q=self.text(
                "q", max_length=200, pattern=_SEARCH, rule="a name without control characters"
            ),
        )

    def members_page(self, request: Request) -> PageRequest:
        cursor = self.text(
            "cursor",
            max_length=MAX_CURSOR_LENGTH,
            pattern=_CURSOR,
            rule="the cursor of a Next members link",
        )
        return PageRequest(
            limit=service.MEMBERS_PER_PAGE,
            cursor=cursor,
            scope=list_scope(request),
            codec=request.app.state.cursor_codec,
        )


def _names(query: PageQuery, page_lang: str, as_of: date) -> NameChoice:
    """The members' names a page shows: in the language asked for (``lang``, which may
    be one the page has no labels in), else the page's, as they were on ``as_of``."""
    asked = query.values.get("lang")
    return name_choice((standard_tag(asked) if asked else None) or page_lang, None).on(as_of)


def _page(request: Request, html: str, policy: str = PAGE_POLICY) -> Response:
    return represent_bytes(
        request, html.encode(), media_type=HTML, headers={"Content-Security-Policy": policy}
    )


def _render(template: str, **context: Any) -> str:
    return _environment.get_template(template).render(
        stylesheet=STYLESHEET_URL, icon=ICON_URL, **context
    )


_NETWORK_QUERY = ("as_of", "lang", "category", "country", "kind", "q", "cursor")
_EMBED_QUERY = ("as_of", "lang", "category", "country", "kind", "q", "cursor")


@router.get("/")
async def landing(request: Request) -> Response:
    query = PageQuery(request, ("lang",))
    lang, labels = query.lang()
    found = await service.networks(session_of(request), request.app.state.cursor_codec)
    return _page(request, _render("landing.html.j2", lang=lang, t=labels, networks=found))


def _lanes(view: service.NetworkView) -> list[Lane]:
    return [
        Lane(
            role.slug,
            role.name,
            tuple(
                Tenure(
                    role.slug,
                    tenure.member.name,
                    tenure.start_date,
                    tenure.end_date,
                    tenure.member.id,
                    view.name_lang(tenure.member.id, tenure.member.name),
                )
                for tenure in view.tenures
                if tenure.role == role.slug
            ),
        )
        for role in view.roles
    ]


def _timeline(view: service.NetworkView, labels: dict[str, str]) -> Any:
    return timeline_svg(
        _lanes(view),
        datetime.now(UTC).date(),
        title=f"{view.network.name}: {labels['history']}",
        lang=view.page_lang,
    )


def _map(view: service.NetworkView, labels: dict[str, str]) -> Any:
    located = []
    for row in view.rows:
        member = row["member"]
        point = next(
            (value for key, value in view.located.items() if str(key) == member["id"]), None
        )
        if point is not None:
            located.append(Place(member["name"], point[0], point[1]))
    return map_svg(
        located,
        title=f"{view.network.name}: {labels['map']}",
        unplaced=len(view.rows) - len(located),
    )


def _next_url(request: Request, cursor: str | None) -> str | None:
    if cursor is None:
        return None
    params = {k: v for k, v in request.query_params.items() if k != "cursor" and v}
    return f"{request.url.path}?{urlencode({**params, 'cursor': cursor})}"


@router.get("/networks/{slug}")
async def network_page(request: Request, slug: SlugPath) -> Response:
    query = PageQuery(request, _NETWORK_QUERY)
    lang, labels = query.lang()
    as_of, filters = query.as_of(), query.filters()
    view = await service.network_view(
        session_of(request),
        request.app.state.cursor_codec,
        slug,
        as_of,
        query.members_page(request),
        filters,
        names=_names(query, lang, as_of),
        page_lang=lang,
    )
    role_names = {role.slug: role.name for role in view.roles}
    html = _render(
        "network.html.j2",
        lang=lang,
        t=labels,
        view=view,
        network=view.network,
        filters=filters,
        role_names=role_names,
        timeline=_timeline(view, labels),
        worldmap=_map(view, labels),
        lanes=_lanes(view),
        next_url=_next_url(request, view.next_cursor),
        query_lang=query.values.get("lang"),
        as_of_given=query.values.get("as_of"),
    )
    return _page(request, html)


@router.get("/networks/{slug}/timeline.svg")
async def network_timeline(request: Request, slug: SlugPath) -> Response:
    query = PageQuery(request, ("lang",))
    lang, labels = query.lang()
    session = session_of(request)
    codec = request.app.state.cursor_codec
    today = datetime.now(UTC).date()
    view = await service.network_view(
        session,
        codec,
        slug,
        today,
        PageRequest(limit=1, cursor=None, scope="directory:timeline", codec=codec),
        service.Filters(),
        names=_names(query, lang, today),
        page_lang=lang,
    )
    svg = '<?xml version="1.0" encoding="UTF-8"?>\n' + str(_timeline(view, labels))
    return represent_bytes(request, svg.encode(), media_type=SVG)


@router.get("/embed/networks/{slug}/members")
async def embedded_members(request: Request, slug: SlugPath) -> Response:
    query = PageQuery(request, _EMBED_QUERY)
    lang, labels = query.lang()
    as_of = query.as_of()
    view = await service.network_view(
        session_of(request),
        request.app.state.cursor_codec,
        slug,
        as_of,
        query.members_page(request),
        query.filters(),
        history=False,
        names=_names(query, lang, as_of),
        page_lang=lang,
    )
    html = _render(
        "embed.html.j2",
        lang=lang,
        t=labels,
        view=view,
        network=view.network,
        role_names={role.slug: role.name for role in view.roles},
        next_url=_next_url(request, view.next_cursor),
    )
    return _page(request, html, embed_policy(request.app.state.settings.embed_origins))


def _asset(content: bytes, media_type: str, cache_control: str) -> Any:
    etag = etag_of_bytes(content)
    headers = {"ETag": etag, "Cache-Control": cache_control}

    async def serve(request: Request) -> Response:
        PageQuery(request, ())
        if none_match(request.headers.get("if-none-match"), etag):
            return Response(status_code=304, headers=headers)
        return Response(content, media_type=media_type, headers=headers)

    return serve


router.add_api_route(
    STYLESHEET_URL, _asset(STYLESHEET, "text/css; charset=utf-8", _ASSET_CACHE), methods=["GET"]
)
router.add_api_route(ICON_URL, _asset(ICON, SVG, _ASSET_CACHE), methods=["GET"])
router.add_api_route(
    "/embed.js",
    _asset(EMBED_SCRIPT, "text/javascript; charset=utf-8", _SCRIPT_CACHE),
    methods=["GET"],
)
