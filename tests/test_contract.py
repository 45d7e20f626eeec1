"""The published contract is the application's: regenerate with `make openapi`."""

from __future__ import annotations

import json
from pathlib import Path

from netregistry.app import create_app
from netregistry.config import Settings

CONTRACT = Path(__file__).parents[1] / "openapi" / "openapi.json"


def _generated() -> str:
    return json.dumps(create_app(Settings()).openapi(), indent=2, ensure_ascii=False) + "\n"


def test_committed_contract_matches_the_application() -> None:
    assert CONTRACT.read_text() == _generated(), (
        "openapi/openapi.json is stale: run `make openapi` and commit it"
    )


def test_every_operation_is_documented() -> None:
    document = json.loads(_generated())
    for path, operations in document["paths"].items():
        for method, operation in operations.items():
            where = f"{method.upper()} {path}"
            assert operation.get("summary"), f"{where} has no summary"
            assert operation.get("description"), f"{where} has no description"
            assert operation.get("operationId"), f"{where} has no operationId"
            if path.startswith("/v1/"):
                assert "422" in operation["responses"], f"{where} documents no 422"
                assert "503" in operation["responses"], f"{where} documents no 503"
            if method in ("post", "patch", "delete") and where not in READS_BY_POST:
                for status in ("401", "403"):
                    assert status in operation["responses"], f"{where} documents no {status}"
                assert operation.get("security"), f"{where} has no security requirement"


# POSTs that only read, public as GETs are: OpenRefine posts its reconciliation queries.
READS_BY_POST = frozenset({"POST /v1/reconcile", "POST /v1/members/lookup"})


def test_reads_are_public_and_writes_need_the_bearer_scheme() -> None:
    document = json.loads(_generated())
    assert document["components"]["securitySchemes"]["HTTPBearer"]["scheme"] == "bearer"
    networks = document["paths"]["/v1/networks"]
    assert {} in networks["get"]["security"]
    assert {} not in networks["post"]["security"]
    assert {} not in document["paths"]["/v1/audit"]["get"]["security"]
