"""The mutation campaign's configuration holds together, without running it (it is slow:
``make mutation``): each mutant the equivalents file lists is still made by mutmut, with
the change the file states, and each mutated module has its tests."""

from __future__ import annotations

import tomllib
from pathlib import Path

import pytest

from tests import mutation_selection
from tests.mutation_report import (
    ROOT,
    changes_by_mutant,
    load_equivalents,
    module_of,
    mutated_paths,
)

pytest.importorskip("mutmut")


def test_every_listed_equivalent_mutant_still_exists_with_the_change_it_states() -> None:
    equivalents = load_equivalents()
    assert equivalents, "mutation/equivalent.toml lists no mutant"
    by_module = {module_of(path): path for path in mutated_paths()}
    stale = []
    for module, path in by_module.items():
        listed = {
            name: entry for name, entry in equivalents.items() if name.startswith(module + ".")
        }
        if not listed:
            continue
        made = changes_by_mutant(path)
        for name, entry in listed.items():
            if made.get(name) != entry["change"]:
                stale.append(f"{name}: listed {entry['change']!r}, made {made.get(name)!r}")
    assert not stale, "mutation/equivalent.toml names mutants that no longer exist:\n" + "\n".join(
        stale
    )
    unknown = [name for name in equivalents if not name.startswith(tuple(by_module))]
    assert not unknown, unknown


def test_every_listed_equivalent_mutant_states_a_reason() -> None:
    for name, entry in load_equivalents().items():
        assert entry.get("reason", "").strip(), name
        assert "\n" not in entry["reason"], f"{name}: one line per reason"


def test_every_mutated_module_has_tests_that_mutmut_selects() -> None:
    config = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["mutmut"]
    selected = set(config["pytest_add_cli_args_test_selection"])
    modules = {module_of(path) for path in mutated_paths()}
    assert set(mutation_selection.TESTS_BY_MODULE) == modules
    for entries in mutation_selection.TESTS_BY_MODULE.values():
        for entry in entries:
            file, _, test = entry.partition("::")
            assert (ROOT / file).is_file(), entry
            assert not test or f"async def {test}(" in (ROOT / file).read_text(), entry
            assert entry in selected, entry
    assert all((ROOT / path).is_file() for path in mutated_paths())


class _Item:
    def __init__(self, nodeid: str) -> None:
        self.nodeid = nodeid


class _Config:
    class hook:
        @staticmethod
        def pytest_deselected(items: list[_Item]) -> None:
            pass


def test_a_mutant_runs_first_the_tests_that_killed_its_function_s_mutants(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    killers = tmp_path / "killers.jsonl"
    monkeypatch.setenv("MUTATION_KILLERS", str(killers))
    module = "netregistry.registry.names"
    first, second, third = (
        f"mutants/tests/names/test_names.py::test_{n}" for n in ("one", "two", "three")
    )
    # A run of a mutant of fold_name fails at the third test: that test is noted.
    monkeypatch.setenv("MUTANT_UNDER_TEST", f"{module}.x_fold_name__mutmut_1")
    report = pytest.TestReport(third, ("", 0, ""), {}, "failed", None, "call", [])
    mutation_selection.pytest_runtest_logreport(report)
    # The next mutant of fold_name runs it first; one of another function keeps the order
    # given after the module's killers.
    monkeypatch.setenv("MUTANT_UNDER_TEST", f"{module}.x_fold_name__mutmut_2")
    items = [_Item(first), _Item(second), _Item(third), _Item("mutants/tests/other.py::t")]
    mutation_selection.pytest_collection_modifyitems(_Config(), items)  # type: ignore[arg-type]
    assert [item.nodeid for item in items] == [third, first, second]
    lines = killers.read_text().splitlines()
    assert len(lines) == 1
    assert '"test": "tests/names/test_names.py::test_three"' in lines[0]
