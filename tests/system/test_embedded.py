"""The embedded PostgreSQL keeps its data: across a clean restart and a killed service."""

from __future__ import annotations

import asyncio
import signal
from pathlib import Path

import asyncpg
import httpx

from netregistry.embedded import EmbeddedPostgres
from tests.processes import data_dir, service, stop_leftover_server

__all__ = ["data_dir"]  # the fixture


async def test_embedded_server_keeps_data_across_a_restart(data_dir: Path) -> None:
    server = EmbeddedPostgres(data_dir)
    try:
        await asyncio.to_thread(server.start)
        await server.ensure_database()
        connection = await asyncpg.connect(server.dsn("netregistry"))
        try:
            await connection.execute("CREATE TABLE kept (id int PRIMARY KEY, name text)")
            await connection.execute("INSERT INTO kept VALUES (1, 'Seoul')")
            started_at = await connection.fetchval("SELECT pg_postmaster_start_time()")
        finally:
            await connection.close()

        await asyncio.to_thread(server.stop)
        await asyncio.to_thread(server.start)
        await server.ensure_database()

        connection = await asyncpg.connect(server.dsn("netregistry"))
        try:
            assert await connection.fetchval("SELECT pg_postmaster_start_time()") > started_at
            assert await connection.fetch("SELECT id, name FROM kept") == [(1, "Seoul")]
        finally:
            await connection.close()
    finally:
        await asyncio.to_thread(server.stop)
        await asyncio.to_thread(stop_leftover_server, server.pgdata)


async def test_served_data_survives_a_killed_service(data_dir: Path) -> None:
    async with service(data_dir) as served:
        first = await served.start()
        token = (await served.cli("keys", "create", "--name", "t", "--admin")).strip()
        assert token.startswith("nr_")
        async with httpx.AsyncClient(base_url=served.url, trust_env=False, timeout=10) as client:
            created = await client.post(
                "/v1/networks",
                json={"slug": "citynet", "name": "CITYNET", "founded_on": "1987"},
                headers={"Authorization": f"Bearer {token}"},
            )
            assert created.status_code == 201, created.text

            first.kill()
            assert await asyncio.wait_for(first.wait(), 10) == -signal.SIGKILL

            await served.start()
            fetched = await client.get("/v1/networks/citynet")
            assert fetched.status_code == 200, fetched.text
            assert fetched.json()["founded_on"] == "1987"
            assert fetched.json()["created_at"] == created.json()["created_at"]
