"""`python -m rag.ask`: the chat app's pipeline in the terminal, for scripts and quick checks."""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
from functools import partial
from pathlib import Path

from rag.answers.answer import Answer
from rag.chat.pipeline import ChatOptions, Conversation, Exchange
from rag.chat.presentation import shown_label
from rag.chat.routing import POLICIES
from rag.chat.service import ChatService
from rag.config import Settings
from rag.index.records import IndexMissing, IndexUnavailable
from rag.llm.generation import GenerationParams


def answer_json(answer: Answer) -> dict[str, object]:
    return {
        "answer": answer.text,
        "sources": [
            {"n": n, "source": hit.source, "page": hit.page, "text": hit.text, "cited": n in answer.cited}
            for n, hit in enumerate(answer.sources, start=1)
        ],
        "evidence": [quote.to_json() for quote in answer.evidence],
        "grounding": {**answer.grounding.to_json(), "weak_evidence": answer.weak_evidence},
        "backend": answer.backend.key,
        "backend_label": answer.backend.label,
        "model": answer.backend.model,
        "error": str(answer.error) if answer.error else None,
        "cut": answer.cut,
        "route_note": str(answer.route_note or ""),
        "egress": answer.egress.summary() if answer.egress else None,
    }


def to_json(exchange: Exchange) -> dict[str, object]:
    """The answer that counts (the last one given) at the top level, every answer under "answers"."""
    answers = [answer_json(a) for a in exchange.answers]
    main: dict[str, object] = answers[-1] if answers else {"answer": exchange.note_text, "sources": []}
    return {**main, "no_context": not exchange.retrieval.relevant, "note": exchange.note_text, "answers": answers}


def answer_text(answer: Answer) -> str:
    lines = [answer.grounding.marked(answer.text, " [unsupported]") or "(no answer)"]
    if answer.grounding.missing_sources:
        lines.append(f"[cites sources that do not exist: {answer.grounding.missing_sources}]")
    if answer.evidence:
        lines.append("\nEvidence:")
        lines += [f"  [{q.number}] “{q.text}”" for q in answer.evidence]
    if answer.cut:
        lines.append("[answer cut off]")
    if answer.error:
        lines.append(f"error: {answer.error}")
    if answer.sources:
        lines.append("\nSources:")
        lines += [f"  [{n}] {shown_label(hit, 'en')}" for n, hit in enumerate(answer.sources, start=1)]
    lines.append(f"\nBackend: {answer.backend.describe()} ({answer.route_note or ''})")
    if answer.egress is not None:
        lines.append(f"Egress: {answer.egress.summary()}")
    return "\n".join(lines)


def to_text(exchange: Exchange) -> str:
    parts = [answer_text(a) for a in exchange.answers] + ([exchange.note_text] if exchange.note else [])
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
    settings = Settings.from_env(index_dir=args.index, top_k=args.k)
    service = ChatService(settings, build_index=False)
    try:
        assistant = service.assistant
    except (IndexMissing, IndexUnavailable) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    policy = POLICIES[args.policy or args.backend or "local"]
    options = ChatOptions(
        top_k=settings.retrieval.top_k,
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
