"""What the benches that tune on the real-document set share: its folder, the command line that picks an
index of its corpus and a half, and the answer pipeline over that index."""

from __future__ import annotations

import argparse
from pathlib import Path

from rag.chat.pipeline import Assistant
from rag.config import Settings
from rag.index.embedding import Embedder
from rag.index.retrieval import Retriever

REAL = Path(__file__).resolve().parents[1] / "eval" / "real"


def split_arguments(prog: str, description: str, argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog=prog, description=description)
    parser.add_argument("--index", type=Path, required=True, help="an index of eval/real/corpus")
    parser.add_argument("--split", default="dev", choices=("dev", "heldout"))
    return parser.parse_args(argv)


def assistant_over(index: Path) -> Assistant:
    settings = Settings.from_env(index_dir=index)
    embedder = Embedder.from_settings(settings)
    return Assistant(Retriever(settings, embedder), embedder)
