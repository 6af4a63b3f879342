"""The file store (FAISS + bm25s) against PostgreSQL + pgvector, in one run: quality, latency, throughput.

1. Retrieval quality: the same corpus ingested into each store, scored on the same questions (hit@1,
   hit@5, MRR, evidence hit@5, every mode). Default: the real-document dev half when its corpus is
   built (eval/real/README.md), otherwise the shipped samples and eval/questions.jsonl; that ingest, the
   encoder included, is each store's end-to-end ingest throughput.
2. Query latency at `--chunks` chunks (100k): one synthetic generation committed to both stores through
   the same interface (real-vocabulary passages for BM25, unit vectors from a 32-d subspace, which
   behave like text embeddings for HNSW). Timed per query: the dense leg alone on synthetic queries,
   with its recall@10 against exact search, and the whole hybrid search on real questions (embedding
   included). The commit times are each store's write throughput.

Needs requirements-postgres.txt (a throwaway server is started). Nothing is asserted.
Run: python -m bench.store_compare [--chunks N] [--queries N] [--corpus DIR --questions FILE --split dev]
     [--parts quality,latency,ingest]
"""

from __future__ import annotations

import argparse
import contextlib
import tempfile
import time
from dataclasses import replace
from pathlib import Path

import numpy as np

from bench.corpus import synthetic_passages, write_document_corpus
from bench.pg_smoke import unit_rows
from rag.config import Settings
from rag.eval import load_questions, score
from rag.harness.postgres import running_postgres
from rag.index.bm25 import Bm25Index
from rag.index.embedding import Embedder
from rag.index.records import ChunkRecord, FileEntry, Manifest
from rag.index.retrieval import MODES, Retriever
from rag.index.store_choice import open_store
from rag.index.stores import IndexUpdate
from rag.ingest.pipeline import ingest

ROOT = Path(__file__).resolve().parent.parent
REAL_CORPUS = ROOT / "eval" / "real" / "corpus"
TOP = 10
PG_SETTINGS = {"shared_buffers": "768MB", "maintenance_work_mem": "2GB"}


def percentiles(samples_ms: list[float]) -> str:
    p50, p95 = np.percentile(samples_ms, [50, 95])
    return f"p50 {p50:7.2f} ms  p95 {p95:7.2f} ms"


class SharedEncoder(Embedder):
    """Remembers every passage it encoded, so the second store's ingest of the same corpus encodes nothing."""

    def __init__(self, settings: Settings) -> None:
        model, backend = settings.encoder
        super().__init__(model, settings.embed_device, settings.embed_batch_size, backend, settings.embed_cache_dir)
        self.memory: dict[str, np.ndarray] = {}

    def encode(self, texts: list[str], query: bool = False, batch_size: int | None = None) -> np.ndarray:
        if query:
            return super().encode(texts, query=True, batch_size=batch_size)
        missing = [text for text in dict.fromkeys(texts) if text not in self.memory]
        self.memory.update(zip(missing, super().encode(missing, batch_size=batch_size), strict=True))
        return np.vstack([self.memory[t] for t in texts]) if texts else super().encode(texts)


def quality(stores: dict[str, Settings], questions_file: Path, split: str | None, embedder: Embedder) -> None:
    questions = load_questions(questions_file, split)
    print(f"\n1. retrieval quality: {len(questions)} questions ({questions_file}, split {split or 'all'}), k=5")
    print(f"{'store':<10} {'mode':<7} {'hit@1':>7} {'hit@5':>7} {'MRR':>7} {'evidence@5':>11}")
    for name, settings in stores.items():
        report = ingest(settings, embedder=embedder)
        retriever = Retriever(settings, embedder)
        for mode in MODES:
            s = score(retriever, questions, 5, mode)
            evidence = f"{s.evidence_at_k:.3f}" if s.evidence_at_k is not None else "-"
            print(
                f"{name:<10} {mode:<7} {s.hit_at_1:>7.3f} {s.hit_at_k:>7.3f} {s.mrr:>7.3f} {evidence:>11}", flush=True
            )
        print(f"{name:<10} ({report.chunks} chunks; passages encoded once for both stores)")
        retriever.store.close()


def synthetic_update(count: int, dimension: int, model: str, backend: str = "torch") -> tuple[IndexUpdate, np.ndarray]:
    """A whole generation of `count` chunks (20 per file), and the basis its vectors were drawn from."""
    rng = np.random.default_rng(5)
    basis = rng.standard_normal((32, dimension))
    vectors = unit_rows(rng, count, basis)
    passages = synthetic_passages(count)
    records = [ChunkRecord(i, f"doc-{i // 20}.md", None, (), 0, len(t), t, str(i)) for i, t in enumerate(passages)]
    files = {
        f"doc-{n}.md": FileEntry(0, 0, None, 1, list(range(n * 20, min(count, n * 20 + 20))))
        for n in range((count + 19) // 20)
    }
    manifest = Manifest(model, dimension, {}, files, count, embed_backend=backend)
    bm25 = Bm25Index.build([r.id for r in records], passages)
    return IndexUpdate(manifest, [], records, vectors, bm25), basis


def latency(stores: dict[str, Settings], count: int, queries: int, embedder: Embedder, questions: list[str]) -> None:
    """Both stores loaded, then every query timed on one and the other in turn, so load on the machine hits both."""
    started = time.perf_counter()
    update, basis = synthetic_update(count, embedder.dimension, embedder.name, embedder.backend)
    print(
        f"\n2. query latency at {count:,} chunks (generation and BM25 built in {time.perf_counter() - started:.0f} s)"
    )
    retrievers = {}
    for name, settings in stores.items():
        with contextlib.closing(open_store(settings)) as store:
            started = time.perf_counter()
            store.commit(None, update)
            seconds = time.perf_counter() - started
        print(f"[{name}] commit of the generation: {seconds:.1f} s = {count / seconds:,.0f} chunks/s", flush=True)
        retrievers[name] = Retriever(settings, embedder)
    probes = unit_rows(np.random.default_rng(9), queries, basis)
    truth = [set(np.argsort(-(update.vectors @ q))[:TOP].tolist()) for q in probes]
    dense: dict[str, list[float]] = {name: [] for name in stores}
    hybrid: dict[str, list[float]] = {name: [] for name in stores}
    found = dict.fromkeys(stores, 0)
    for n, (probe, exact) in enumerate(zip(probes, truth, strict=True)):
        for name, retriever in retrievers.items():
            t0 = time.perf_counter()
            ids = [i for i, _ in retriever.snapshot.dense_search(probe, 50)]
            dense[name].append((time.perf_counter() - t0) * 1000)
            found[name] += len(set(ids[:TOP]) & exact)
            t0 = time.perf_counter()
            retriever.search(questions[n % len(questions)], k=5, mode="hybrid")
            hybrid[name].append((time.perf_counter() - t0) * 1000)
    for name, retriever in retrievers.items():
        recall = found[name] / (TOP * queries)
        print(f"[{name}] dense leg, depth 50:           {percentiles(dense[name])}   recall@{TOP} {recall:.3f}")
        print(f"[{name}] hybrid search with embedding: {percentiles(hybrid[name])}", flush=True)
        retriever.store.close()


def throughput(stores: dict[str, Settings], files: int) -> None:
    """The whole ingestion (read, chunk, embed, write) of the same generated files into each store."""
    print(f"\n3. ingest throughput: {files} generated Markdown files, the encoder included")
    for name, settings in stores.items():
        write_document_corpus(settings.data_dir, files)
        embedder = Embedder.from_settings(settings)
        embedder.encode_query("load the model before timing")
        full = ingest(settings, embedder=embedder)
        again = ingest(settings, embedder=embedder)
        print(
            f"[{name}] {full.chunks} chunks in {full.seconds:.1f} s = {full.chunks / full.seconds:.1f} chunks/s;"
            f" nothing changed: {again.seconds:.3f} s",
            flush=True,
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    real = REAL_CORPUS.is_dir()
    questions = ROOT / "eval" / ("real/questions.jsonl" if real else "questions.jsonl")
    parser.add_argument("--corpus", type=Path, default=REAL_CORPUS if real else ROOT / "data")
    parser.add_argument("--questions", type=Path, default=questions)
    parser.add_argument("--split", default="dev" if real else None, help='"dev" or "heldout" (default: dev when real)')
    parser.add_argument("--chunks", type=int, default=100_000)
    parser.add_argument("--queries", type=int, default=200)
    parser.add_argument("--files", type=int, default=60, help="generated files for the ingest throughput")
    parser.add_argument("--parts", default="quality,latency,ingest", help="which parts to run, comma-separated")
    args = parser.parse_args()
    parts = set(args.parts.split(","))
    settings = Settings.from_env()
    embedder = SharedEncoder(settings)
    embedder.encode_query("load the model before timing")
    sample_questions = [q.question for q in load_questions(ROOT / "eval" / "questions.jsonl")]
    with running_postgres(settings=PG_SETTINGS) as server, tempfile.TemporaryDirectory() as tmp:
        version = server.installation.version if server.installation else "PostgreSQL"
        print(f"file store: FAISS (float16, exact) + bm25s; {version} + pgvector (halfvec, HNSW m=16) + bm25s")
        folder = Path(tmp)

        def both(label: str, data: Path) -> dict[str, Settings]:
            base = replace(settings, data_dir=data)
            on_files = replace(base, index_dir=folder / label, index_url="")
            return {"file": on_files, "postgres": replace(base, index_url=server.create_database(label))}

        if "quality" in parts:
            quality(both("quality", args.corpus), args.questions, args.split, embedder)
        if "latency" in parts:
            latency(both("latency", args.corpus), args.chunks, args.queries, embedder, sample_questions)
        if "ingest" in parts:
            generated = {
                name: replace(s, data_dir=folder / f"docs-{name}") for name, s in both("ingest", args.corpus).items()
            }
            throughput(generated, args.files)


if __name__ == "__main__":
    main()
