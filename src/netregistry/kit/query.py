"""Query strings: each parameter given once, and only those the operation takes.

Both are dependencies of the whole application (``app.py``), run before any other, so a
request they refuse has done no work: no key looked up, no ``Idempotency-Key`` claimed,
no SQL statement sent. A read the cache or a direct handler answers never gets here
with a parameter its route does not take: the cache keys on the whole query and keeps
only 200s, and a direct handler declines any parameter it does not know
(``kit/readcache.py``, ``kit/direct.py``).
"""

from __future__ import annotations

import difflib
import typing
from collections import Counter
from collections.abc import Sequence

from fastapi import FastAPI, Request
from fastapi.dependencies.models import Dependant
from fastapi.routing import APIRoute, iter_route_contexts
from pydantic import BaseModel
from starlette.routing import BaseRoute

from netregistry.errors import MAX_LISTED_ERRORS, FieldError, RequestInvalid, ValidationFailed
from netregistry.kit.messages import in_words


async def single_valued_query(request: Request) -> None:
    """Refuse a query parameter given twice: ``limit=5&limit=6`` has no one meaning, and
    a filter that silently took the last value would answer a question nobody asked."""
    counts = Counter(name for name, _ in request.query_params.multi_items())
    repeated = sorted(name for name, count in counts.items() if count > 1)
    if repeated:
        listed = _list_parameters(request.scope.get("route"))
        repeated = [name for name in repeated if name not in listed]
    if repeated:
        raise ValidationFailed(
            f"Query parameters may be given once each: {', '.join(repeated)} repeated.",
            [
                FieldError(
                    location=["query", name], message="given more than once", type="repeated"
                )
                for name in repeated
            ],
        )


def _list_parameters(route: object) -> frozenset[str]:
    """The query parameters ``route`` declares as lists (``?id=…&id=…``): those repeat."""
    if not isinstance(route, APIRoute):
        return frozenset()
    return frozenset(
        field.alias
        for field in route.dependant.query_params
        if typing.get_origin(field.field_info.annotation) is list
    )


async def known_query_parameters(request: Request) -> None:
    """Refuse a query parameter the operation does not take: ``?contry=KR`` ignored would
    answer with every member, a wrong answer that looks right. The parameters an
    operation takes are those its dependencies declare, as the contract lists them; the
    pages of the interactive documentation, which are no operations, take any."""
    if not request.scope["query_string"]:
        return
    known = _operation_parameters(request.app, request.scope.get("route"))
    if known is None:
        return
    unknown = [name for name in dict.fromkeys(request.query_params) if name not in known]
    if unknown:
        raise unknown_query_parameters(unknown, known)


def declared_query_parameters(dependant: Dependant) -> tuple[str, ...]:
    """The query parameters ``dependant`` declares (their aliases), in the contract's
    order: its own, then each dependency's, depth first, as FastAPI lists them."""
    names: dict[str, None] = {}
    pending = [dependant]
    while pending:
        current = pending.pop()
        for field in current.query_params:
            model = field.field_info.annotation
            if isinstance(model, type) and issubclass(model, BaseModel):
                # A model of query parameters: each of its fields is one.
                names.update(dict.fromkeys(f.alias or n for n, f in model.model_fields.items()))
            else:
                names[field.alias] = None
        pending.extend(reversed(current.dependencies))
    return tuple(names)


# By the id of a route, the route itself (an id the collector gave to another object
# never matches) and the query parameters of its operation, None if it is no operation.
OperationParameters = dict[int, tuple[BaseRoute, tuple[str, ...] | None]]


def operation_parameters(app: FastAPI) -> OperationParameters:
    """The query parameters of every route of ``app``, read from the dependencies as
    the route answers with them: its router's and the application's included (as
    ``scope["route"]``, the route as declared, does not hold them)."""
    found: OperationParameters = {}
    for context in iter_route_contexts(app.routes):
        route = context.original_route
        if not isinstance(route, APIRoute):
            continue
        names = declared_query_parameters(context.dependant) if context.include_in_schema else None
        previous = found.get(id(route), (route, None))[1]
        if previous is not None and names is not None:  # one route included twice
            names = tuple(dict.fromkeys((*previous, *names)))
        found[id(route)] = (route, names)
    return found


def _operation_parameters(app: FastAPI, route: object) -> tuple[str, ...] | None:
    operations: OperationParameters = app.state.query_parameters
    found = operations.get(id(route))
    if found is None or found[0] is not route:
        # The first request of the application, or of a route added since.
        operations.clear()
        operations.update(operation_parameters(app))
        found = operations.get(id(route))
        if found is None or found[0] is not route:
            return None
    return found[1]


# Longer names are cut in what the problem says (the location keeps them whole).
_SHOWN_NAME_LENGTH = 60
# At most this many unknown parameters are named in the detail; ``errors`` lists more.
_NAMED_IN_DETAIL = 10


def unknown_query_parameters(unknown: Sequence[str], known: Sequence[str]) -> RequestInvalid:
    """The problem for query parameters ``unknown`` of an operation that takes ``known``,
    written for the person who typed the URL: each name, the known one closest to it,
    else what the operation takes."""
    # A cutoff above difflib's 0.6, which offers `cursor` for `sort`.
    closest = {
        name: matches[0]
        for name in unknown
        if (matches := difflib.get_close_matches(name.lower(), known, n=1, cutoff=0.7))
    }
    takes = f"which takes {_listed(known)}" if known else "which takes no query parameters"

    def explained(name: str) -> str:
        if name in closest:
            return f"not a parameter of this request; did you mean `{closest[name]}`?"
        return f"not a parameter of this request, {takes}"

    errors = [
        FieldError(location=["query", name], message=explained(name), type="extra_forbidden")
        for name in unknown[:MAX_LISTED_ERRORS]
    ]
    if len(unknown) == 1:
        (name,) = unknown
        if name in closest:
            detail = (
                f"{_shown(name)} is not a parameter of this request. "
                f"Did you mean `{closest[name]}`?"
            )
        else:
            detail = f"{_shown(name)} is not a parameter of this request, {takes}."
    else:
        named = [
            f"{_shown(name)} (did you mean `{closest[name]}`?)" if name in closest else _shown(name)
            for name in unknown[:_NAMED_IN_DETAIL]
        ]
        if len(unknown) > _NAMED_IN_DETAIL:
            named.append(f"{len(unknown) - _NAMED_IN_DETAIL} more")
        detail = f"{in_words(named)} are not parameters of this request"
        detail += f", {takes}." if len(closest) < len(unknown) else "."
    return RequestInvalid(detail[0].upper() + detail[1:], errors, total=len(unknown))


def _shown(name: str) -> str:
    if not name:
        return "a parameter without a name"
    if len(name) > _SHOWN_NAME_LENGTH:
        name = name[:_SHOWN_NAME_LENGTH] + "…"
    return f"`{name}`"


def _listed(names: Sequence[str]) -> str:
    return in_words([f"`{name}`" for name in names])
