"""What translating a Bulgarian or Russian question costs before its search, side by side with searching it as
asked: retrieval time with and without the translation, and each translation, to read.

Run: python -m bench.translation --index INDEX [--split heldout] (an index of eval/real/corpus)
"""

from __future__ import annotations

import statistics
import sys

from bench.real_set import REAL, assistant_over, split_arguments
from rag.answers.quality import load_cases
from rag.chat.pipeline import ChatOptions
from rag.chat.translation import QuestionTranslator
from rag.index.retrieval import mostly_latin
from rag.llm.embedded_server import EmbeddedServer
from rag.measure.metrics import nearest_rank


def _figures(label: str, milliseconds: list[float]) -> str:
    ordered = sorted(milliseconds)
    return f"{label}: p50 {statistics.median(ordered):.0f} ms, p95 {nearest_rank(ordered, 0.95):.0f} ms"


def main(argv: list[str] | None = None) -> int:
    args = split_arguments("python -m bench.translation", __doc__ or "", argv)
    questions = [
        case.question
        for path in (REAL / "questions.jsonl", REAL / "unanswerable.jsonl")
        for case in load_cases(path, args.split)
        if not mostly_latin(case.question)
    ]
    server = EmbeddedServer()  # as the app starts it: the bundled model, one thread
    server.start()
    try:
        plain = assistant_over(args.index)
        translated = assistant_over(args.index)
        translated.translator = QuestionTranslator(server.backend)
        options = ChatOptions()
        plain.retrieve("warm up", options)
        as_asked, with_english = [], []
        for question in questions:  # alternated, so that both see the same machine
            as_asked.append(plain.retrieve(question, options).milliseconds)
            found = translated.retrieve(question, options)
            with_english.append(found.milliseconds)
            print(f"{question}\n    -> {found.english}")
    finally:
        server.stop()
    print(f"\n{len(questions)} Bulgarian and Russian questions ({args.split} half), retrieval time:")
    print(_figures("as asked", as_asked))
    print(_figures("also in English", with_english))
    print(f"ratio of medians: {statistics.median(with_english) / statistics.median(as_asked):.2f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
