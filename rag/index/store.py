"""The on-disk index: generations written whole, then switched to atomically.

Layout of the index folder::

    CURRENT            name of the live generation, replaced atomically
    gen-000007/        manifest.json, chunks.jsonl, dense.faiss, bm25/
    .tmp-*/            a generation being written (removed if a run dies)
    .lock              held by the one ingestion allowed at a time

A reader only ever follows CURRENT to a complete generation, so an ingestion killed at any
point (Ctrl-C, kill -9, a full disk) leaves the previous index loadable and consistent.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import shutil
import uuid
from collections.abc import Collection, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from rag.index.bm25 import Bm25Index
from rag.index.dense import DenseIndex
from rag.index.records import ChunkRecord, IndexLocked, IndexMissing, Manifest

if TYPE_CHECKING:
    from rag.index.stores import IndexReader, IndexUpdate

CURRENT = "CURRENT"


@dataclass
class Snapshot:
    """One complete, loaded generation of the index: the file store's reader (see `rag.index.stores`)."""

    generation: str
    manifest: Manifest
    chunks: dict[int, ChunkRecord]
    dense: DenseIndex
    bm25: Bm25Index

    def reading(self) -> contextlib.nullcontext[None]:
        """A loaded generation never changes under its reader."""
        return contextlib.nullcontext()

    def dense_search(self, query: np.ndarray, depth: int) -> list[tuple[int, float]]:
        return self.dense.search(query, depth)

    def keyword_search(self, question: str, depth: int) -> list[tuple[int, float]]:
        return self.bm25.search(question, depth)

    def unknown_words(self, words: list[str]) -> list[str]:
        return self.bm25.unknown(words)

    def chunks_by_id(self, ids: Collection[int]) -> dict[int, ChunkRecord]:
        return {i: self.chunks[i] for i in ids if i in self.chunks}

    def all_chunks(self) -> Iterator[ChunkRecord]:
        return iter(sorted(self.chunks.values(), key=lambda record: record.id))

    def vectors_by_hash(self, wanted: Collection[str] | None = None) -> dict[str, np.ndarray]:
        """Stored vectors keyed by what was embedded, so identical text is never embedded twice."""
        pairs = ((self.chunks[i].embed_hash, v) for i, v in self.dense.vectors().items() if i in self.chunks)
        return {h: v for h, v in pairs if wanted is None or h in wanted}


def current_generation(index_dir: Path) -> str | None:
    try:
        name = (index_dir / CURRENT).read_text(encoding="utf-8").strip()
    except FileNotFoundError:
        return None
    return name or None


def load_snapshot(index_dir: Path, attempts: int = 3) -> Snapshot:
    """Load the live generation; raises IndexMissing when there is none yet.

    If an ingestion switches to a newer generation and deletes this one while it is being read,
    the newer one is loaded instead, so a chat never fails because the index was updated under it.
    """
    for attempt in range(attempts):
        generation = current_generation(index_dir)
        if generation is None:
            raise IndexMissing(f"no index in {index_dir}: run `python -m ingest` first")
        try:
            return _load_generation(index_dir / generation, generation)
        except (FileNotFoundError, RuntimeError):  # faiss reports a vanished file as RuntimeError
            if current_generation(index_dir) == generation or attempt == attempts - 1:
                raise
    raise AssertionError("unreachable")


def current_manifest(index_dir: Path) -> tuple[str, Manifest] | None:
    """The live generation's name and manifest alone (no vectors loaded), or None without a readable one."""
    generation = current_generation(index_dir)
    try:
        text = (index_dir / generation / "manifest.json").read_text(encoding="utf-8") if generation else None
        return (generation, Manifest.from_json(text)) if generation and text else None
    except (OSError, ValueError, KeyError, TypeError):
        return None


def _load_generation(folder: Path, generation: str) -> Snapshot:
    manifest = Manifest.from_json((folder / "manifest.json").read_text(encoding="utf-8"))
    with open(folder / "chunks.jsonl", encoding="utf-8") as lines:
        chunks = {record.id: record for record in map(ChunkRecord.from_json, lines)}
    return Snapshot(
        generation, manifest, chunks, DenseIndex.load(folder / "dense.faiss"), Bm25Index.load(folder / "bm25")
    )


def _fsync_tree(folder: Path) -> None:
    for path in sorted(folder.rglob("*"), reverse=True):
        flags = os.O_RDONLY | (os.O_DIRECTORY if path.is_dir() else 0)
        descriptor = os.open(path, flags)
        try:
            os.fsync(descriptor)
        finally:
            os.close(descriptor)
    _fsync_dir(folder)


def _fsync_dir(folder: Path) -> None:
    descriptor = os.open(folder, os.O_RDONLY | os.O_DIRECTORY)
    try:
        os.fsync(descriptor)
    finally:
        os.close(descriptor)


def write_snapshot(
    index_dir: Path, manifest: Manifest, chunks: dict[int, ChunkRecord], dense: DenseIndex, bm25: Bm25Index
) -> str:
    """Write a new generation beside the old one, then switch CURRENT to it in one rename."""
    index_dir.mkdir(parents=True, exist_ok=True)
    previous = current_generation(index_dir)
    number = int(previous.split("-")[1]) + 1 if previous else 1
    generation = f"gen-{number:06d}"
    staging = index_dir / f".tmp-{uuid.uuid4().hex}"
    staging.mkdir()
    try:
        (staging / "manifest.json").write_text(manifest.to_json(), encoding="utf-8")
        with open(staging / "chunks.jsonl", "w", encoding="utf-8") as out:
            for record in chunks.values():
                out.write(record.to_json() + "\n")
        dense.save(staging / "dense.faiss")
        bm25.save(staging / "bm25")
        _fsync_tree(staging)
        target = index_dir / generation
        if target.exists():
            shutil.rmtree(target)  # debris of a run that died after this rename but before the switch
        os.rename(staging, target)
        pointer = index_dir / f".{CURRENT}.{uuid.uuid4().hex}"
        pointer.write_text(generation + "\n", encoding="utf-8")
        with open(pointer, "rb") as handle:
            os.fsync(handle.fileno())
        os.replace(pointer, index_dir / CURRENT)
        _fsync_dir(index_dir)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    remove_stale(index_dir)
    return generation


def remove_stale(index_dir: Path) -> None:
    """Delete generations other than the live one and leftovers of interrupted runs."""
    live = current_generation(index_dir)
    for path in index_dir.iterdir() if index_dir.exists() else ():
        stale_generation = path.name.startswith("gen-") and path.name != live
        leftover = path.name.startswith(".tmp-") or path.name.startswith(f".{CURRENT}.")
        if stale_generation or leftover:
            if path.is_dir():
                shutil.rmtree(path, ignore_errors=True)
            else:
                path.unlink(missing_ok=True)


@contextlib.contextmanager
def ingest_lock(index_dir: Path) -> Iterator[None]:
    """One writer at a time; a second one is told so instead of corrupting the first one's work."""
    index_dir.mkdir(parents=True, exist_ok=True)
    with open(index_dir / ".lock", "w") as handle:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError as exc:
            raise IndexLocked(f"another ingestion is writing {index_dir}; try again when it finishes") from exc
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


class FileStore:
    """Generations in a folder (the default store): FAISS, bm25s and JSON files, switched by a rename."""

    def __init__(self, index_dir: Path) -> None:
        self.index_dir = index_dir

    @property
    def location(self) -> str:
        return str(self.index_dir)

    def current_generation(self) -> str | None:
        return current_generation(self.index_dir)

    def current_manifest(self) -> tuple[str, Manifest] | None:
        return current_manifest(self.index_dir)

    def open(self) -> Snapshot:
        return load_snapshot(self.index_dir)

    @contextlib.contextmanager
    def writing(self) -> Iterator[None]:
        """The folder's lock, then the debris of interrupted runs cleared away."""
        with ingest_lock(self.index_dir):
            remove_stale(self.index_dir)
            yield

    def commit(self, base: IndexReader | None, update: IndexUpdate) -> str:
        """The base generation's vectors copied, the update applied, and the whole written as a new generation."""
        chunks: dict[int, ChunkRecord] = {}
        dense = DenseIndex.empty(update.manifest.dimension)
        if base is not None:
            if not isinstance(base, Snapshot):
                raise TypeError("a file store builds only on a generation it loaded itself")
            live = {i for entry in update.manifest.files.values() for i in entry.chunk_ids}
            chunks = {i: record for i, record in base.chunks.items() if i in live}
            dense = base.dense.copy()
            dense.remove(i for i in base.chunks if i not in live)
        if update.added:
            dense.add([r.id for r in update.added], update.vectors)
            chunks.update({r.id: r for r in update.added})
        return write_snapshot(self.index_dir, update.manifest, chunks, dense, update.bm25)

    def close(self) -> None:
        """Nothing is held open between calls."""
