"""Where the index lives, behind one interface: generations in a folder (the default) or in PostgreSQL.

`open_store(settings)` picks the store from `INDEX_URL`: empty means the folder `INDEX_DIR` (FAISS and
bm25s files, `rag.index.store`), a `postgresql://` URL means tables in that database with pgvector
(`rag.index.pgstore`). Ingestion, search and the app talk only to these protocols, so a store is
swapped by configuration alone, and ranking (fusion, demotion, passages) stays shared code.

Both stores keep the same contract: one writer at a time (`writing()` raises `IndexLocked` for a
second one), a run committed whole or not at all (`commit`), and a reader that answers from exactly
one generation.
"""

from __future__ import annotations

from collections.abc import Collection, Iterator, Mapping
from contextlib import AbstractContextManager
from dataclasses import dataclass
from typing import Protocol

import numpy as np

from rag.index.bm25 import Bm25Index
from rag.index.records import ChunkRecord, Manifest


class IndexChanged(Exception):
    """The store moved to a newer generation than the reader's; open a new reader and ask again."""


class IndexReader(Protocol):
    """One generation of the index, as search and ingestion read it."""

    generation: str
    manifest: Manifest

    @property
    def chunks(self) -> Mapping[int, ChunkRecord]: ...

    def reading(self) -> AbstractContextManager[None]:
        """Everything read inside comes from this one generation (raises IndexChanged when it is gone)."""
        ...

    def dense_search(self, query: np.ndarray, depth: int) -> list[tuple[int, float]]: ...

    def keyword_search(self, question: str, depth: int) -> list[tuple[int, float]]: ...

    def unknown_words(self, words: list[str]) -> list[str]:
        """The words no chunk holds."""
        ...

    def chunks_by_id(self, ids: Collection[int]) -> dict[int, ChunkRecord]: ...

    def all_chunks(self) -> Iterator[ChunkRecord]:
        """Every chunk, in id order."""
        ...

    def vectors_by_hash(self, wanted: Collection[str] | None = None) -> dict[str, np.ndarray]:
        """Stored vectors keyed by the hash of what was embedded (only `wanted` ones if given), in one read."""
        ...


@dataclass
class IndexUpdate:
    """What one ingestion run changes, committed as a whole: the next generation relative to `base`."""

    manifest: Manifest
    removed: list[int]  # ids of the base generation's chunks that are gone
    added: list[ChunkRecord]
    vectors: np.ndarray  # one row per added chunk, in the same order
    bm25: Bm25Index  # over every chunk of the new generation


class IndexStore(Protocol):
    """A place that holds generations of the index."""

    @property
    def location(self) -> str:
        """Where the index is, for messages (never with a password)."""
        ...

    def current_generation(self) -> str | None: ...

    def current_manifest(self) -> tuple[str, Manifest] | None:
        """The live generation's name and manifest alone (no vectors loaded), or None without a readable one."""
        ...

    def open(self) -> IndexReader:
        """A reader of the live generation; raises IndexMissing when there is none yet."""
        ...

    def writing(self) -> AbstractContextManager[None]:
        """Held for a whole ingestion run; raises IndexLocked while another one holds it."""
        ...

    def commit(self, base: IndexReader | None, update: IndexUpdate) -> str:
        """Write the next generation and switch to it at once; returns its name. On failure nothing changes."""
        ...

    def close(self) -> None: ...
