"""The architecture holds by itself: the layers contract (import-linter, in pyproject.toml) and no import cycles.

Every import counts, at any depth of a function and under TYPE_CHECKING: a cycle hidden in a function still
means neither module can be understood, tested or replaced without the other.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import grimp

from tests.helpers import ROOT


def test_the_layers_contract_is_kept() -> None:
    command = Path(sys.executable).with_name("lint-imports")  # import-linter's command, beside this Python
    result = subprocess.run([str(command), "--no-cache"], cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert result.returncode == 0 and "0 broken" in result.stdout, result.stdout[-3000:] + result.stderr[-2000:]


def test_no_module_of_the_library_imports_itself_round_a_circle() -> None:
    graph = grimp.build_graph("rag", cache_dir=None)
    circles = []
    for importer in sorted(graph.modules):
        for imported in sorted(graph.find_modules_directly_imported_by(importer)):
            back = graph.find_shortest_chain(importer=imported, imported=importer)
            if back:
                circles.append(" -> ".join([importer, *back]))
    assert circles == [], "\n".join(circles)
