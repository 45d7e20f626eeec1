"""The house keeps its shape: a test over the import graph of ``src/netregistry``.

The layers, from the bottom: ``kit`` and ``models``; ``registry`` (the core: rules,
locks, resolvers, shared shapes, name folding); the five nouns (networks, members,
memberships, roles, tenures), each importing the core and never another noun's service
or repository; above them the writers and readers that span nouns (exports, the CSV
member-list import, the demo loader) and the app. Nothing imports from a layer above.
"""

from __future__ import annotations

import ast
from dataclasses import dataclass
from pathlib import Path

import pytest

SOURCE = Path(__file__).resolve().parents[1] / "src"
NOUNS = ("networks", "members", "memberships", "roles", "tenures", "declarations")
# The layers, from the bottom; a module imports only from its own layer or below.
LAYERS = (
    ("kit", "models", "auth", "audit", "db", "config", "errors", "migrations", "embedded"),
    ("registry",),
    NOUNS,
    ("imports", "exports", "changes", "webhooks", "demo", "system", "directory", "reconcile"),
    ("app", "cli", "serving", "__main__"),
)
# Where SQL may be built: repositories, the core, and the foundations below them.
SQL_HOMES = ("netregistry.registry", "netregistry.kit", "netregistry.models")
SQL_MODULES = ("netregistry.db", "netregistry.migrations")
# Imports from SQLAlchemy that build no SQL: sessions, engines and URLs (for type hints,
# settings and the unit of work) and its exceptions.
SQL_FREE = ("sqlalchemy.ext.asyncio", "sqlalchemy.engine", "sqlalchemy.exc")


@dataclass(frozen=True)
class Import:
    importer: str
    imported: str
    line: int


def _module_name(path: Path, root: Path = SOURCE) -> str:
    parts = list(path.relative_to(root).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def _imports(root: Path = SOURCE) -> list[Import]:
    found = []
    for path in sorted((root / "netregistry").rglob("*.py")):
        importer = _module_name(path, root)
        package = importer if path.name == "__init__.py" else importer.rpartition(".")[0]
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            if isinstance(node, ast.Import):
                found += [Import(importer, alias.name, node.lineno) for alias in node.names]
            elif isinstance(node, ast.ImportFrom):
                base = node.module or ""
                if node.level:
                    anchor = package.rsplit(".", node.level - 1)[0] if node.level > 1 else package
                    base = f"{anchor}.{base}" if base else anchor
                found.append(Import(importer, base, node.lineno))
                # ``from netregistry.x import service`` imports the module x.service.
                found += [Import(importer, f"{base}.{a.name}", node.lineno) for a in node.names]
    return found


def _noun(module: str) -> str | None:
    parts = module.split(".")
    return parts[1] if len(parts) > 1 and parts[0] == "netregistry" and parts[1] in NOUNS else None


def _layer(module: str) -> int | None:
    parts = module.split(".")
    if parts[0] != "netregistry" or len(parts) < 2:
        return None
    return next((n for n, layer in enumerate(LAYERS) if parts[1] in layer), None)


def _leaf(module: str) -> str:
    return module.rpartition(".")[2]


def violations(imports: list[Import]) -> set[tuple[str, str, str]]:
    """Every broken rule, as (rule, importer, imported)."""
    broken: set[tuple[str, str, str]] = set()
    for each in imports:
        importer, imported = each.importer, each.imported
        own, theirs = _noun(importer), _noun(imported)
        if own and theirs and own != theirs and _leaf(imported) in ("service", "repository"):
            broken.add(("noun-imports-noun", importer, imported))
        if _leaf(importer) == _leaf(imported) == "endpoints" and imported != importer:
            broken.add(("endpoint-imports-endpoint", importer, imported))
        if _leaf(importer) == "service" and _leaf(imported) == "endpoints":
            broken.add(("service-imports-endpoint", importer, imported))
        if importer.startswith("netregistry.registry") and theirs:
            broken.add(("core-imports-noun", importer, imported))
        below, above = _layer(importer), _layer(imported)
        if below is not None and above is not None and above > below:
            broken.add(("imports-upwards", importer, imported))
        builds_sql = imported.split(".")[0] == "sqlalchemy" and not imported.startswith(SQL_FREE)
        sql_home = (
            _leaf(importer) == "repository"
            or importer.startswith(SQL_HOMES)
            or importer in SQL_MODULES
        )
        if builds_sql and not sql_home:
            broken.add(("sql", importer, imported))
    return broken


def test_the_house_keeps_its_shape() -> None:
    broken = sorted(violations(_imports()))
    assert not broken, "\n".join(
        f"{rule}: {importer} imports {imported}" for rule, importer, imported in broken
    )


@pytest.mark.parametrize(
    ("importer", "source", "rule"),
    [
        (
            "memberships/service.py",
            "from netregistry.members.repository import MemberRepository",
            "noun-imports-noun",
        ),
        ("tenures/service.py", "from netregistry.roles import service", "noun-imports-noun"),
        (
            "roles/endpoints.py",
            "from netregistry.networks.endpoints import router",
            "endpoint-imports-endpoint",
        ),
        (
            "networks/service.py",
            "from netregistry.networks.endpoints import Service",
            "service-imports-endpoint",
        ),
        ("registry/rules.py", "from netregistry.members import schemas", "core-imports-noun"),
        ("members/service.py", "from sqlalchemy import select", "sql"),
        ("members/endpoints.py", "import sqlalchemy.orm", "sql"),
        (
            "memberships/endpoints.py",
            "from netregistry.imports.member_list import MembershipImporter",
            "imports-upwards",
        ),
        ("kit/http.py", "from netregistry.registry import rules", "imports-upwards"),
    ],
)
def test_each_rule_catches_its_break(tmp_path: Path, importer: str, source: str, rule: str) -> None:
    """A copy of the tree with one bad import added fails the test for that rule."""
    copy = tmp_path / "src"
    for path in (SOURCE / "netregistry").rglob("*.py"):
        target = copy / path.relative_to(SOURCE)
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(path.read_text())
    broken_file = copy / "netregistry" / importer
    broken_file.write_text(broken_file.read_text() + f"\n{source}\n")
    before = violations(_imports())
    after = violations(_imports(copy))
    module = _module_name(broken_file, copy)
    assert {v for v in after - before if v[0] == rule and v[1] == module}
