"""An ingestion that dies at any point leaves the previous index loadable; the next run cleans up."""

from __future__ import annotations

import errno
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from rag.config import Settings
from rag.index.bm25 import Bm25Index
from rag.index.embedding import Embedder
from rag.index.records import IndexLocked
from rag.index.store import current_generation, ingest_lock, load_snapshot
from rag.ingest.pipeline import ingest
from tests.documents import write
from tests.helpers import ROOT


def _corpus(data: Path, files: int, prefix: str) -> None:
    for number in range(files):
        sentences = " ".join(f"{prefix} note {number} sentence {s} about topic {number * 7 + s}." for s in range(30))
        write(data, f"{prefix}-{number:03d}.txt", sentences + "\n")


def _consistent(index: Path) -> set[str]:
    snapshot = load_snapshot(index)
    assert len(snapshot.dense) == len(snapshot.chunks)
    manifest_ids = {i for entry in snapshot.manifest.files.values() for i in entry.chunk_ids}
    assert manifest_ids == set(snapshot.chunks)
    assert set(snapshot.bm25.ids.tolist()) == set(snapshot.chunks)
    return {c.source for c in snapshot.chunks.values()}


def test_disk_full_while_writing_keeps_previous_index(
    tmp_path: Path, embedder: Embedder, monkeypatch: pytest.MonkeyPatch
) -> None:
    settings = Settings(data_dir=tmp_path / "data", index_dir=tmp_path / "index")
    write(settings.data_dir, "one.txt", "The first document is about volcanoes.\n")
    ingest(settings, embedder=embedder)
    before = current_generation(settings.index_dir)
    write(settings.data_dir, "two.txt", "The second document is about glaciers.\n")

    def full_disk(self: Bm25Index, folder: Path) -> None:
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(Bm25Index, "save", full_disk)
    with pytest.raises(OSError):
        ingest(settings, embedder=embedder)
    assert current_generation(settings.index_dir) == before
    assert _consistent(settings.index_dir) == {"one.txt"}
    assert not [p for p in settings.index_dir.iterdir() if p.name.startswith(".tmp-")]
    monkeypatch.undo()
    assert "two.txt" in ingest(settings, embedder=embedder).added
    assert _consistent(settings.index_dir) == {"one.txt", "two.txt"}


def test_debris_of_a_killed_run_is_ignored_then_removed(tmp_path: Path, embedder: Embedder) -> None:
    settings = Settings(data_dir=tmp_path / "data", index_dir=tmp_path / "index")
    write(settings.data_dir, "one.txt", "Only document, about tides.\n")
    ingest(settings, embedder=embedder)
    index = settings.index_dir
    live = current_generation(index)
    (index / ".tmp-deadbeef").mkdir()
    (index / ".tmp-deadbeef" / "chunks.jsonl").write_text('{"id": 0, "sour')
    (index / "gen-000099").mkdir()
    (index / "gen-000099" / "manifest.json").write_text("{")
    (index / ".CURRENT.cafe").write_text("gen-000099\n")
    assert _consistent(index) == {"one.txt"}
    write(settings.data_dir, "two.txt", "Second document, about currents.\n")
    ingest(settings, embedder=embedder)
    assert sorted(p.name for p in index.iterdir()) == [".lock", "CURRENT", current_generation(index)]
    assert current_generation(index) != live
    assert _consistent(index) == {"one.txt", "two.txt"}


@pytest.mark.slow  # dozens of ingestion processes, each killed at another point
def test_kill_9_at_many_points_never_breaks_the_index(tmp_path: Path) -> None:
    data, index = tmp_path / "data", tmp_path / "index"
    _corpus(data, 4, "base")
    subprocess.run(
        [sys.executable, "-m", "ingest", "--data", str(data), "--index", str(index)],
        cwd=ROOT,
        check=True,
        capture_output=True,
    )
    _corpus(data, 40, "extra")
    caught_writing = 0
    for attempt in range(6):
        (data / f"extra-{attempt:03d}.txt").write_text(f"Edited in attempt {attempt}, about rainbows.\n")
        process = subprocess.Popen(
            [sys.executable, "-m", "ingest", "--data", str(data), "--index", str(index)],
            cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )  # fmt: skip
        # Even attempts die the moment the new generation starts being written, odd ones at a
        # point in time (loading the model, reading, embedding).
        deadline = time.monotonic() + (180 if attempt % 2 == 0 else 2.0 + attempt)
        while process.poll() is None and time.monotonic() < deadline:
            if attempt % 2 == 0 and any(p.name.startswith(".tmp-") for p in index.iterdir()):
                caught_writing += 1
                break
            time.sleep(0.001)
        os.kill(process.pid, signal.SIGKILL)
        process.wait()
        assert _consistent(index) >= {f"base-{n:03d}.txt" for n in range(4)}
    assert caught_writing >= 1, "no run was killed while writing its new generation"
    finished = subprocess.run(
        [sys.executable, "-m", "ingest", "--data", str(data), "--index", str(index)],
        cwd=ROOT,
        capture_output=True,
        text=True,
    )
    assert finished.returncode == 0, finished.stderr
    assert len(_consistent(index)) == 44


def test_second_writer_is_refused_while_one_holds_the_lock(tmp_path: Path) -> None:
    with ingest_lock(tmp_path), pytest.raises(IndexLocked), ingest_lock(tmp_path):
        pass
