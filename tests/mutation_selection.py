"""Which tests ``make mutation`` runs against a mutant: those written for its module.

mutmut runs, against each mutant, every selected test that called the mutated function.
``PartialDate`` is called by every request that carries a date, so without a choice a
surviving mutant of ``kit/dates.py`` would run the whole selection. This plugin, loaded
by the ``[tool.mutmut]`` section of pyproject.toml (``-p tests.mutation_selection``),
keeps only the tests named below for the mutated module (a file, or one test of a file
as ``file::test``), in the order given (the fast unit tests first, so that a killed
mutant stops early), and does nothing outside a mutant's run (the stats, the clean run,
an ordinary ``pytest``).

mutmut stops a mutant's run at its first failing test (``-x``), so a killed mutant costs
the tests before its killer. Mutants of one function mostly fall to the same test: when
``MUTATION_KILLERS`` names a file (``make mutation`` sets it, and empties it before the
campaign), each run appends the test that killed its mutant, and later runs put the
tests that killed their function's mutants first (the most often first), then those
that killed others of the module, then the rest in the order given.
"""

from __future__ import annotations

import json
import os
from collections import Counter
from pathlib import Path

import pytest

TESTS_BY_MODULE: dict[str, tuple[str, ...]] = {
    "netregistry.kit.dates": (
        "tests/kit/test_period_arithmetic.py",
        "tests/kit/test_dates.py",
        "tests/registry/test_rule_messages.py",
        "tests/kit/test_officer_messages.py",
    ),
    "netregistry.registry.rules": (
        "tests/registry/test_rule_messages.py",
        "tests/kit/test_officer_messages.py",
        "tests/registry/test_tenures.py",
        "tests/registry/test_handover.py",
        "tests/registry/test_rule_races.py",
        "tests/registry/test_concurrency.py",
    ),
    "netregistry.registry.names": (
        "tests/registry/test_name_search.py",
        "tests/registry/test_name_folding.py",
        "tests/names/test_names.py",
        "tests/names/test_display_names.py",
        "tests/names/test_name_search_scripts.py",
        # The names a batch of new members brings (add_names): from a spreadsheet, and
        # from an export imported into an empty registry.
        "tests/registry/test_csv_sync.py::test_a_new_member_keeps_the_file_s_name_in_the_row_s_language",
        "tests/exports/test_import.py::test_an_export_imported_into_an_empty_registry_exports_the_same_bytes",
    ),
}


def mutant_under_test() -> str | None:
    """The mutant of this run (mutmut names it ``<module>.<function>__mutmut_<n>``)."""
    mutant = os.environ.get("MUTANT_UNDER_TEST", "")
    return mutant if "__mutmut_" in mutant.rpartition(".")[2] else None


def module_of(mutant: str) -> str:
    """``<module>`` of a mutant's name."""
    return mutant.rpartition(".")[0]


def mutated_module() -> str | None:
    """The module of the mutant under test."""
    mutant = mutant_under_test()
    return module_of(mutant) if mutant else None


def mutated_function(mutant: str) -> str:
    """``<module>.<function>`` of a mutant's name."""
    return mutant.rpartition("__mutmut_")[0]


def killers_file() -> Path | None:
    named = os.environ.get("MUTATION_KILLERS")
    return Path(named) if named else None


def node_of(nodeid: str) -> str:
    """A test's id as the selection names it (mutmut runs it from ``mutants/``)."""
    return nodeid.removeprefix("mutants/")


def past_killers(mutant: str) -> tuple[Counter[str], Counter[str]]:
    """How often each test killed a mutant of ``mutant``'s function, and of its module,
    in this campaign's runs so far."""
    by_function: Counter[str] = Counter()
    by_module: Counter[str] = Counter()
    path = killers_file()
    if path is None or not path.exists():
        return by_function, by_module
    function, module = mutated_function(mutant), module_of(mutant)
    for line in path.read_text().splitlines():
        try:
            kill = json.loads(line)
        except ValueError:
            continue  # a line cut short by a run stopped mid-write
        if kill.get("function") == function:
            by_function[kill["test"]] += 1
        if kill.get("module") == module:
            by_module[kill["test"]] += 1
    return by_function, by_module


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    mutant = mutant_under_test()
    module = mutated_module()
    if mutant is None or module is None or module not in TESTS_BY_MODULE:
        return
    chosen = TESTS_BY_MODULE[module]

    def choice_of(item: pytest.Item) -> int | None:
        """The position of ``item``'s entry among those chosen (None: not chosen)."""
        node = node_of(item.nodeid).split("[")[0]
        for index, entry in enumerate(chosen):
            if node == entry or node.startswith(f"{entry}::"):
                return index
        return None

    by_function, by_module = past_killers(mutant)

    def rank(item: pytest.Item) -> tuple[int, int, int]:
        test = node_of(item.nodeid)
        return (-by_function[test], -by_module[test], choice_of(item) or 0)

    kept = sorted((item for item in items if choice_of(item) is not None), key=rank)
    dropped = [item for item in items if choice_of(item) is None]
    if dropped:
        config.hook.pytest_deselected(items=dropped)
    items[:] = kept


_noted: set[str] = set()


def pytest_runtest_logreport(report: pytest.TestReport) -> None:
    """Note the test that killed the mutant under test (its first failure)."""
    mutant, path = mutant_under_test(), killers_file()
    if mutant is None or path is None or not report.failed or mutant in _noted:
        return
    _noted.add(mutant)
    kill = {
        "module": module_of(mutant),
        "function": mutated_function(mutant),
        "test": node_of(report.nodeid),
    }
    # One short line in append mode: the two workers' lines never interleave.
    with path.open("a") as killers:
        killers.write(json.dumps(kill) + "\n")
