"""Which tests ``make mutation`` runs against a mutant: those written for its module.

mutmut runs, against each mutant, every selected test that called the mutated function.
``PartialDate`` is called by every request that carries a date, so without a choice a
surviving mutant of ``kit/dates.py`` would run the whole selection. This plugin, loaded
by the ``[tool.mutmut]`` section of pyproject.toml (``-p tests.mutation_selection``),
keeps only the test files named below for the mutated module, in the order given (the
fast unit tests first, so that a killed mutant stops early), and does nothing outside a
mutant's run (the stats, the clean run, an ordinary ``pytest``).
"""

from __future__ import annotations

import os

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
    ),
}


def mutated_module() -> str | None:
    """The module of the mutant under test (mutmut names it ``<module>.<mutant>``)."""
    mutant = os.environ.get("MUTANT_UNDER_TEST", "")
    module, _, name = mutant.rpartition(".")
    return module if "__mutmut_" in name else None


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    module = mutated_module()
    if module is None or module not in TESTS_BY_MODULE:
        return
    files = TESTS_BY_MODULE[module]

    def file_of(item: pytest.Item) -> str:
        return item.nodeid.split("::")[0].removeprefix("mutants/")

    kept = sorted(
        (item for item in items if file_of(item) in files),
        key=lambda item: files.index(file_of(item)),
    )
    dropped = [item for item in items if item not in kept]
    if dropped:
        config.hook.pytest_deselected(items=dropped)
    items[:] = kept
