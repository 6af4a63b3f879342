"""`python -m rag.eval`: retrieval quality (hit@1, hit@k, MRR, evidence hit@k) over a question file, and with
`--answers`, answer quality per backend (fact recall, citations, declines, language, echo, speed, cost)."""

from __future__ import annotations

import argparse
import json
import re
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Protocol

from rag.config import Settings, one_line_errors
from rag.index.records import IndexMissing
from rag.index.retrieval import MODES, Hit, Retriever

if TYPE_CHECKING:
    from rag.answers.quality import Summary

_SPACE = re.compile(r"\s+")


@dataclass(frozen=True)
class Question:
    question: str
    source: str
    evidence: str | None = None
    page: int | None = None
    lang: str = ""
    split: str = ""


@dataclass(frozen=True)
class Scores:
    """Averages over all questions; evidence and page scores are over the questions that give one."""

    questions: int
    hit_at_1: float
    hit_at_k: float
    mrr: float
    evidence_at_k: float | None
    page_at_k: float | None = None


class Searcher(Protocol):
    """Anything that ranks passages: the project's retriever, or a baseline measured beside it."""

    def search(self, question: str, k: int | None = None, mode: str | None = None) -> list[Hit]: ...


def load_questions(path: Path, split: str | None = None) -> list[Question]:
    """Questions from JSONL records; `split` keeps only those of one half ("dev" or "heldout")."""
    questions = []
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        if line.strip():
            try:
                raw = json.loads(line)
                question = Question(
                    raw["question"], raw["source"], raw.get("evidence"), raw.get("page"),
                    raw.get("lang", ""), raw.get("split", ""),
                )  # fmt: skip
            except (json.JSONDecodeError, KeyError, TypeError) as exc:
                raise ValueError(f"{path}:{number}: not a question record ({exc})") from exc
            if split is None or question.split == split:
                questions.append(question)
    return questions


def _normalized(text: str) -> str:
    return _SPACE.sub(" ", text).strip().casefold()


def _from_source(hit: Hit, source: str) -> bool:
    return hit.source == source or source in hit.duplicates


def score(retriever: Searcher, questions: list[Question], k: int, mode: str) -> Scores:
    first = at_k = reciprocal = 0.0
    evidence_hits = evidence_total = page_hits = page_total = 0
    for item in questions:
        hits = retriever.search(item.question, k=k, mode=mode)
        ranks = [rank for rank, hit in enumerate(hits, start=1) if _from_source(hit, item.source)]
        first += bool(ranks and ranks[0] == 1)
        at_k += bool(ranks)
        reciprocal += 1 / ranks[0] if ranks else 0.0
        if item.evidence:
            evidence_total += 1
            wanted = _normalized(item.evidence)
            evidence_hits += any(_from_source(h, item.source) and wanted in _normalized(h.text) for h in hits)
        if item.page is not None:
            page_total += 1
            page_hits += any(_from_source(h, item.source) and h.page == item.page for h in hits)
    count = max(len(questions), 1)
    evidence = evidence_hits / evidence_total if evidence_total else None
    pages = page_hits / page_total if page_total else None
    return Scores(len(questions), first / count, at_k / count, reciprocal / count, evidence, pages)


def by_language(retriever: Searcher, questions: list[Question], k: int, mode: str) -> dict[str, Scores]:
    """The same scores for each language of the questions (the "lang" field), each direction of the
    cross-language ones ("bg-en": a Bulgarian question about an English document) and all of those."""
    groups = {lang: [q for q in questions if q.lang == lang] for lang in sorted({q.lang for q in questions if q.lang})}
    crossing = [q for q in questions if "-" in q.lang]
    if crossing:
        groups["cross"] = crossing
    return {name: score(retriever, group, k, mode) for name, group in groups.items()}


def table(results: dict[str, Scores]) -> str:
    lines = [f"{'':<16} {'n':>4} {'hit@1':>7} {'hit@k':>7} {'MRR':>7} {'evidence@k':>11} {'page@k':>7}"]
    for name, s in results.items():
        evidence = f"{s.evidence_at_k:.3f}" if s.evidence_at_k is not None else "-"
        pages = f"{s.page_at_k:.3f}" if s.page_at_k is not None else "-"
        lines.append(
            f"{name:<16} {s.questions:>4} {s.hit_at_1:>7.3f} {s.hit_at_k:>7.3f} {s.mrr:>7.3f} {evidence:>11} {pages:>7}"
        )
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m rag.eval", description="Measure retrieval quality.")
    parser.add_argument(
        "--questions", type=Path, required=True, action="append", help="JSONL of {question, source, evidence?, page?}"
    )
    parser.add_argument("--index", type=Path, help="index folder (default: $INDEX_DIR or index/)")
    parser.add_argument("--k", type=int, default=5, help="cut-off for hit@k and evidence hit@k (default 5)")
    parser.add_argument("--mode", choices=(*MODES, "all"), default="all", help="one mode, or all of them side by side")
    parser.add_argument("--split", help='only the questions of this half ("dev" or "heldout")')
    parser.add_argument("--by-language", action="store_true", help='also per language (the questions\' "lang")')
    parser.add_argument("--json", action="store_true", help="print the scores as JSON")
    parser.add_argument(
        "--as-app",
        action="store_true",
        help="retrieve as the chat does: a Bulgarian or Russian question also searched in English, translated by the "
        "local model (TRANSLATE_QUESTIONS=off: not)",
    )
    parser.add_argument("--answers", action="store_true", help="judge the answers of each backend instead")
    parser.add_argument("--backends", default="local", help='with --answers: "local", "cloud" or "local,cloud"')
    parser.add_argument("--limit", type=int, help="with --answers: only the first N questions")
    parser.add_argument("--max-tokens", type=int, default=96, help="with --answers: longest answer (default 96)")
    parser.add_argument("--answers-out", type=Path, help="with --answers: write each answer, judged, to this JSONL")
    args = parser.parse_args(argv)
    with one_line_errors():
        settings = Settings.from_env(index_dir=args.index)
    if args.answers:
        return answers_main(settings, args)
    try:
        questions = [q for path in args.questions for q in load_questions(path, args.split)]
        with searcher_for(settings, args.as_app) as retriever:
            modes = MODES if args.mode == "all" else (args.mode,)
            results = {mode: score(retriever, questions, args.k, mode) for mode in modes}
            if args.by_language:
                for mode in modes:
                    by_lang = by_language(retriever, questions, args.k, mode)
                    results.update({f"{mode} {lang}": s for lang, s in by_lang.items()})
    except (IndexMissing, ValueError, OSError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    if args.json:
        print(json.dumps({mode: vars(s) for mode, s in results.items()}, indent=1))
        return 0
    print(f"{len(questions)} questions, k={args.k}")
    print(table(results))
    return 0


class AppSearch:
    """The passages the chat would answer from: through the answer pipeline's retrieval, translation included."""

    def __init__(self, settings: Settings) -> None:
        from rag.chat.service import ChatService

        self.service = ChatService(settings, build_index=False)
        self.assistant = self.service.assistant

    def search(self, question: str, k: int | None = None, mode: str | None = None) -> list[Hit]:
        from rag.chat.pipeline import ChatOptions

        options = ChatOptions(passages=k or 5, mode=mode or self.service.settings.retrieval.mode)
        return self.assistant.retrieve(question, options).hits


@contextmanager
def searcher_for(settings: Settings, as_app: bool) -> Iterator[Searcher]:
    if not as_app:
        yield Retriever(settings)
        return
    app = AppSearch(settings)
    try:
        yield app
    finally:
        app.service.backends.close()


def answers_main(settings: Settings, args: argparse.Namespace) -> int:
    """Every question to every backend named, through `rag.bench`'s loop (one request at a time: a local
    server answers one at a time), each answer judged against its key facts."""
    import asyncio

    from rag.answers.quality import load_cases
    from rag.answers.quality import table as answer_table
    from rag.bench import measure
    from rag.chat.pipeline import ChatOptions
    from rag.chat.service import ChatService
    from rag.llm.generation import GenerationParams

    try:
        cases = [case for path in args.questions for case in load_cases(path, args.split)][: args.limit]
        service = ChatService(settings, build_index=False)
        _ = service.assistant
    except (IndexMissing, ValueError, OSError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    options = ChatOptions(
        passages=args.k,
        mode=settings.retrieval.mode,
        # greedy decoding: the same answers on every run, so two settings can be compared
        params=GenerationParams(max_tokens=args.max_tokens, temperature=0.0, timeout=settings.request_timeout),
    )
    keys = args.backends.split(",")
    try:
        _, judged = asyncio.run(measure(service, keys, [c.question for c in cases], 1, options, cases))
        rows = {f"{key}: {service.backend(key, None).describe()}": judged[key].row() for key in keys}
        if args.answers_out:
            write_answers(args.answers_out, judged)
    finally:
        service.backends.close()
    print(json.dumps(rows, indent=1, ensure_ascii=False) if args.json else answer_table(rows))
    return 0


def write_answers(path: Path, judged: dict[str, Summary]) -> None:
    """Every answer with its question, key facts and judgement: the scores are read with the answers."""
    with path.open("w", encoding="utf-8") as out:
        for key, summary in judged.items():
            for case, verdict in summary.judged:
                record = {"backend": key, "question": case.question, "lang": case.lang, "facts": case.facts}
                out.write(json.dumps({**record, **vars(verdict)}, ensure_ascii=False) + "\n")


if __name__ == "__main__":
    sys.exit(main())
