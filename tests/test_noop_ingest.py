"""A run that changes nothing is decided without the encoder: torch is not even imported."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from rag.config import Settings
from rag.index.embedding import Embedder
from rag.ingest.pipeline import Ingestor, ingest
from tests.documents import write
from tests.helpers import SAMPLE_DATA, run_cli

PROBE = """
import json, sys
from pathlib import Path
from rag.config import Settings
from rag.ingest.pipeline import Ingestor, ingest
report = ingest(Settings(data_dir=Path(sys.argv[1]), index_dir=Path(sys.argv[2])))
print(json.dumps({"torch": "torch" in sys.modules, "written": report.written, "unchanged": len(report.unchanged),
                  "chunks": report.chunks, "skipped": report.skipped, "embedded": report.embedded}))
"""


def _probe(data: Path, index: Path) -> dict:
    result = run_cli("-c", PROBE, str(data), str(index))
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout.strip().splitlines()[-1])


@pytest.mark.slow  # commands in their own processes
def test_an_unchanged_folder_is_checked_without_loading_the_encoder(tmp_path: Path, embedder: Embedder) -> None:
    data, index = tmp_path / "data", tmp_path / "index"
    write(data, "notes.md", "# Notes\n\nThe archive opens on Tuesdays.\n")
    write(data, "broken.pdf", "not a pdf at all")
    full = ingest(Settings(data_dir=data, index_dir=index), embedder=embedder)
    assert full.written

    quick = _probe(data, index)
    assert quick == {"torch": False, "written": False, "unchanged": 2, "chunks": full.chunks, "embedded": 0,
                     "skipped": [[path, reason] for path, reason in full.skipped]}  # fmt: skip

    write(data, "new.md", "# New\n\nA new file needs the encoder.\n")
    changed = _probe(data, index)
    assert changed["torch"] and changed["written"]

    os.utime(data / "notes.md", None)  # touched, same content: hashed, nothing embedded, the new time recorded
    touched = _probe(data, index)
    assert touched["written"] and touched["embedded"] == 0
    assert _probe(data, index)["torch"] is False


def test_the_quick_answer_matches_a_full_run(tmp_path: Path, embedder: Embedder) -> None:
    settings = Settings(data_dir=SAMPLE_DATA, index_dir=tmp_path / "index")
    ingest(settings, embedder=embedder)
    quick = ingest(settings, embedder=embedder)
    full = Ingestor(settings, embedder).run()  # the full path, asked to decide the same thing
    assert not quick.written and not full.written
    assert (quick.unchanged, quick.skipped, quick.chunks, quick.generation) == (
        full.unchanged,
        full.skipped,
        full.chunks,
        full.generation,
    )
    assert sorted(quick.notes) == sorted(full.notes)
