"""The dense side of the index behind one small interface, so another vector store plugs in here.

`DenseIndex` wraps FAISS the way `Bm25Index` wraps bm25s: exhaustive inner-product search over
normalized vectors, addressed by stable chunk ids, stored as float16 (scores stay exact to about
1e-4, while memory and the time of a search, bound by memory bandwidth, are halved).
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from pathlib import Path
from typing import cast

# FAISS logs each CPU-specific build it tries and does not find ("No module named 'faiss.swigfaiss_avx512'")
# before loading the one that works: lines that read as failures in a terminal where nothing failed.
logging.getLogger("faiss.loader").setLevel(logging.WARNING)

import faiss  # noqa: E402
import numpy as np  # noqa: E402


class DenseIndex:
    """Vectors by chunk id: add, remove, copy, search, read back, save and load."""

    def __init__(self, index: faiss.IndexIDMap2) -> None:
        self._index = index

    @classmethod
    def empty(cls, dimension: int) -> DenseIndex:
        flat = faiss.IndexScalarQuantizer(dimension, faiss.ScalarQuantizer.QT_fp16, faiss.METRIC_INNER_PRODUCT)
        return cls(faiss.IndexIDMap2(flat))

    @classmethod
    def load(cls, path: Path) -> DenseIndex:
        return cls(cast(faiss.IndexIDMap2, faiss.read_index(str(path))))

    def save(self, path: Path) -> None:
        faiss.write_index(self._index, str(path))

    def copy(self) -> DenseIndex:
        return DenseIndex(cast(faiss.IndexIDMap2, faiss.clone_index(self._index)))

    def __len__(self) -> int:
        return int(self._index.ntotal)

    def add(self, ids: list[int], vectors: np.ndarray) -> None:
        self._index.add_with_ids(vectors.astype(np.float32), np.array(ids, dtype=np.int64))

    def remove(self, ids: Iterable[int]) -> None:
        stale = np.array(list(ids), dtype=np.int64)
        if len(stale):
            self._index.remove_ids(stale)  # type: ignore[arg-type]  # the wrapper also takes an array of ids

    def search(self, query: np.ndarray, depth: int) -> list[tuple[int, float]]:
        """The `depth` nearest chunk ids with their inner products, best first."""
        if len(self) == 0:
            return []
        scores, ids = self._index.search(query.reshape(1, -1), min(depth, len(self)))
        return [(int(i), float(s)) for i, s in zip(ids[0], scores[0], strict=True) if i >= 0]

    def vectors(self) -> dict[int, np.ndarray]:
        """Every stored vector by chunk id, read back in one call."""
        if len(self) == 0:
            return {}
        ids = faiss.vector_to_array(self._index.id_map)  # external id of each stored row, in storage order
        rows = self._index.index.reconstruct_n(0, len(self))
        return {int(i): row for i, row in zip(ids, rows, strict=True)}
