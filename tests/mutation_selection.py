"""Which tests ``make mutation`` runs against a mutant: those written for its module.

mutmut runs, against each mutant, every selected test that called the mutated function.
``PartialDate`` is called by every request that carries a date, so without a choice a
surviving mutant of ``kit/dates.py`` would run the whole selection. This plugin, loaded
by the ``[tool.mutmut]`` section of pyproject.toml (``-p tests.mutation_selection``),
keeps only the tests named below for the mutated module (a file, or one test of a file
as ``file::test``), in the order given (the fast unit tests first, so that a killed
mutant stops early), and does nothing outside a mutant's run (the stats, the clean run,
an ordinary ``pytest``).
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
        # The names a batch of new members brings (add_names): from a spreadsheet, and
        # from an export imported into an empty registry.
        "tests/registry/test_csv_sync.py::test_a_new_member_keeps_the_file_s_name_in_the_row_s_language",
        "tests/exports/test_import.py::test_an_export_imported_into_an_empty_registry_exports_the_same_bytes",
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
    chosen = TESTS_BY_MODULE[module]

    def choice_of(item: pytest.Item) -> int | None:
        """The position of ``item``'s entry among those chosen (None: not chosen)."""
        node = item.nodeid.removeprefix("mutants/").split("[")[0]
        for index, entry in enumerate(chosen):
            if node == entry or node.startswith(f"{entry}::"):
                return index
        return None

    kept = sorted(
        (item for item in items if choice_of(item) is not None),
        key=lambda item: choice_of(item) or 0,
    )
    dropped = [item for item in items if item not in kept]
    if dropped:
        config.hook.pytest_deselected(items=dropped)
    items[:] = kept
