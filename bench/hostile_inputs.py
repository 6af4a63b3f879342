"""CPU time to read and chunk inputs that used to take quadratic time, at 1x and 4x their size.

Linear code takes about 4 times as long for the 4x input; quadratic code took about 16 times as long.
The inputs come from tests/hostile_documents.py: a DOCX of many plain paragraphs, divisions
nested thousands deep, one long line without spaces, an RTF aimed at striprtf's regexes (the
4x input is 5 MB) and a CSV of many rows.

Run: python -m bench.hostile_inputs
"""

from __future__ import annotations

import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from rag.index.embedding import Embedder
from rag.ingest.chunking import Chunker
from rag.ingest.loaders import load_bytes
from tests import hostile_documents as hostile

Builder = Callable[[Path, int], object]

CASES: list[tuple[str, Builder, str, int]] = [
    ("DOCX paragraphs", hostile.many_paragraphs_docx, "many-paragraphs.docx", 20_000),
    ("nested HTML (levels)", hostile.nested_html, "nested.html", 40_000),
    ("line without spaces (bytes)", hostile.long_line, "long-line.txt", 2**20),
    ("RTF against striprtf (bytes)", hostile.hostile_rtf, "hostile.rtf", 5 * 2**20 // 4),
    ("CSV rows", hostile.many_rows_csv, "many-rows.csv", 50_000),
]


def seconds(builder: Builder, name: str, size: int, chunker: Chunker) -> tuple[float, float]:
    """(CPU seconds to load and chunk the input, its size in MB); generating it is not timed."""
    with tempfile.TemporaryDirectory() as folder:
        builder(Path(folder), size)
        data = (Path(folder) / name).read_bytes()
    started = time.process_time()
    chunker.chunk(load_bytes(data, Path(name).suffix).blocks)
    return time.process_time() - started, len(data) / 2**20


def main() -> None:
    embedder = Embedder()
    chunker = Chunker(embedder, 200, 40)
    chunker.chunk(load_bytes(b"Warm up the tokenizer.", ".txt").blocks)
    print(f"{'input':<28} {'1x size':>9} {'1x MB':>7} {'1x s':>7} {'4x s':>7} {'ratio':>6} {'s/MB 4x':>8}")
    for label, builder, name, size in CASES:
        small, small_mb = seconds(builder, name, size, chunker)
        large, large_mb = seconds(builder, name, 4 * size, chunker)
        print(
            f"{label:<28} {size:>9,} {small_mb:>7.2f} {small:>7.2f} {large:>7.2f} "
            f"{large / small:>6.1f} {large / large_mb:>8.2f}"
        )


if __name__ == "__main__":
    main()
