"""`python -m ingest --watch` picks up new, changed and deleted files within seconds."""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

from rag.index_store import IndexMissing, load_snapshot
from tests.conftest import ROOT
from tests.documents import write


def _sources_when(index: Path, predicate, timeout: float = 90) -> set[str]:
    deadline = time.monotonic() + timeout
    sources: set[str] = set()
    while time.monotonic() < deadline:
        try:
            sources = {c.source for c in load_snapshot(index).chunks.values()}
        except (IndexMissing, FileNotFoundError):
            sources = set()
        if predicate(sources):
            return sources
        time.sleep(0.25)
    raise AssertionError(f"index never reached the expected state; last seen: {sources}")


def test_watch_reindexes_on_add_change_and_delete(tmp_path: Path) -> None:
    data, index = tmp_path / "data", tmp_path / "index"
    write(data, "first.md", "The first file talks about comets.\n")
    process = subprocess.Popen(
        [sys.executable, "-m", "ingest", "--watch", "--data", str(data), "--index", str(index)],
        cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True,
    )  # fmt: skip
    try:
        for line in process.stdout:  # type: ignore[union-attr]
            if line.startswith("Watching"):
                break
        assert _sources_when(index, lambda s: s == {"first.md"})
        write(data, "new/second.txt", "A second file arrives, about asteroids.\n")
        _sources_when(index, lambda s: "new/second.txt" in s)
        (data / "first.md").unlink()
        _sources_when(index, lambda s: s == {"new/second.txt"})
        write(data, ".hidden-swap.txt", "editor swap files are ignored\n")
        time.sleep(3)
        assert {c.source for c in load_snapshot(index).chunks.values()} == {"new/second.txt"}
    finally:
        process.terminate()
        process.wait(timeout=30)
