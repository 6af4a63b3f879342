"""Where to decline: the best evidence sentence's score for questions the documents answer and for
questions they do not, on the real-document set, and what each threshold would decline.

    python -m bench.decline --index INDEX [--split dev|heldout]

The threshold (`DECLINE_BELOW` in rag/chat/pipeline.py) is chosen on the dev half; the held-out half
reports it. Nothing is generated: this measures the decision made before any model runs; the last
line is the app's whole decision (the threshold, and names the question asks about that no document holds).
"""

from __future__ import annotations

import json
from pathlib import Path

from bench.real_set import REAL, assistant_over, split_arguments
from rag.chat.pipeline import DECLINE_BELOW, ChatOptions


def _records(path: Path, split: str) -> list[dict]:
    rows = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]
    return [row for row in rows if row.get("split") == split]


def main(argv: list[str] | None = None) -> int:
    args = split_arguments("python -m bench.decline", __doc__.split("\n\n")[0], argv)
    assistant = assistant_over(args.index)
    options = ChatOptions()
    scored: list[tuple[float, bool, str]] = []
    decided: list[tuple[bool, bool]] = []  # (declined by the app, answerable)
    for answerable, path in ((True, REAL / "questions.jsonl"), (False, REAL / "unanswerable.jsonl")):
        for row in _records(path, args.split):
            retrieval = assistant.retrieve(row["question"], options)
            score = retrieval.evidence_score if retrieval.relevant else 0.0
            scored.append((score, answerable, row.get("lang", "")))
            decided.append((not retrieval.answerable, answerable))
    answerable_n = sum(1 for _, a, _ in scored if a)
    unanswerable_n = len(scored) - answerable_n
    print(f"{args.split}: {answerable_n} answerable, {unanswerable_n} unanswerable questions")
    print("threshold  decline accuracy  false declines")
    for threshold in sorted({0.2, 0.25, 0.3, 0.33, 0.35, 0.37, 0.4, 0.45, 0.5, DECLINE_BELOW}):
        right = sum(1 for s, a, _ in scored if not a and s < threshold) / max(unanswerable_n, 1)
        wrong = sum(1 for s, a, _ in scored if a and s < threshold) / max(answerable_n, 1)
        mark = "  <- DECLINE_BELOW" if threshold == DECLINE_BELOW else ""
        print(f"{threshold:9.2f}  {right:16.3f}  {wrong:14.3f}{mark}")
    right = sum(1 for declined, a in decided if declined and not a) / max(unanswerable_n, 1)
    wrong = sum(1 for declined, a in decided if declined and a) / max(answerable_n, 1)
    print(f"{'the app':>9}  {right:16.3f}  {wrong:14.3f}  (DECLINE_BELOW and names no document holds)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
