"""`python -m rag.bench`: the same questions through the whole RAG path on each backend, measured alike.

Prints p50/p95 time to first token, tokens/s, end-to-end latency, tokens and cost per backend, and
writes results.csv (one row per answer) and chart.png into --out.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
from functools import partial
from pathlib import Path

from rag.answers.answer import Answer
from rag.answers.quality import AnswerCase, Summary, judge, load_cases
from rag.answers.quality import table as answer_table
from rag.chat.pipeline import ChatOptions, Conversation
from rag.chat.routing import POLICIES
from rag.chat.service import ChatService
from rag.config import Settings, one_line_errors
from rag.index.records import IndexMissing
from rag.llm.generation import GenerationParams
from rag.measure.comparison import save_chart, summarize, text_table
from rag.measure.metrics import AnswerMetrics, to_csv


def read_questions(path: Path) -> list[str]:
    """Questions from JSONL records with a "question" field (rag.eval's files), or plain text, one per line."""
    lines = [line.strip() for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]
    if not lines or not lines[0].startswith("{"):
        return lines
    questions = []
    for number, line in enumerate(lines, start=1):
        try:
            questions.append(str(json.loads(line)["question"]))
        except (json.JSONDecodeError, KeyError, TypeError) as exc:
            raise ValueError(f'{path}:{number}: not a JSON record with a "question" ({exc})') from exc
    return questions


def read_cases(path: Path) -> list[AnswerCase] | None:
    """The questions as an answer set when they are JSONL records (key facts, source): answers are then judged too."""
    try:
        return load_cases(path)
    except (ValueError, OSError):
        return None  # plain text: measured, not judged


async def measure(
    service: ChatService,
    keys: list[str],
    questions: list[str],
    runs: int,
    options: ChatOptions,
    cases: list[AnswerCase] | None = None,
) -> tuple[list[AnswerMetrics], dict[str, Summary]]:
    """Each question on each backend through the app's pipeline, one fresh conversation per question; with
    `cases` (the same questions with their key facts), each answer judged as `rag.eval --answers` does."""
    backend_for = partial(service.backend, model=None)
    rows: list[AnswerMetrics] = []
    judged: dict[str, Summary] = {}
    for key in keys:
        for run in range(runs):
            for number, question in enumerate(questions, start=1):
                chat = Conversation()
                exchange = await service.assistant.ask(question, chat, options, POLICIES[key], backend_for)
                rows.extend(chat.measurements)
                if cases is not None:
                    given = exchange.answers or [Answer(exchange.note_text, backend_for(key), [], no_context=True)]
                    summary = judged.setdefault(key, Summary())
                    summary.judged.append(
                        (cases[number - 1], judge(cases[number - 1], given[-1], options.system_prompt))
                    )
                errors = [str(a.error) for a in exchange.answers if a.error]
                status = "declined (nothing relevant)" if not exchange.answers else (errors[0] if errors else "ok")
                print(f"[{key} run {run + 1}] {number}/{len(questions)} {status}", file=sys.stderr, flush=True)
    return rows, judged


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m rag.bench", description=__doc__)
    parser.add_argument(
        "--questions",
        type=Path,
        required=True,
        help="JSONL with a 'question' per line (rag.eval's format), or plain text with one question per line",
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
    with one_line_errors():
        settings = Settings.from_env(index_dir=args.index)
    service = ChatService(settings, build_index=False)
    try:
        _ = service.assistant
        questions = read_questions(args.questions)[: args.limit]
        cases = read_cases(args.questions)
    except (IndexMissing, ValueError, OSError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    options = ChatOptions(
        passages=settings.retrieval.passages,
        mode=settings.retrieval.mode,
        params=GenerationParams(max_tokens=args.max_tokens, timeout=settings.request_timeout),
    )
    try:
        rows, judged = asyncio.run(measure(service, keys, questions, args.runs, options, cases))
    finally:
        service.backends.close()
    summaries = summarize(rows)
    print(text_table(summaries))
    if judged:
        print("\nAnswer quality (as `rag.eval --answers` judges it):")
        print(answer_table({key: summary.row() for key, summary in judged.items()}))
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "results.csv").write_text(to_csv(rows), encoding="utf-8")
    save_chart(summaries, args.out / "chart.png")
    print(f"\nwrote {args.out / 'results.csv'} and {args.out / 'chart.png'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
