"""Prometheus metrics of the HTTP layer.

Every label value comes from a fixed set, whatever clients send: a method outside the
known ones is ``other``, a path no route matched is ``unmatched`` (the route label is a
route template, never a path), and a status outside the registered HTTP codes is
``other``. A client inventing methods or paths adds counts, never series.

With several workers (``serve --workers N``) every worker writes its values to files in
``PROMETHEUS_MULTIPROC_DIR``, which ``serve`` makes for them, and ``/metrics`` sums the
files of all of them, whichever worker answers; with one worker the values live in memory.
"""

from __future__ import annotations

import os
from http import HTTPStatus

from prometheus_client import (
    CONTENT_TYPE_LATEST,
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    generate_latest,
)
from prometheus_client.multiprocess import MultiProcessCollector

# The variable prometheus_client reads, at import, to keep values in files of this directory.
MULTIPROCESS_DIR_VARIABLE = "PROMETHEUS_MULTIPROC_DIR"

REQUESTS = Counter(
    "netregistry_http_requests_total",
    "HTTP requests answered, by method, route template and status.",
    ["method", "route", "status"],
)
LATENCY = Histogram(
    "netregistry_http_request_duration_seconds",
    "Time to answer an HTTP request, by method and route template.",
    ["method", "route"],
    buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0),
)


# The read cache (kit/readcache.py), summed over the caches of the process.
READ_CACHE_HITS = Counter(
    "netregistry_read_cache_hits_total", "Public reads answered from the read cache."
)
READ_CACHE_MISSES = Counter(
    "netregistry_read_cache_misses_total",
    "Cacheable reads computed because the read cache did not hold them.",
)
READ_CACHE_BYPASSES = Counter(
    "netregistry_read_cache_bypasses_total",
    "Cacheable reads computed without the cache while its change listener was away.",
)
READ_CACHE_EVICTIONS = Counter(
    "netregistry_read_cache_evictions_total",
    "Answers dropped from the read cache to stay within NETREGISTRY_READ_CACHE_BYTES.",
)
# Each worker has a cache of its own: summed over the workers that are alive.
READ_CACHE_BYTES = Gauge(
    "netregistry_read_cache_bytes", "Bytes the read cache holds.", multiprocess_mode="livesum"
)
READ_CACHE_ENTRIES = Gauge(
    "netregistry_read_cache_entries", "Answers the read cache holds.", multiprocess_mode="livesum"
)


KNOWN_METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})
OTHER_METHOD = "other"
UNMATCHED_ROUTE = "unmatched"
OTHER_STATUS = "other"
_STATUSES = frozenset(status.value for status in HTTPStatus)


def method_label(method: str) -> str:
    """``method`` if it is one the API knows, else ``other``."""
    return method if method in KNOWN_METHODS else OTHER_METHOD


def status_label(status: int) -> str:
    """A registered HTTP status code as its digits, anything else ``other``."""
    return str(status) if status in _STATUSES else OTHER_STATUS


def observe_request(method: str, route: str, status: int, seconds: float) -> None:
    """Count one answered request; ``route`` is a route template or ``unmatched``."""
    method = method_label(method)
    REQUESTS.labels(method, route, status_label(status)).inc()
    LATENCY.labels(method, route).observe(seconds)


def exposition() -> tuple[bytes, str]:
    """The metrics in the Prometheus text format, with its content type: this process's,
    or with several workers the sum over all of them."""
    directory = os.environ.get(MULTIPROCESS_DIR_VARIABLE)
    if not directory:
        return generate_latest(), CONTENT_TYPE_LATEST
    registry = CollectorRegistry()
    MultiProcessCollector(registry, path=directory)  # type: ignore[no-untyped-call]
    return generate_latest(registry), CONTENT_TYPE_LATEST
