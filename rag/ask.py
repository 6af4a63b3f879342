"""`python -m rag.ask`: the chat app's pipeline in the terminal, for scripts and quick checks."""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
from pathlib import Path

from rag.answer import Answer, Assistant, ChatOptions
from rag.config import Settings
from rag.embedding import Embedder
from rag.generation import GenerationParams
from rag.index_store import IndexMissing
from rag.prompts import source_label
from rag.retrieval import Retriever
from rag.runtime import Backends


def to_json(answer: Answer) -> dict[str, object]:
    return {
        "answer": answer.text,
        "sources": [
            {"n": n, "source": hit.source, "page": hit.page, "text": hit.text, "cited": n in answer.cited}
            for n, hit in enumerate(answer.sources, start=1)
        ],
        "backend": answer.backend.key,
        "backend_label": answer.backend.label,
        "model": answer.backend.model,
        "error": str(answer.error) if answer.error else None,
        "cut": answer.cut,
        "no_context": answer.no_context,
    }


def to_text(answer: Answer) -> str:
    lines = [answer.text or "(no answer)"]
    if answer.cut:
        lines.append("[answer cut off]")
    if answer.error:
        lines.append(f"error: {answer.error}")
    if answer.sources:
        lines.append("\nSources:")
        lines += [f"  [{n}] {source_label(hit)}" for n, hit in enumerate(answer.sources, start=1)]
    lines.append(f"\nBackend: {answer.backend.describe()}")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m rag.ask", description="Ask your documents a question.")
    parser.add_argument("question")
    parser.add_argument("--backend", choices=("local", "cloud"), default="local")
    parser.add_argument("--index", type=Path, help="index folder (default: $INDEX_DIR or index/)")
    parser.add_argument("--k", type=int, help="sources to retrieve (default: $TOP_K or 5)")
    parser.add_argument("--max-tokens", type=int, default=128)
    parser.add_argument("--json", action="store_true", help='print {"answer", "sources", "backend", "model"}')
    args = parser.parse_args(argv)
    settings = Settings.from_env(index_dir=args.index, top_k=args.k)
    embedder = Embedder(settings.embed_model, settings.embed_device)
    try:
        retriever = Retriever(settings, embedder)
    except IndexMissing as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    backends = Backends()
    try:
        backend = backends.get(args.backend)
        options = ChatOptions(
            top_k=settings.top_k,
            mode=settings.retrieval_mode,
            params=GenerationParams(max_tokens=args.max_tokens, timeout=settings.request_timeout),
        )
        answer = asyncio.run(Assistant(retriever, embedder).answer(backend, args.question, [], options))
    finally:
        backends.close()
    print(json.dumps(to_json(answer), ensure_ascii=False) if args.json else to_text(answer))
    return 1 if answer.error and not answer.text else 0


if __name__ == "__main__":
    sys.exit(main())
