"""Answer quality per backend: is the local model good enough for these documents, and what does the cloud buy?

Each answer is judged against its question's record: fact recall (the share of the key facts the
answer states), the same for the evidence quote, citation precision (cited numbers that point at
the right file, and at the passage holding the evidence), declines (a question the documents do not
answer must be declined, not invented), language match, and echo (an answer that mostly copies its
prompt). Timings and cost come from the answer's own measurements.
"""

from __future__ import annotations

import json
import re
import statistics
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

from rag.answers.answer import Answer
from rag.answers.language import language_of
from rag.answers.repair import quoted
from rag.measure.metrics import nearest_rank

_SPACE = re.compile(r"\s+")
_WORD = re.compile(r"[^\W_]+")
ECHO_SHINGLE = 8
"""Words in a row that count as copied when the prompt holds them too."""
ECHO_SHARE = 0.6
"""An answer whose 8-word runs come from the prompt at least this often is an echo, not an answer."""
DECLINES = re.compile(
    r"not (?:in|mentioned in|covered by|found in) the (?:documents|sources|passages|context)|"
    r"(?:cannot|can't|could not|couldn't) find|no information|(?:do not|don't) know|not mentioned|"
    r"do(?:es)? not (?:say|mention|contain|provide)|"
    r"нет информации|не указан|не упомина|не знаю|не содерж|не могу (?:найти|ответить)|"
    r"няма информация|не е посочен|не знам|не се споменава|не съдърж|не мога да (?:намеря|отговоря)",
    re.IGNORECASE,
)


@dataclass(frozen=True)
class AnswerCase:
    """One question of an answer set: its key facts and where they are, or none when it is unanswerable."""

    question: str
    facts: tuple[str, ...]
    source: str | None
    evidence: str | None
    lang: str

    @property
    def answerable(self) -> bool:
        return self.source is not None


def load_cases(path: Path, split: str | None = None) -> list[AnswerCase]:
    """Records of the retrieval question files ("answer": key facts) and unanswerable ones ("answerable": false),
    of one half ("split") when asked."""
    cases = []
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        if not line.strip():
            continue
        try:
            raw = json.loads(line)
            if split is not None and raw.get("split") != split:
                continue
            answerable = raw.get("answerable", True) is not False
            facts = tuple(raw.get("answer") or ()) if answerable else ()
            source = raw["source"] if answerable else None
            cases.append(AnswerCase(raw["question"], facts, source, raw.get("evidence"), raw.get("lang", "")))
        except (json.JSONDecodeError, KeyError, TypeError) as exc:
            raise ValueError(f"{path}:{number}: not an answer-set record ({exc})") from exc
    return cases


def normalized(text: str) -> str:
    return _SPACE.sub(" ", text).strip().casefold()


def share_found(facts: tuple[str, ...], text: str) -> float | None:
    if not facts:
        return None
    found = normalized(text)
    return sum(normalized(fact) in found for fact in facts) / len(facts)


def echo_share(answer: str, prompt_parts: list[str]) -> float:
    """The share of the answer's 8-word runs that also appear in the prompt."""
    words = _WORD.findall(answer.casefold())
    if len(words) < ECHO_SHINGLE:
        return 0.0
    prompt: set[tuple[str, ...]] = set()
    for part in prompt_parts:
        tokens = _WORD.findall(part.casefold())
        prompt.update(tuple(tokens[i : i + ECHO_SHINGLE]) for i in range(len(tokens) - ECHO_SHINGLE + 1))
    runs = [tuple(words[i : i + ECHO_SHINGLE]) for i in range(len(words) - ECHO_SHINGLE + 1)]
    return sum(run in prompt for run in runs) / len(runs)


@dataclass
class Judged:
    """One answer, judged; None where a measure does not apply (no facts, no citations, answerable)."""

    fact_recall: float | None
    quote_recall: float | None
    citations_right_file: float | None
    citations_with_evidence: float | None
    declined: bool
    flagged_weak: bool  # the app said the sources barely match the question
    language_ok: bool | None
    echo: bool
    ttft_ms: float | None
    tokens_per_s: float | None
    cost_usd: float | None
    claims_checked: int = 0
    claims_failed: int = 0  # sentences whose items no source holds (marked, or replaced by the evidence)
    replaced: bool = False
    invalid_citations: int = 0  # citation numbers of sources that do not exist, before they were removed
    duplicate_sources: int = 0
    missing_fact_unmarked: bool | None = None  # the key fact is not in the answer, and nothing warns the reader
    error: str | None = None
    shown: str = ""  # the answer as the reader saw it, for reading alongside the scores


def judge(case: AnswerCase, answer: Answer, system_prompt: str) -> Judged:
    text = answer.text
    # a decline is the app's, or the model's own words: a quoted passage may say "not mentioned" of something else
    own_words = text.replace(quoted(answer.evidence), " ") if answer.evidence else text
    declined = answer.no_context or bool(DECLINES.search(own_words))
    marked = bool(answer.grounding.unsupported or answer.claims.failed or answer.weak_evidence)
    recall = share_found(case.facts, text) if case.answerable else None
    repair = answer.repair
    texts = [" ".join(hit.text.split()) for hit in answer.sources]
    right_file = with_evidence = None
    if case.answerable and answer.cited:
        cited = [answer.sources[n - 1] for n in answer.cited]
        right_file = sum(hit.source == case.source for hit in cited) / len(cited)
        if case.evidence:
            wanted = normalized(case.evidence)
            with_evidence = sum(wanted in normalized(hit.text) for hit in cited) / len(cited)
    quote = " ".join(q.text for q in answer.evidence)
    prompt_parts = [system_prompt, case.question, *(hit.text for hit in answer.sources)]
    metrics = answer.metrics
    return Judged(
        fact_recall=recall,
        quote_recall=share_found(case.facts, quote) if case.answerable else None,
        citations_right_file=right_file,
        citations_with_evidence=with_evidence,
        declined=declined,
        flagged_weak=answer.weak_evidence or answer.no_context,
        language_ok=(language_of(text) == case.lang) if text.strip() and case.lang and not answer.no_context else None,
        echo=echo_share(text, prompt_parts) >= ECHO_SHARE,
        ttft_ms=answer.first_token_ms,
        tokens_per_s=metrics.tokens_per_s if metrics else None,
        cost_usd=metrics.cost_usd if metrics else None,
        claims_checked=answer.claims.checked,
        claims_failed=len(answer.claims.failed),
        replaced=bool(repair and repair.replaced),
        invalid_citations=len(repair.dropped_citations) if repair else len(answer.grounding.missing_sources),
        duplicate_sources=len(texts) - len(set(texts)),
        missing_fact_unmarked=None if recall is None or declined else (recall == 0 and not marked),
        error=str(answer.error) if answer.error else None,
        shown=text,
    )


@dataclass
class Summary:
    """A backend's answers over the whole set."""

    judged: list[tuple[AnswerCase, Judged]] = field(default_factory=list)

    def row(self) -> dict[str, float | int | None]:
        answerable = [j for c, j in self.judged if c.answerable]
        unanswerable = [j for c, j in self.judged if not c.answerable]
        every = [j for _, j in self.judged]
        ttft = sorted(j.ttft_ms for j in every if j.ttft_ms is not None)
        costs = [j.cost_usd for j in every if j.cost_usd is not None]
        return {
            "questions": len(self.judged),
            "fact_recall": _mean(j.fact_recall for j in answerable),
            "quote_fact_recall": _mean(j.quote_recall for j in answerable),
            "citation_precision_file": _mean(j.citations_right_file for j in answerable),
            "citation_precision_evidence": _mean(j.citations_with_evidence for j in answerable),
            "answers_with_missing_fact_unmarked": _mean(
                None if j.missing_fact_unmarked is None else float(j.missing_fact_unmarked) for j in answerable
            ),
            "claims_checked": sum(j.claims_checked for j in every),
            "sentences_failed_claims": sum(j.claims_failed for j in every),
            "answers_replaced_by_evidence": sum(j.replaced for j in every),
            "invalid_citations": sum(j.invalid_citations for j in every),
            "duplicate_sources": sum(j.duplicate_sources for j in every),
            "decline_accuracy": _mean(float(j.declined) for j in unanswerable),
            "false_declines": _mean(float(j.declined) for j in answerable),
            "unanswerable_flagged_by_app": _mean(float(j.flagged_weak) for j in unanswerable),
            "answerable_flagged_by_app": _mean(float(j.flagged_weak) for j in answerable),
            "language_match": _mean(None if j.language_ok is None else float(j.language_ok) for j in every),
            "echo_rate": _mean(float(j.echo) for j in every),
            "ttft_p50_ms": statistics.median(ttft) if ttft else None,
            "ttft_p95_ms": nearest_rank(ttft, 0.95) if ttft else None,
            "tokens_per_s": _mean(j.tokens_per_s for j in every),
            "cost_usd": sum(costs) if costs else None,
            "errors": sum(j.error is not None for j in every),
        }


def _mean(values: Iterable[float | None]) -> float | None:
    present = [v for v in values if v is not None]
    return sum(present) / len(present) if present else None


def table(rows: dict[str, dict[str, float | int | None]]) -> str:
    """Backends as columns, measures as rows: easy to read side by side in a terminal or a README."""
    names = list(rows)
    measures = list(next(iter(rows.values()))) if rows else []
    lines = [f"| measure | {' | '.join(names)} |", "| --- |" + " --- |" * len(names)]
    for measure in measures:
        cells = [_cell(rows[name][measure]) for name in names]
        lines.append(f"| {measure.replace('_', ' ')} | {' | '.join(cells)} |")
    return "\n".join(lines)


def _cell(value: float | int | None) -> str:
    if value is None:
        return "-"
    if isinstance(value, int):
        return str(value)
    return f"{value:.3f}" if value < 100 else f"{value:.0f}"
