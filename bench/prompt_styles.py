"""Which prompt gets the most out of the bundled base model: chat messages, or a completion prompt?

For a third of the sample questions, the same retrieved sources go to the embedded Gemma 3 270M
as (a) chat messages, (b) a completion prompt ending in "Answer:", (c) the app's completion prompt
ending in "Answer: According to [". Scored by the share of the evidence sentence's words found in
the answer, how often the answer echoes the prompt's scaffolding ("Sources:", "[1] (file)"), the
evidence score of answers that do not echo (echoed sources contain the evidence too), and how
often the answer cites a source that exists.

Run: python -m bench.prompt_styles
"""

from __future__ import annotations

import asyncio
import re
import statistics
from dataclasses import replace
from pathlib import Path

from rag.answers.citations import cited_numbers
from rag.chat.pipeline import Assistant, ChatOptions
from rag.chat.prompts import COMPLETION_LEAD
from rag.config import Settings
from rag.eval import load_questions
from rag.index.embedding import Embedder
from rag.index.retrieval import Retriever
from rag.llm.embedded_server import EmbeddedServer
from rag.llm.generation import GenerationParams, StreamOutcome, stream_answer
from rag.llm.requests import Prompt

QUESTIONS = Path(__file__).resolve().parent.parent / "eval" / "questions.jsonl"
_WORD = re.compile(r"\w+")
_ECHO = re.compile(r"Sources:|Question:|\[\d+\] \(")
"""Signs that the model copied the prompt's scaffolding instead of answering."""


def recall(answer: str, evidence: str) -> float:
    wanted = set(_WORD.findall(evidence.lower()))
    return len(wanted & set(_WORD.findall(answer.lower()))) / len(wanted)


def variants(prompt_chat: Prompt, prompt_completion: Prompt) -> dict[str, Prompt]:
    plain = replace(prompt_completion, text=prompt_completion.text.removesuffix(COMPLETION_LEAD).rstrip(), lead="")
    return {
        "chat messages": prompt_chat,
        "completion, 'Answer:'": plain,
        "completion, 'According to ['": prompt_completion,
    }


async def run(index: Path) -> None:
    embedder = Embedder()
    assistant = Assistant(Retriever(Settings(index_dir=index), embedder), embedder)
    server = EmbeddedServer()
    server.start()
    backend = server.backend("embedded")
    options = ChatOptions(passages=3, params=GenerationParams(max_tokens=48, temperature=0.1))
    scores: dict[str, list[float]] = {}
    echoes: dict[str, list[bool]] = {}
    citations: dict[str, list[bool]] = {}
    seconds: dict[str, list[float]] = {}
    try:
        for item in load_questions(QUESTIONS)[::3]:
            hits = assistant.retrieve(item.question, options).hits
            chat = assistant.prompt(replace(backend, prompt_style="chat"), item.question, hits, [], options)
            completion = assistant.prompt(replace(backend, prompt_style="completion"), item.question, hits, [], options)
            for name, prompt in variants(chat, completion).items():
                outcome = StreamOutcome()
                async for _ in stream_answer(backend, prompt, options.params, outcome):
                    pass
                scores.setdefault(name, []).append(recall(outcome.text, item.evidence or ""))
                echoes.setdefault(name, []).append(bool(_ECHO.search(outcome.text)))
                citations.setdefault(name, []).append(bool(cited_numbers(outcome.text, len(prompt.sources))))
                seconds.setdefault(name, []).append((outcome.finished_at or 0) - outcome.started)
    finally:
        server.stop()
    print(f"{len(scores['chat messages'])} questions, Gemma 3 270M (base model), 3 sources each, max 48 tokens")
    print(
        f"{'prompt':<32}{'evidence words':>15}{'echoes prompt':>15}{'evidence, no echo':>19}{'valid citation':>16}{'seconds':>9}"
    )
    for name in scores:
        echoed = statistics.mean(echoes[name])
        clean = statistics.mean(0.0 if e else s for s, e in zip(scores[name], echoes[name], strict=True))
        cited = statistics.mean(citations[name])
        row = f"{statistics.mean(scores[name]):>15.2f}{echoed:>15.2f}{clean:>19.2f}{cited:>16.2f}"
        print(f"{name:<32}{row}{statistics.mean(seconds[name]):>9.1f}")


def main() -> None:
    import tempfile

    from rag.ingest.pipeline import ingest

    with tempfile.TemporaryDirectory() as tmp:
        ingest(Settings(data_dir=Path(__file__).resolve().parent.parent / "data", index_dir=Path(tmp)))
        asyncio.run(run(Path(tmp)))


if __name__ == "__main__":
    main()
