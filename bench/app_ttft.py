"""Time to first token through the app (in a real browser, and over Chainlit's socket without one)
minus calling the same server directly.

The app is started with LOCAL_BASE_URL pointing at an embedded llama.cpp server that this script
also calls directly with the same prompt (same index, same retrieval), so the difference is what
the app adds: the socket round trip, retrieval, prompt building and rendering the first token.

Run: python -m bench.app_ttft [--questions N]
"""

from __future__ import annotations

import argparse
import asyncio
import re
import statistics
import tempfile
import time
from pathlib import Path

from playwright.sync_api import sync_playwright

from rag.chat.pipeline import Assistant, ChatOptions
from rag.config import Settings
from rag.eval import load_questions
from rag.harness.app_process import BROWSER_ARGS, SAMPLE_DATA, running_app
from rag.harness.socket_client import ChatClient
from rag.index.embedding import Embedder
from rag.index.retrieval import Retriever
from rag.ingest.pipeline import ingest
from rag.llm.backends import Backend
from rag.llm.embedded_server import EmbeddedServer
from rag.llm.generation import GenerationParams, StreamOutcome, stream_answer

QUESTIONS = Path(__file__).resolve().parent.parent / "eval" / "questions.jsonl"
FIRST_MODEL_TOKEN = """n => {
  const steps = [...document.querySelectorAll('.step')].filter(e => e.innerText.includes('According to ['));
  const done = [...document.querySelectorAll('.step')].filter(e => e.innerText.includes(' · total ')).length > n;
  if (steps.length > n) {
    const text = steps[steps.length - 1].innerText;
    if (text.length > text.indexOf('According to [') + 'According to ['.length) return 'token';
  }
  return done ? 'empty' : false;
}"""
DONE = """n => [...document.querySelectorAll('.step')].filter(e => e.innerText.includes(' · total ')).length > n"""


def through_app(url: str, questions: list[str]) -> tuple[list[float | None], list[float | None]]:
    """Per question: TTFT seen in the browser, and TTFT the app itself measured from its request to the model."""
    timings: list[float | None] = []
    inside: list[float | None] = []
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path="/usr/bin/chromium", args=BROWSER_ARGS)
        page = browser.new_page()
        page.goto(url)
        page.get_by_text("Ready to answer", exact=False).wait_for(timeout=180_000)
        for n, question in enumerate(questions):
            page.locator("#chat-input").fill(question)
            started = time.perf_counter()
            page.keyboard.press("Enter")
            seen = page.wait_for_function(FIRST_MODEL_TOKEN, arg=n, polling=5, timeout=120_000).json_value()
            # An answer the model left empty (it stopped at once) has no first token to time.
            timings.append((time.perf_counter() - started) * 1000 if seen == "token" else None)
            page.wait_for_function(DONE, arg=n, polling=50, timeout=180_000)
            footer = page.locator(".step").filter(has_text=" · total ").last.inner_text()
            found = re.search(r"first token (\d+) ms", footer)
            inside.append(float(found.group(1)) if found and seen == "token" else None)
        browser.close()
    return timings, inside


async def through_socket(url: str, questions: list[str]) -> list[float | None]:
    """The same questions over Chainlit's socket, as a browser sends them, with no browser running."""
    client = ChatClient(url)
    await client.connect()
    try:
        return [(await client.ask(question)).first_token_ms for question in questions]
    finally:
        await client.close()


async def direct(
    assistant: Assistant, backend: Backend, questions: list[str], options: ChatOptions
) -> tuple[list[float], list[float]]:
    first_tokens, retrievals = [], []
    for question in questions:
        retrieval = assistant.retrieve(question, options)
        retrievals.append(retrieval.milliseconds)
        prompt = assistant.prompt(backend, question, retrieval.hits, [], options)
        outcome = StreamOutcome()
        async for _ in stream_answer(backend, prompt, options.params, outcome):
            pass
        first_tokens.append(((outcome.first_token_at or outcome.started) - outcome.started) * 1000)
    return first_tokens, retrievals


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--questions", type=int, default=20)
    args = parser.parse_args()
    english = [q.question for q in load_questions(QUESTIONS) if q.question.isascii()]
    embedder = Embedder()
    with tempfile.TemporaryDirectory() as tmp:
        ingest(Settings(data_dir=SAMPLE_DATA, index_dir=Path(tmp)), embedder=embedder)
        assistant = Assistant(Retriever(Settings(index_dir=Path(tmp)), embedder), embedder)
        # Only questions the app answers (not declined by the relevance floor) have a first token.
        english = [q for q in english if assistant.retrieve(q, ChatOptions()).relevant][: args.questions]
    server = EmbeddedServer()
    server.start()
    backend = server.backend("embedded")
    options = ChatOptions(params=GenerationParams(max_tokens=256))
    env = server.app_environment()
    try:
        with tempfile.TemporaryDirectory() as tmp, running_app(Path(tmp), env) as url:
            app, inside = through_app(url, english)
            socket_ttft = asyncio.run(through_socket(url, english))
            assistant = Assistant(Retriever(Settings(index_dir=Path(tmp) / "index"), embedder), embedder)
            first, retrieval = asyncio.run(direct(assistant, backend, english, options))
    finally:
        server.stop()
    p50 = statistics.median
    in_app = [i for i in inside if i is not None]
    via_socket = [(s - d) for s, d in zip(socket_ttft, first, strict=True) if s is not None]
    pairs = [(a, d) for a, d in zip(app, first, strict=True) if a is not None]
    overhead = [a - d for a, d in pairs]
    app_ms: list[float] = [a for a, _ in pairs]
    first = [d for _, d in pairs]
    print(f"{len(pairs)} of {len(english)} questions answered (others left empty by the model), embedded Gemma 3 270M")
    print(f"TTFT through the app (browser):  p50 {p50(app_ms):7.0f} ms")
    print(f"TTFT calling the server directly: p50 {p50(first):7.0f} ms")
    print(f"app minus direct, per question:   p50 {p50(overhead):7.0f} ms")
    print(f"retrieval alone:                  p50 {p50(retrieval):7.0f} ms")
    print(
        f"over Chainlit's socket, no browser: app minus direct p50 {p50(via_socket):7.0f} ms ({len(via_socket)} answers)"
    )
    print(f"model TTFT as the app measured it: p50 {p50(in_app):7.0f} ms (request to the model -> first token)")
    print(
        f"goal: overhead <= retrieval + 50 ms = {p50(retrieval) + 50:.0f} ms -> {'met' if p50(overhead) <= p50(retrieval) + 50 else 'missed'}"
    )


if __name__ == "__main__":
    main()
