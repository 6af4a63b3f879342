"""Many chat sessions at once over Chainlit's socket, against the app's embedded model.

Each session connects as a browser would, waits for the welcome message, asks one question and
waits for the whole answer. Reports errors (goal 0) and p50/p95 latency to the first token and to
the end of the answer. The embedded llama.cpp server answers one request at a time, so latency
grows with the queue: the figures show what a class of students sharing one laptop would see.

Run: python -m bench.load [--sessions 20] [--history]   (--history: with chat history on, every
session's messages, sources and settings written to the app's SQLite database as it goes)
"""

from __future__ import annotations

import argparse
import asyncio
import sqlite3
import statistics
import tempfile
import time
from contextlib import closing
from pathlib import Path

import numpy as np

from rag.eval import load_questions
from rag.harness.app_process import running_app
from rag.harness.socket_client import ChatClient, Exchange

QUESTIONS = Path(__file__).resolve().parent.parent / "eval" / "questions.jsonl"


async def session(url: str, question: str) -> Exchange:
    client = ChatClient(url)
    try:
        await client.connect()
        return await client.ask(question)
    except Exception as exc:
        return Exchange(error=f"{type(exc).__name__}: {exc}")
    finally:
        await client.close()


async def run(url: str, sessions: int) -> list[Exchange]:
    questions = [q.question for q in load_questions(QUESTIONS) if q.question.isascii()]
    return await asyncio.gather(*(session(url, questions[n % len(questions)]) for n in range(sessions)))


def _stored_answers(workdir: Path) -> tuple[int, int]:
    """Answers that reached the history database, and how often a writer found it locked."""
    with closing(sqlite3.connect(workdir / "history" / "chats.db")) as connection:
        (answers,) = connection.execute("""SELECT COUNT(*) FROM steps WHERE "metadata" LIKE '%"asked"%'""").fetchone()
    return answers, (workdir / "app.log").read_text(errors="replace").count("database is locked")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--sessions", type=int, default=20)
    parser.add_argument("--history", action="store_true", help="keep chat history (SQLite) while under load")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        env = {"CHAT_HISTORY": "on", "HISTORY_DIR": str(Path(tmp) / "history")} if args.history else {}
        with running_app(Path(tmp), env) as url:
            started = time.perf_counter()
            results = asyncio.run(run(url, args.sessions))
            wall = time.perf_counter() - started
        stored = _stored_answers(Path(tmp)) if args.history else None
    errors = [r.error for r in results if r.error]
    totals = [r.total_ms for r in results if r.total_ms is not None and not r.error]
    firsts = [r.first_token_ms for r in results if r.first_token_ms is not None and not r.error]
    print(
        f"{args.sessions} concurrent chat sessions over Chainlit's socket, embedded Gemma 3 270M, {wall:.0f} s in all"
    )
    print(f"errors: {len(errors)} (goal 0)" + "".join(f"\n  {e}" for e in errors[:5]))
    for name, values in (("first token", firsts), ("whole answer", totals)):
        if values:
            p50, p95 = statistics.median(values), float(np.percentile(values, 95))
            print(f"{name:<13} p50 {p50 / 1000:6.1f} s   p95 {p95 / 1000:6.1f} s   ({len(values)} answers)")
    if stored is not None:
        answers, locked = stored
        streamed = sum(1 for r in results if r.first_token_ms is not None)  # the rest had nothing relevant to cite
        print(
            f"chat history: {answers} of {streamed} streamed answers stored; 'database is locked' in the log: {locked}"
        )


if __name__ == "__main__":
    main()
