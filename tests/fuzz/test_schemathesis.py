"""Contract fuzzing: schemathesis drives the committed ``openapi/openapi.json`` against
the application served by uvicorn on a database of its own.

Every operation is called with generated valid and invalid input (an admin key on every
call, so writes get past authorization), then sequences of calls follow the links
schemathesis infers between operations (a create, then reads, updates and deletes of
what it created). Each response must not be a 5xx, must carry a documented status and
content type, and its body must match the documented schema.

The app runs in a real server (uvicorn in a thread, with its own event loop) because
schemathesis' test functions are synchronous and the app's database pool belongs to the
loop that started it. CI runs a few examples per operation with a fixed seed; raise
``NETREGISTRY_FUZZ_EXAMPLES`` for a longer campaign (``make fuzz``).
"""

from __future__ import annotations

import os
import threading
import time
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import httpx
import hypothesis
import pytest
import schemathesis
import uvicorn
from schemathesis.config import SchemathesisConfig
from sqlalchemy.engine import URL
from sqlalchemy.ext.asyncio import create_async_engine
from sqlalchemy.pool import NullPool

from netregistry.app import create_app
from netregistry.auth.service import ApiKeyService
from netregistry.config import Settings
from netregistry.db import create_sessionmaker
from tests.conftest import fresh_database

CONTRACT = Path(__file__).parents[2] / "openapi" / "openapi.json"

# CI: a handful of generated cases per operation, the same ones on every run (`make fuzz`
# raises the count and draws a new seed).
EXAMPLES = int(os.environ.get("NETREGISTRY_FUZZ_EXAMPLES", "5"))
SEED = int(os.environ.get("NETREGISTRY_FUZZ_SEED", "20250101"))
# Stateful scenarios (chains of linked calls) and their length.
SCENARIOS = int(os.environ.get("NETREGISTRY_FUZZ_SCENARIOS", str(max(EXAMPLES * 2, 10))))
SCENARIO_STEPS = 8


@pytest.fixture(scope="module")
async def fuzz_database_url(server_url: URL, template_database: str) -> AsyncIterator[str]:
    """A migrated database for the whole module: generated writes pile up in it."""
    async with fresh_database(server_url, template_database) as url:
        yield url


@pytest.fixture(scope="module")
async def admin_token(fuzz_database_url: str) -> str:
    engine = create_async_engine(fuzz_database_url, poolclass=NullPool)
    try:
        async with create_sessionmaker(engine).begin() as session:
            issued = await ApiKeyService(session).create("fuzz", admin=True, networks=[])
    finally:
        await engine.dispose()
    return issued.token


@pytest.fixture(scope="module")
def base_url(fuzz_database_url: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """The app behind a real uvicorn on a free local port, for the module's lifetime."""
    settings = Settings(
        database_url=fuzz_database_url,
        data_dir=tmp_path_factory.mktemp("fuzz"),
        secret_key="fuzz-secret-key",  # type: ignore[arg-type]
        migrate_on_start=False,
        log_level="ERROR",
        # Thousands of writes a minute from one key: the limiter would answer most with 429.
        write_rate_limit=None,
    )
    config = uvicorn.Config(
        create_app(settings), host="127.0.0.1", port=0, log_config=None, access_log=False
    )
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, name="fuzz-uvicorn", daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not server.started:
        assert thread.is_alive(), "uvicorn stopped during start-up"
        assert time.monotonic() < deadline, "uvicorn did not start within 30 s"
        time.sleep(0.05)
    port = server.servers[0].sockets[0].getsockname()[1]
    yield f"http://127.0.0.1:{port}"
    server.should_exit = True
    thread.join(timeout=30)


@pytest.fixture(scope="module")
def seeded(base_url: str, admin_token: str) -> dict[str, Any]:
    """One of everything, so reads and writes of existing resources get exercised too."""
    headers = {"Authorization": f"Bearer {admin_token}"}
    with httpx.Client(base_url=base_url, headers=headers) as client:

        def post(path: str, **body: Any) -> dict[str, Any]:
            response = client.post(path, json=body)
            assert response.status_code == 201, response.text
            result: dict[str, Any] = response.json()
            return result

        network = post("/v1/networks", slug="citynet", name="CITYNET", founded_on="1987-01-01")
        seoul = post("/v1/cities", name="Seoul", country_code="KR", wikidata="Q8684")
        yokohama = post("/v1/cities", name="Yokohama", country_code="JP")
        institute = post("/v1/organizations", name="Urban Institute", country_code="US")
        memberships = [
            post("/v1/networks/citynet/memberships", member_id=member["id"], category="full")
            for member in (seoul, yokohama)
        ]
        post(
            "/v1/networks/citynet/memberships",
            member_id=institute["id"],
            category="associate",
            start_date="2012",
        )
        role = post("/v1/networks/citynet/roles", slug="chair", name="Chair", max_holders=1)
        tenure = post(
            "/v1/networks/citynet/tenures",
            role="chair",
            member_id=yokohama["id"],
            start_date="2010-01-01",
        )
        handover = client.post(
            "/v1/networks/citynet/roles/chair/handover",
            json={"member_id": seoul["id"], "date": "2013-11-05"},
        )
        assert handover.status_code == 201, handover.text
    return {
        "network": network,
        "cities": [seoul, yokohama],
        "memberships": memberships,
        "role": role,
        "tenure": tenure,
    }


@pytest.fixture(scope="module")
def auth(admin_token: str, seeded: dict[str, Any]) -> dict[str, str]:
    """The admin key's header, once the seed data is in."""
    return {"Authorization": f"Bearer {admin_token}"}


REJECTIONS = [400, 401, 403, 404, 405, 406, 409, 413, 415, 422, 428, 429, 431, "5xx"]

# What a schema-valid request may still be refused for: the rules JSON Schema cannot
# state, each named by the problem the service answers with. Anything else the service
# refuses, the contract refuses too (patterns, enums, ranges, no `null` where a field
# cannot be cleared), so a schema-valid request refused for any other reason fails.
PROBLEM = "urn:netregistry:problem:"
INEXPRESSIBLE_PROBLEMS = {
    # 400
    f"{PROBLEM}invalid-cursor": "a cursor is an opaque string in the schema; only the ones "
    "this service signed for this list are accepted (a forged or altered cursor)",
    # 412
    f"{PROBLEM}precondition-failed": "an If-Match is any string in the schema; only the "
    "current ETag passes (a stale If-Match)",
}
INEXPRESSIBLE_FIELD_ERRORS = {
    # 422, by the `type` of every listed field error
    "unknown_category": "a category is any slug in the schema; only the network's own "
    "membership_categories are accepted (stored data)",
    "period_order": "start_date and end_date are each valid alone; that the end comes after "
    "the start is a rule across two fields (and, in a PATCH, against the stored one)",
    "unknown_member": "a member_id is any UUID in the schema; only an existing city or "
    "organization is accepted (a reference to a stored record)",
    "unknown_role": "a tenure's role is any role slug in the schema; only the network's own "
    "roles are accepted (a reference to a stored record)",
    "text_not_visible": "a text of unassigned, private-use or format characters only has no "
    "visible character; which code points Unicode assigns to letters, digits, punctuation "
    "and symbols is a Unicode category, which a portable JSON Schema pattern cannot name",
    "identifier_country": "a city's ISO 3166-2 code and UN/LOCODE begin with its country "
    "code; on a PATCH that changes one and not the other, the other is the stored one, "
    "which the request's schema does not know",
    "webhook_target": "a webhook URL is any http(s) URL in the schema; whether its host "
    "resolves, to public addresses only, and over https unless on loopback, is the DNS's "
    "answer at the time of the request, not the URL's form",
    "language_tag": "a language tag is any text of the BCP 47 form in the schema; whether "
    "its language, script and region subtags are registered is the IANA subtag registry's "
    "answer (langcodes reads it), too long a list for a pattern",
    "duplicate_name": "names are unique by text, language and kind, three of a name's five "
    "fields; JSON Schema's uniqueItems compares whole items",
    "duplicate_label": "category labels are unique by category and language, two of a "
    "label's four fields; JSON Schema's uniqueItems compares whole items",
    "text_tag_character": "tag characters (U+E0000-U+E007F) lie beyond the \\uFFFF escapes of "
    "a portable JSON Schema pattern",
}
# A CSV member list is a text body: its header, rows and their values are checked against
# the network's categories and the stored members, which no schema of a string can say.
CSV_IMPORT = "POST /v1/networks/{slug}/memberships:import"
# Reconciliation queries are JSON inside a string (the protocol's `queries=`): that the
# text is a batch of valid queries is no rule a schema of a string can state either.
RECONCILE = frozenset({"GET /v1/reconcile", "POST /v1/reconcile"})
# 409 (a conflict with an existing record: a slug taken, overlapping periods, a full role)
# is accepted by schemathesis' own check.


@schemathesis.check
def only_inexpressible_rules_refused(
    ctx: schemathesis.CheckContext, response: schemathesis.Response, case: schemathesis.Case
) -> bool | None:
    """A schema-valid request refused with 400, 412 or 422 was refused for a rule listed
    above. (schemathesis' "positive data acceptance" must allow those statuses outright,
    since it cannot read the problem.)"""
    meta = case.meta
    if meta is None or not meta.generation.mode.is_positive:
        return None
    if response.status_code not in (400, 412, 422):
        return None
    problem = response.json()
    if problem.get("type") in INEXPRESSIBLE_PROBLEMS:
        return None
    if response.status_code == 422 and case.operation.label in {CSV_IMPORT, *RECONCILE}:
        return None
    types = {error.get("type") for error in problem.get("errors") or [{}]}
    if response.status_code == 422 and types <= INEXPRESSIBLE_FIELD_ERRORS.keys():
        return None
    raise AssertionError(
        f"A schema-valid request was refused for a rule the contract could state: "
        f"{response.status_code} {problem.get('detail')} (error types {sorted(map(str, types))})"
    )


# What to generate and what to check. Every built-in check runs (server errors, status
# codes, content types, response schemas and headers, negative data rejected, auth not
# ignored, unsupported methods, resources available after create and gone after delete),
# and the one above.
CONFIG = SchemathesisConfig.from_dict(
    {
        "seed": SEED,
        # The seed alone decides the cases: no example database replays earlier runs.
        "generation": {"max-examples": EXAMPLES, "database": "none"},
        "checks": {
            # "Schema-violating request accepted": a request too large to read (413 body,
            # 431 URL and headers) is a rejection too.
            "negative_data_rejection": {"expected-statuses": REJECTIONS},
            # "Schema-valid request rejected" accepts 401/403/404/409/429 by default; 400,
            # 412 and 422 are let through here and narrowed to the rules listed above by
            # `only_inexpressible_rules_refused`.
            "positive_data_acceptance": {
                "expected-statuses": ["2xx", "3xx", 400, 401, 403, 404, 409, 412, 422, 429],
            },
        },
    }
)

# The committed contract, not the running app's: the published file is what is checked.
# Loaded at import because schemathesis builds one test per operation at collection;
# the server's address and the key are only known later and are passed to each call.
# The change stream is excluded: an event stream never ends by itself, so no response
# of it can be read whole and validated (tests/changes/test_stream.py covers it on real
# servers, and its refusals are in tests/reliability/test_bad_input.py).
schema = schemathesis.openapi.from_path(CONTRACT, config=CONFIG).exclude(
    operation_id="stream_changes"
)


@schema.parametrize()
def test_every_operation_honours_the_contract(
    case: schemathesis.Case, base_url: str, auth: dict[str, str]
) -> None:
    case.call_and_validate(base_url=base_url, headers=auth)


def test_linked_calls_honour_the_contract(base_url: str, auth: dict[str, str]) -> None:
    failures: list[str] = []
    completed = 0

    class Scenarios(schema.as_state_machine()):  # type: ignore[misc]
        def get_call_kwargs(self, case: schemathesis.Case) -> dict[str, Any]:
            return {"base_url": base_url, "headers": auth}

        def validate_response(self, response: Any, case: schemathesis.Case, **kwargs: Any) -> None:
            try:
                super().validate_response(response, case, **kwargs)
            except Exception as error:
                failures.append(f"{case.method} {case.formatted_path}: {error}")
                raise

        def teardown(self) -> None:
            nonlocal completed
            completed += 1

    # The server keeps what every scenario wrote, so Hypothesis may find that replaying a
    # scenario's choices leads elsewhere (a link that answered 201 now answers 409) and
    # stop with `Flaky`. schemathesis' own runner treats that the same way: failures are
    # recorded when a step fails, not by the replay, and the run goes on with a new seed.
    for attempt in range(5):
        if completed >= SCENARIOS:
            break
        hypothesis.seed(SEED + attempt)(Scenarios)
        try:
            Scenarios.run(
                settings=hypothesis.settings(
                    max_examples=SCENARIOS - completed,
                    stateful_step_count=SCENARIO_STEPS,
                    deadline=None,
                    database=None,
                    phases=[hypothesis.Phase.explicit, hypothesis.Phase.generate],
                    suppress_health_check=list(hypothesis.HealthCheck),
                )
            )
        except hypothesis.errors.Flaky:
            if failures:
                raise
    assert not failures, "\n\n".join(failures)
    assert completed > 0
