"""Ingest throughput against raw SentenceTransformer.encode on the same chunks, and the cost of a no-op re-ingest.

Run: python -m bench.ingest_throughput [--files N]
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


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--files", type=int, default=60)
    args = parser.parse_args()
    embedder = Embedder()
    embedder.encode(["warm up the model before timing anything"])
    with tempfile.TemporaryDirectory() as tmp:
        settings = Settings(data_dir=Path(tmp) / "data", index_dir=Path(tmp) / "index")
        write_document_corpus(settings.data_dir, args.files)

        full = ingest(settings, embedder=embedder)
        texts = [searchable_text(c.heading_path, c.text) for c in load_snapshot(settings.index_dir).chunks.values()]

        started = time.perf_counter()
        embedder.model.encode(texts, batch_size=embedder.batch_size, normalize_embeddings=True, show_progress_bar=False)
        raw_seconds = time.perf_counter() - started

        again = ingest(settings, embedder=embedder)

    ingest_rate = full.chunks / full.seconds
    raw_rate = len(texts) / raw_seconds
    print(f"corpus: {args.files} files, {full.chunks} chunks")
    print(f"full ingest (read, chunk, embed, index, write): {full.seconds:7.2f} s  {ingest_rate:6.1f} chunks/s")
    print(f"raw SentenceTransformer.encode, same chunks:     {raw_seconds:7.2f} s  {raw_rate:6.1f} chunks/s")
    print(f"ingest / raw encode throughput: {ingest_rate / raw_rate:.3f}   (goal >= 0.9)")
    print(
        f"re-ingest, nothing changed: {again.seconds:.3f} s = {again.seconds / full.seconds:.4f} of a full ingest   (goal <= 0.02)"
    )


if __name__ == "__main__":
    main()
