"""`python -m rag.bench`: the same questions through the whole RAG path on each backend, measured alike.

Prints p50/p95 time to first token, tokens/s, end-to-end latency, tokens and cost per backend, and
writes results.csv (one row per answer) and chart.png into --out.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
from pathlib import Path

from rag.answer import Assistant, ChatOptions
from rag.comparison import save_chart, summarize, text_table
from rag.config import Settings
from rag.embedding import Embedder
from rag.eval import load_questions
from rag.generation import GenerationParams
from rag.index_store import IndexMissing
from rag.metrics import AnswerMetrics, to_csv
from rag.retrieval import Retriever
from rag.runtime import Backends


async def measure(
    assistant: Assistant, backends: Backends, keys: list[str], questions: list[str], runs: int, options: ChatOptions
) -> list[AnswerMetrics]:
    rows: list[AnswerMetrics] = []
    for key in keys:
        backend = await asyncio.to_thread(backends.get, key)
        for run in range(runs):
            for number, question in enumerate(questions, start=1):
                answer = await assistant.answer(backend, question, [], options)
                if answer.metrics is not None:
                    rows.append(answer.metrics)
                status = (
                    "declined (nothing relevant)"
                    if answer.no_context
                    else (str(answer.error) if answer.error else "ok")
                )
                print(f"[{key} run {run + 1}] {number}/{len(questions)} {status}", file=sys.stderr, flush=True)
    return rows


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m rag.bench", description=__doc__)
    parser.add_argument(
        "--questions", type=Path, required=True, help="JSONL with a 'question' per line (rag.eval's format)"
    )
    parser.add_argument("--backends", default="local,cloud", help="comma-separated: local, cloud")
    parser.add_argument("--runs", type=int, default=1)
    parser.add_argument("--out", type=Path, default=Path("bench-results"))
    parser.add_argument("--index", type=Path)
    parser.add_argument("--max-tokens", type=int, default=128)
    parser.add_argument("--limit", type=int, help="use only the first N questions")
    args = parser.parse_args(argv)
    keys = [k.strip() for k in args.backends.split(",") if k.strip()]
    if not keys or any(k not in ("local", "cloud") for k in keys):
        parser.error("--backends takes local, cloud or both separated by a comma")
    settings = Settings.from_env(index_dir=args.index)
    embedder = Embedder(settings.embed_model, settings.embed_device)
    try:
        assistant = Assistant(Retriever(settings, embedder), embedder)
        questions = [q.question for q in load_questions(args.questions)][: args.limit]
    except (IndexMissing, ValueError, OSError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    backends = Backends()
    options = ChatOptions(
        top_k=settings.top_k,
        mode=settings.retrieval_mode,
        params=GenerationParams(max_tokens=args.max_tokens, timeout=settings.request_timeout),
    )
    try:
        rows = asyncio.run(measure(assistant, backends, keys, questions, args.runs, options))
    finally:
        backends.close()
    summaries = summarize(rows)
    print(text_table(summaries))
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "results.csv").write_text(to_csv(rows), encoding="utf-8")
    save_chart(summaries, args.out / "chart.png")
    print(f"\nwrote {args.out / 'results.csv'} and {args.out / 'chart.png'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
