"""How often the evidence quote holds the key fact, against how often the retrieved passages do at all.

    python -m bench.evidence --index INDEX [--split dev|heldout]

The evidence scorer's weights (`rag/answers/evidence.py`) are chosen on the dev half; the held-out half
reports them. Nothing is generated: this measures the sentence chosen before any model runs, per language.
"""

from __future__ import annotations

from collections import defaultdict

from bench.real_set import REAL, assistant_over, split_arguments
from rag.answers.quality import load_cases, normalized
from rag.answers.repair import quoted
from rag.chat.pipeline import ChatOptions


def _holds(facts: tuple[str, ...], text: str) -> bool:
    return any(normalized(fact) in normalized(text) for fact in facts)


def main(argv: list[str] | None = None) -> int:
    args = split_arguments("python -m bench.evidence", __doc__.split("\n\n")[0], argv)
    assistant = assistant_over(args.index)
    counts: dict[str, list[int]] = defaultdict(lambda: [0, 0, 0])  # questions, fact in passages, fact quoted
    for case in load_cases(REAL / "questions.jsonl", args.split):
        hits = assistant.retrieve(case.question, ChatOptions()).hits
        quote = assistant.evidence.quote(case.question, hits, [])

        for group in ("all", "cross" if "-" in case.lang else case.lang):
            row = counts[group]
            row[0] += 1
            row[1] += any(_holds(case.facts, hit.text) for hit in hits)
            row[2] += bool(quote) and _holds(case.facts, quoted(quote))
    print(f"{args.split}: the key fact in the retrieved passages, and in the quote shown with the answer")
    print("group   questions  in passages  quoted")
    for group, (questions, found, shown) in sorted(counts.items()):
        print(f"{group:<7} {questions:9d}  {found / questions:11.3f}  {shown / questions:6.3f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
