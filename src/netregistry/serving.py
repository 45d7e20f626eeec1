"""The service as a process: its listening socket, uvicorn in one or several workers,
the signals that stop it, and the banner that says it is ready.

``netregistry serve`` binds the port before anything else (a taken port is a one-line
error, not a traceback after the database started), then runs uvicorn on that socket.
Every way of asking the process to stop (SIGTERM from systemd, docker stop or
Kubernetes; SIGINT from Ctrl+C; SIGHUP from a closed terminal) ends uvicorn gracefully
and returns to the caller, so the caller's ``finally`` stops the embedded PostgreSQL.
"""

from __future__ import annotations

import errno
import os
import shutil
import signal
import socket
import tempfile
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from types import FrameType
from typing import Any

import uvicorn
from prometheus_client.multiprocess import mark_process_dead
from uvicorn.supervisors import Multiprocess

from netregistry.config import Settings
from netregistry.kit.metrics import MULTIPROCESS_DIR_VARIABLE
from netregistry.kit.server import uvicorn_options

STOP_SIGNALS = (signal.SIGTERM, signal.SIGINT, signal.SIGHUP)


class StartupError(Exception):
    """The service cannot start; the message says why in one line."""


class Stopped(BaseException):
    """A stop signal arrived while the service was still preparing."""

    def __init__(self, signum: int) -> None:
        super().__init__(signal.Signals(signum).name)
        self.signum = signum


def bind(host: str, port: int) -> socket.socket:
    """The listening socket, bound before the service starts anything else."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    # IPPROTO_TCP named, not 0: asyncio sets TCP_NODELAY on accepted connections only when
    # the socket says it is TCP. Without it Nagle holds a response's body back behind its
    # headers (40 ms with delayed ACKs), and a connection closed with unread input is
    # reset before the held-back bytes leave.
    sock = socket.socket(family, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((host, port))
    except OSError as error:
        sock.close()
        if error.errno == errno.EADDRINUSE:
            raise StartupError(
                f"port {port} on {host} is already in use: stop what listens there, "
                f"or choose another port (--port {port + 1}, or make run PORT={port + 1})"
            ) from None
        raise StartupError(f"cannot listen on {host}:{port}: {error.strerror}") from None
    sock.set_inheritable(True)
    return sock


@contextmanager
def stop_signals_raise() -> Iterator[None]:
    """While preparing (embedded server, migrations, demo data), a stop signal raises
    :class:`Stopped`, so the caller's ``finally`` runs; the previous handlers come back
    afterwards."""

    def stop(signum: int, frame: FrameType | None) -> None:
        raise Stopped(signum)

    previous = {sig: signal.signal(sig, stop) for sig in STOP_SIGNALS}
    try:
        yield
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)


def run(settings: Settings, sock: socket.socket, *, workers: int) -> None:
    """Serve on ``sock`` until a stop signal; return once every worker has stopped."""
    options = uvicorn_options(settings)
    if workers == 1:
        from netregistry.app import create_app

        server = uvicorn.Server(uvicorn.Config(create_app(settings), **options))
        # uvicorn handles SIGINT and SIGTERM itself and raises them again once it has
        # shut down; these handlers take that second delivery (the default SIGTERM
        # action would end the process before the caller's cleanup). SIGHUP, which
        # uvicorn leaves alone, stops it the same way.
        previous = {
            signal.SIGTERM: signal.signal(signal.SIGTERM, _ignore),
            signal.SIGINT: signal.signal(signal.SIGINT, _ignore),
            signal.SIGHUP: signal.signal(signal.SIGHUP, server.handle_exit),
        }
        try:
            server.run(sockets=[sock])
        finally:
            for sig, handler in previous.items():
                signal.signal(sig, handler)
    else:
        config = uvicorn.Config(
            "netregistry.app:create_app", factory=True, workers=workers, **options
        )
        with _metric_files() as metrics_dir:
            _Supervisor(config, sockets=[sock], metrics_dir=metrics_dir).run()


def _ignore(signum: int, frame: FrameType | None) -> None:
    """A stop signal that uvicorn already acted upon."""


@contextmanager
def _metric_files() -> Iterator[str]:
    """A new, empty directory for the workers' metric values, named to them (they start
    after this) in ``PROMETHEUS_MULTIPROC_DIR``; removed once they have all stopped.
    Values left by an earlier run would be summed into this one's, hence never reused."""
    directory = tempfile.mkdtemp(prefix="netregistry-metrics-")
    previous = os.environ.get(MULTIPROCESS_DIR_VARIABLE)
    os.environ[MULTIPROCESS_DIR_VARIABLE] = directory
    try:
        yield directory
    finally:
        if previous is None:
            del os.environ[MULTIPROCESS_DIR_VARIABLE]
        else:
            os.environ[MULTIPROCESS_DIR_VARIABLE] = previous
        shutil.rmtree(directory, ignore_errors=True)


class _Supervisor(Multiprocess):
    """uvicorn's worker supervisor, where SIGHUP stops the service as SIGTERM does
    (uvicorn restarts the workers on SIGHUP), and a worker that ended, however it
    ended, leaves the live gauges (the read cache's size) of ``/metrics``."""

    def __init__(self, config: uvicorn.Config, sockets: list[socket.socket], metrics_dir: str):
        super().__init__(config, sockets)
        self.metrics_dir = metrics_dir

    def handle_hup(self) -> None:
        self.handle_term()

    def keep_subprocess_alive(self) -> None:
        running = self._pids()
        super().keep_subprocess_alive()  # replaces a worker that died or hung
        self._forget(running - self._pids())

    def handle_ttou(self) -> None:
        running = self._pids()
        super().handle_ttou()  # one worker fewer
        self._forget(running - self._pids())

    def _pids(self) -> set[int]:
        return {process.pid for process in self.processes if process.pid is not None}

    def _forget(self, ended: set[int]) -> None:
        for pid in ended:
            mark_process_dead(pid, self.metrics_dir)  # type: ignore[no-untyped-call]


def announce_when_ready(
    host: str, port: int, say: Callable[[str], Any], lines: list[str]
) -> threading.Event:
    """Print ``lines`` once the service accepts connections on ``host:port`` (uvicorn
    listens only after the application has started); set the returned event to give up."""
    stopped = threading.Event()
    target = {"0.0.0.0": "127.0.0.1", "::": "::1"}.get(host, host)  # noqa: S104

    def wait() -> None:
        while not stopped.wait(0.1):
            try:
                socket.create_connection((target, port), timeout=1).close()
            except OSError:
                continue
            say("\n".join(lines))
            return

    threading.Thread(target=wait, name="ready-banner", daemon=True).start()
    return stopped
