"""How uvicorn serves the application: protocol, bounds on connections and request heads."""

from __future__ import annotations

from typing import Any

from netregistry.config import Settings


def uvicorn_options(settings: Settings) -> dict[str, Any]:
    """The keyword arguments of ``uvicorn.Config`` that every ``serve`` uses."""
    return {
        "log_config": None,
        "http": "h11",
        # The connection's own bound on the request head; the app answers 431 below it.
        "h11_max_incomplete_event_size": settings.max_header_bytes + 8192,
    }
