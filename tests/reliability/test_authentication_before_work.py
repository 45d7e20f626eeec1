"""On a real ``netregistry serve``: a request without a valid key reaches no write in the
database, not even one rolled back, and replays nothing; past the write rate such
requests from one address are 429.

The proof is PostgreSQL's own: a statement-level trigger on every table advances a
sequence, and a sequence does not roll back, so a claim inserted and then rolled back
would show. The trigger is checked to fire on a valid write first.
"""

from __future__ import annotations

import subprocess
import sys
from collections.abc import AsyncIterator
from pathlib import Path

import asyncpg
import httpx
import pytest
from sqlalchemy.engine import make_url

from tests.operations import test_invalidation
from tests.operations.test_invalidation import Instance

env = test_invalidation.env  # the fresh database's environment, migrated, no rate limit

RATE = 8
LYON = {"name": "Lyon", "country_code": "FR"}

PROBE = """
CREATE SEQUENCE public.write_probe;
CREATE FUNCTION public.write_probe() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM nextval('public.write_probe');
    RETURN NULL;
END $$;
DO $$
DECLARE name text;
BEGIN
    FOR name IN SELECT tablename FROM pg_tables WHERE schemaname = 'public' LOOP
        EXECUTE format(
            'CREATE TRIGGER write_probe AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE '
            'ON public.%I FOR EACH STATEMENT EXECUTE FUNCTION public.write_probe()',
            name
        );
    END LOOP;
END $$;
"""


def _dsn(database_url: str) -> str:
    return make_url(database_url).set(drivername="postgresql").render_as_string(False)


async def _writes(database_url: str) -> int:
    """How many write statements the database has run since the probe was installed."""
    connection = await asyncpg.connect(_dsn(database_url))
    try:
        row = await connection.fetchrow("SELECT last_value, is_called FROM public.write_probe")
        return int(row["last_value"]) if row["is_called"] else 0
    finally:
        await connection.close()


def _cli(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "netregistry", *args],
        env=env,
        capture_output=True,
        text=True,
        check=True,
    )


@pytest.fixture
async def served(env: dict[str, str], tmp_path: Path) -> AsyncIterator[Instance]:
    instance = Instance(
        {**env, "NETREGISTRY_WRITE_RATE_LIMIT": f"{RATE}/minute"}, tmp_path / "serve.log"
    )
    try:
        await instance.wait_ready()
        yield instance
    finally:
        instance.stop()


async def test_requests_without_a_valid_key_write_nothing_and_past_the_rate_are_429(
    served: Instance, env: dict[str, str], database_url: str
) -> None:
    created = _cli(env, "keys", "create", "--name", "leaving", "--admin")
    token = created.stdout.strip()
    key_id = created.stderr.split("key id:")[1].split()[0]
    revoked = {"Authorization": f"Bearer {token}", "Idempotency-Key": "lyon-once"}
    async with httpx.AsyncClient(base_url=served.url, trust_env=False, timeout=10) as client:
        first = await client.post("/v1/cities", json=LYON, headers=revoked)
        assert first.status_code == 201, first.text
        _cli(env, "keys", "revoke", key_id)

        connection = await asyncpg.connect(_dsn(database_url))
        try:
            await connection.execute(PROBE)
        finally:
            await connection.close()
        assert await _writes(database_url) == 0

        refused = [
            ("no key", {"Idempotency-Key": "k1"}),
            ("wrong key", {"Authorization": "Bearer nr_" + "x" * 43, "Idempotency-Key": "k2"}),
            ("revoked key, its stored response", revoked),
            ("revoked key, spelt otherwise", {**revoked, "Authorization": f"bearer  {token}"}),
            ("not a bearer key", {"Authorization": "Basic dXNlcjpwYXNz", "Idempotency-Key": "k3"}),
            ("no key, invalid Idempotency-Key", {"Idempotency-Key": "k" * 1000}),
            (
                "wrong key, invalid Idempotency-Key",
                {"Authorization": "Bearer x", "Idempotency-Key": "two words"},
            ),
            ("revoked key, another Idempotency-Key", {**revoked, "Idempotency-Key": "lyon-twice"}),
        ]
        assert len(refused) == RATE
        for name, headers in refused:
            response = await client.post("/v1/cities", json=LYON, headers=headers)
            assert response.status_code == 401, (name, response.text)
            assert response.headers["content-type"] == "application/problem+json", name
            assert "idempotent-replayed" not in response.headers, name
            assert "location" not in response.headers, name
            assert await _writes(database_url) == 0, f"{name}: a write reached the database"

        past = await client.post("/v1/cities", json=LYON, headers={"Idempotency-Key": "k4"})
        assert past.status_code == 429, past.text
        assert 1 <= int(past.headers["Retry-After"]) <= 60
        assert await _writes(database_url) == 0

        # The probe works: a valid key's write (not refused for its address's failures).
        valid = _cli(env, "keys", "create", "--name", "staying", "--admin").stdout.strip()
        written = await client.post(
            "/v1/cities",
            json=LYON,
            headers={"Authorization": f"Bearer {valid}", "Idempotency-Key": "lyon-once"},
        )
        assert written.status_code == 201, written.text
        assert "idempotent-replayed" not in written.headers
        assert await _writes(database_url) > 0
