"""`python -m rag.ask`: the chat app's pipeline in the terminal, for scripts and quick checks."""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
from functools import partial
from pathlib import Path

from rag.chat.answer_view import answer_block, answer_json
from rag.chat.pipeline import ChatOptions, Conversation, Exchange
from rag.chat.routing import POLICIES
from rag.chat.service import ChatService
from rag.config import Settings, one_line_errors
from rag.index.records import IndexMissing, IndexUnavailable
from rag.llm.generation import GenerationParams


def to_json(exchange: Exchange) -> dict[str, object]:
    """The answer that counts (the last one given) at the top level, every answer under "answers"."""
    answers = [answer_json(a) for a in exchange.answers]
    if answers:
        main: dict[str, object] = answers[-1]
    else:  # declined: nothing generated; the closest passages are listed, none cited
        closest = [{**hit.to_json(), "cited": False} for hit in exchange.retrieval.hits]
        main = {"answer": exchange.note_text, "sources": closest, "declined": exchange.declined}
    retrieval = exchange.retrieval
    searched = {"searched_in_english": retrieval.english} if retrieval.english else {}
    return {**main, "no_context": not retrieval.relevant, **searched, "note": exchange.note_text, "answers": answers}


def to_text(exchange: Exchange) -> str:
    """What the chat would show, in English: each answer with its notes, then the exchange's note."""
    parts = [answer_block(a, {}, "en") for a in exchange.answers] + ([exchange.note_text] if exchange.note else [])
    return "\n\n".join(parts)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m rag.ask", description="Ask your documents a question.")
    parser.add_argument("question")
    parser.add_argument("--policy", choices=list(POLICIES), help="routing policy (default: local)")
    parser.add_argument("--backend", choices=("local", "cloud"), help="the same as --policy local or --policy cloud")
    parser.add_argument("--index", type=Path, help="index folder (default: $INDEX_DIR or index/)")
    parser.add_argument("--k", type=int, help="sources to retrieve (default: $TOP_K or 5)")
    parser.add_argument("--max-tokens", type=int, default=128)
    parser.add_argument("--json", action="store_true", help='print {"answer", "sources", "backend", "model", ...}')
    args = parser.parse_args(argv)
    with one_line_errors():
        settings = Settings.from_env(index_dir=args.index, passages=args.k)
    service = ChatService(settings, build_index=False, sharing="command")
    try:
        assistant = service.assistant
    except (IndexMissing, IndexUnavailable) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    policy = POLICIES[args.policy or args.backend or "local"]
    options = ChatOptions(
        passages=settings.retrieval.passages,
        mode=settings.retrieval.mode,
        params=GenerationParams(max_tokens=args.max_tokens, timeout=settings.request_timeout),
    )
    try:
        backend_for = partial(service.backend, model=None)
        exchange = asyncio.run(assistant.ask(args.question, Conversation(), options, policy, backend_for))
    finally:
        service.backends.close()
    print(json.dumps(to_json(exchange), ensure_ascii=False) if args.json else to_text(exchange))
    failed = exchange.answers and all(a.error and not a.text for a in exchange.answers)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
