"""`python -m rag.search`: query the index from the terminal, as JSON or a readable listing."""

from __future__ import annotations

import argparse
import json
import sys
import textwrap
from pathlib import Path

from rag.config import Settings, one_line_errors
from rag.index.records import IndexMissing, IndexUnavailable
from rag.index.retrieval import MODES, Hit, Retriever


def _listing(question: str, hits: list[Hit]) -> str:
    lines = [f"Q: {question}"]
    if not hits:
        lines.append("  (no matching passages)")
    for rank, hit in enumerate(hits, start=1):
        where = hit.source + (f", page {hit.page}" if hit.page else "")
        section = f"  [{' > '.join(hit.chunk.heading_path)}]" if hit.chunk.heading_path else ""
        lines.append(f"{rank}. {where}  score {hit.score:.4f}{section}")
        lines.append(textwrap.indent(textwrap.shorten(hit.text, 400, placeholder=" ..."), "     "))
        if hit.duplicates:
            lines.append(f"     (same text also in: {', '.join(hit.duplicates)})")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m rag.search", description="Search the document index.")
    parser.add_argument("question", nargs="?", help="question; without it, one question per line is read from stdin")
    parser.add_argument("--index", type=Path, help="index folder (default: $INDEX_DIR or index/)")
    parser.add_argument("--k", type=int, help="number of hits (default: $TOP_K or 5)")
    parser.add_argument("--mode", choices=MODES, help="retrieval mode (default: hybrid)")
    parser.add_argument("--json", action="store_true", help="print a JSON array of hits")
    args = parser.parse_args(argv)
    with one_line_errors():
        settings = Settings.from_env(index_dir=args.index, passages=args.k, mode=args.mode)
    try:
        retriever = Retriever(settings)
    except (IndexMissing, IndexUnavailable) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    questions = [args.question] if args.question is not None else (line.rstrip("\n") for line in sys.stdin)
    for question in questions:
        hits = retriever.search(question)
        if args.json:
            print(json.dumps([hit.to_json() for hit in hits], ensure_ascii=False), flush=True)
        else:
            print(_listing(question, hits) + "\n", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
