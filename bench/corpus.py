"""Synthetic but realistic corpora for benchmarks, built from the shipped sample documents."""

from __future__ import annotations

import random
import re
from pathlib import Path

from rag.ingest.loaders import load_bytes

SAMPLES = Path(__file__).resolve().parent.parent / "data"


def sample_paragraphs() -> list[str]:
    paragraphs: list[str] = []
    for path in sorted(SAMPLES.rglob("*")):
        if path.is_file():
            paragraphs.extend(b.text for b in load_bytes(path.read_bytes(), path.suffix).blocks if len(b.text) > 80)
    return paragraphs


def write_document_corpus(folder: Path, files: int, seed: int = 7) -> None:
    """Markdown files of shuffled sample paragraphs, each made unique so nothing is de-duplicated."""
    rng = random.Random(seed)
    paragraphs = sample_paragraphs()
    folder.mkdir(parents=True, exist_ok=True)
    for number in range(files):
        picked = rng.sample(paragraphs, k=min(8, len(paragraphs)))
        body = "\n\n".join(f"Note {number}.{i}: {text}" for i, text in enumerate(picked))
        (folder / f"doc-{number:04d}.md").write_text(f"# Document {number}\n\n## Part A\n\n{body}\n", encoding="utf-8")


def synthetic_passages(count: int, seed: int = 11) -> list[str]:
    """`count` distinct passages of ~60 words drawn from the samples' vocabulary."""
    rng = random.Random(seed)
    words = re.findall(r"[^\W_]+", " ".join(sample_paragraphs()))
    return [f"Passage {n}: " + " ".join(rng.choices(words, k=60)) + "." for n in range(count)]
