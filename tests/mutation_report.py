"""The mutation campaign's score, and what identifies a mutant across runs.

``python -m tests.mutation_report --to-run`` names the mutants ``make mutation`` runs (all
but the equivalent ones); ``python -m tests.mutation_report``, its last step, reads the
verdicts mutmut left in ``mutants/``, prints per mutated module how many mutants were
killed, survived or are listed as equivalent in ``mutation/equivalent.toml``, the score
counting only the others, and every survivor not listed, with its change. It exits 1
when such a survivor remains or a module scores below :data:`TARGET`.

A mutant is named by its position among its function's mutants (``…__mutmut_7``), which
moves when the function changes; so each entry of the equivalents file also states the
mutated line(s), and :func:`changes_by_mutant` regenerates the mutants (without running a
test) to check that each entry still names that very change.
"""

from __future__ import annotations

import json
import sys
import tomllib
from collections import Counter
from difflib import unified_diff
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
EQUIVALENTS = ROOT / "mutation" / "equivalent.toml"
TARGET = 95.0
KILLED = {1, 3, -24, 24, 152, 255, 36}  # failed tests, pytest's internal error, timeouts
SURVIVED = {0}


def mutated_paths() -> list[Path]:
    """The files ``[tool.mutmut] only_mutate`` names, relative to the repository."""
    config = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["mutmut"]
    return [Path(path) for path in config["only_mutate"]]


def module_of(path: Path) -> str:
    return ".".join(path.with_suffix("").parts).removeprefix("src.")


def load_equivalents() -> dict[str, dict[str, str]]:
    """The equivalent mutants by name: each with its ``change`` and ``reason``."""
    entries = tomllib.loads(EQUIVALENTS.read_text())["mutant"]
    return {entry["name"]: entry for entry in entries}


def changes_by_mutant(path: Path) -> dict[str, str]:
    """Every mutant mutmut makes of ``path``, by full name: the lines it changes, as
    ``- old`` and ``+ new`` lines (stripped of their indentation)."""
    import libcst as cst
    from mutmut.mutation.diff_apply import read_mutant_function, read_original_function
    from mutmut.mutation.file_mutation import mutate_file_contents
    from mutmut.utils.format_utils import get_mutant_name

    mutated = mutate_file_contents(str(path), (ROOT / path).read_text())
    module = cst.parse_module(mutated.code)
    changes = {}
    for short_name in mutated.mutant_names:
        name = get_mutant_name(path, short_name)
        original, mutant = (
            cst.Module([read(module, short_name)]).code.strip().splitlines()
            for read in (read_original_function, read_mutant_function)
        )
        changed = [
            f"{line[0]} {line[1:].strip()}"
            for line in unified_diff(original, mutant, lineterm="", n=0)
            if line[:1] in "+-" and line[:3] not in ("+++", "---")
        ]
        changes[name] = "\n".join(changed)
    return changes


def verdicts(path: Path) -> dict[str, int | None]:
    """The exit code of each mutant of ``path`` in the last run (None: not run)."""
    meta = ROOT / "mutants" / f"{path}.meta"
    data: dict[str, Any] = json.loads(meta.read_text())
    codes: dict[str, int | None] = data["exit_code_by_key"]
    return codes


def main() -> int:
    equivalents = load_equivalents()
    failed = False
    print(
        f"{'module':32} {'killed':>6} {'survived':>8} {'equiv.':>6} {'other':>5} "
        f"{'total':>5}  score"
    )
    unlisted: list[tuple[Path, str, str]] = []
    for path in mutated_paths():
        counts: Counter[str] = Counter()
        for name, code in verdicts(path).items():
            if name in equivalents:
                counts["equivalent"] += 1
            elif code in KILLED:
                counts["killed"] += 1
            elif code in SURVIVED:
                counts["survived"] += 1
                unlisted.append((path, name, "survived"))
            else:
                counts["other"] += 1  # no tests, not checked, suspicious, segfault
                unlisted.append((path, name, f"not killed (exit code {code})"))
        total = sum(counts.values())
        counted = total - counts["equivalent"]
        score = 100.0 * counts["killed"] / counted if counted else 100.0
        failed |= score < TARGET
        print(
            f"{module_of(path):32} {counts['killed']:6} {counts['survived']:8} "
            f"{counts['equivalent']:6} {counts['other']:5} {total:5}  {score:5.1f} %"
        )
    changes: dict[Path, dict[str, str]] = {}
    for path, name, verdict in unlisted:
        if path not in changes:
            changes[path] = changes_by_mutant(path)
        change = changes[path].get(name, "?").replace("\n", "\n    ")
        print(f"\n{verdict}: {name}\n    {change}")
    return 1 if failed or unlisted else 0


def to_run() -> list[str]:
    """The mutants worth running: all but those listed as equivalent (which no test can
    kill, and which would each run every test of their function)."""
    equivalents = load_equivalents()
    return [
        name
        for path in mutated_paths()
        for name in changes_by_mutant(path)
        if name not in equivalents
    ]


if __name__ == "__main__":
    if sys.argv[1:] == ["--to-run"]:
        print("\n".join(to_run()))
        sys.exit(0)
    sys.exit(main())
