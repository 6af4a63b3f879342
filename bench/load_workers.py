"""Many chat sessions at once across two app workers behind nginx, against a model server with parallel slots.

The deployment of `python -m rag.workers` in a temporary folder (rag/harness/deployment.py): a throwaway
PostgreSQL with pgvector holding the index of the samples and the chat history, two workers, nginx with
sticky sessions. The model is the recording OpenAI-compatible server of the tests, which streams a fixed
answer to every request at once (a thread each), so the model is never the queue and what is measured is
the app: retrieval, prompt building, the socket, history writes, the proxy.

First the model server alone gets the same number of concurrent streaming requests (the baseline); then
every session connects through the proxy, and all ask at once. Reported: errors (goal 0), first token
and whole answer p50/p95 both ways, and the app's overhead (through the app minus direct, at p50 and p95).

Run: python -m bench.load_workers [--sessions 50] [--workers 2] [--no-history]   (needs requirements-postgres.txt
and nginx; --no-history: without chat history, to see what writing it costs)
"""

from __future__ import annotations

import argparse
import asyncio
import tempfile
import time
from collections import Counter
from pathlib import Path

import numpy as np
import psycopg
from openai import AsyncOpenAI

from rag.eval import load_questions
from rag.harness.deployment import running_deployment
from rag.harness.socket_client import ChatClient, Exchange
from rag.workers import Deployment
from tests.fault_server import FaultServer

QUESTIONS = Path(__file__).resolve().parent.parent / "eval" / "questions.jsonl"
ANSWER = " ".join(["The answer is in the handbook [1]."] * 8)  # 48 words at 20 ms each: about a second


async def direct(url: str, sessions: int) -> list[Exchange]:
    """The baseline: the same number of streaming requests straight to the model server."""
    client = AsyncOpenAI(base_url=url, api_key="none", max_retries=0)

    async def one() -> Exchange:
        exchange, started = Exchange(), time.perf_counter()
        try:
            stream = await client.chat.completions.create(
                model="fault-model", messages=[{"role": "user", "content": "Question?"}], stream=True
            )
            async for chunk in stream:
                if exchange.first_token_ms is None and chunk.choices and chunk.choices[0].delta.content:
                    exchange.first_token_ms = (time.perf_counter() - started) * 1000
            exchange.total_ms = (time.perf_counter() - started) * 1000
        except Exception as exc:
            exchange.error = f"{type(exc).__name__}: {exc}"
        return exchange

    try:
        return list(await asyncio.gather(*(one() for _ in range(sessions))))
    finally:
        await client.close()


async def through_app(url: str, questions: list[str]) -> tuple[list[Exchange], list[ChatClient]]:
    """Every session connects first (the welcome included), then all ask at once."""
    clients = [ChatClient(url) for _ in questions]
    connected = await asyncio.gather(*(client.connect(timeout=300) for client in clients), return_exceptions=True)
    failed = [Exchange(error=f"connect: {outcome!r}") for outcome in connected if isinstance(outcome, BaseException)]
    ready = [client for client, outcome in zip(clients, connected, strict=True) if outcome is None]
    asked = await asyncio.gather(
        *(client.ask(question, timeout=300) for client, question in zip(ready, questions, strict=False))
    )
    await asyncio.gather(*(client.close() for client in clients), return_exceptions=True)
    return failed + list(asked), ready


def percentiles(values: list[float]) -> tuple[float, float]:
    p50, p95 = np.percentile(values, [50, 95])
    return float(p50), float(p95)


def report(name: str, exchanges: list[Exchange]) -> dict[str, tuple[float, float]]:
    """Print one path's figures; return its p50/p95 per measure, over the answers the model streamed."""
    streamed = [e for e in exchanges if e.error is None and e.first_token_ms is not None and e.total_ms is not None]
    figures = {
        "first token": percentiles([e.first_token_ms for e in streamed if e.first_token_ms is not None]),
        "whole answer": percentiles([e.total_ms for e in streamed if e.total_ms is not None]),
    }
    line = "   ".join(f"{key} p50 {p50:7.0f} ms  p95 {p95:7.0f} ms" for key, (p50, p95) in figures.items())
    print(f"{name:<22} {line}   ({len(streamed)} streamed answers)")
    return figures


def workers_used(deployment: Deployment, clients: list[ChatClient]) -> Counter[str]:
    """Sessions per worker, from nginx's access log (each session's sticky cookie)."""
    sticky = {client.cookie("rag_worker") for client in clients}
    rows = [line for line in deployment.access_log.read_text().splitlines() if "/ws/socket.io/" in line]
    return Counter(line.split()[-2] for line in rows if line.split()[-1].removeprefix("sticky=") in sticky)


def stored_answers(database_url: str) -> int:
    with psycopg.connect(database_url) as connection:
        row = connection.execute("""SELECT count(*) FROM steps WHERE "metadata" ? 'asked'""").fetchone()
    return int(row[0]) if row else 0


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sessions", type=int, default=50)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--no-history", action="store_true", help="chat history off (the cost of writing it)")
    args = parser.parse_args()
    asked = [q.question for q in load_questions(QUESTIONS) if q.question.isascii()]
    questions = [asked[n % len(asked)] for n in range(args.sessions)]
    with FaultServer(answer=ANSWER) as model, tempfile.TemporaryDirectory() as tmp:
        env = {"LOCAL_BASE_URL": model.url("ok"), "OLLAMA_BASE_URL": "http://127.0.0.1:9/v1"}
        env["CHAT_HISTORY"] = "off" if args.no_history else "on"
        with running_deployment(Path(tmp), env, args.workers, {"max_connections": "200"}) as (deployment, database):
            baseline = asyncio.run(direct(model.url("ok"), args.sessions))  # with the workers up and idle
            started = time.perf_counter()
            results, clients = asyncio.run(through_app(deployment.url, questions))
            wall = time.perf_counter() - started
            spread = workers_used(deployment, clients)
            stored = "off" if args.no_history else str(stored_answers(database.url))
    errors = [e.error for e in baseline + results if e.error]
    print(
        f"{args.sessions} concurrent chat sessions through nginx to {args.workers} workers "
        f"(index{'' if args.no_history else ' and history'} in PostgreSQL), recording model server; {wall:.0f} s in all"
    )
    print(f"sessions per worker: {dict(spread)}; answers stored in the shared history: {stored}")
    print(f"errors: {len(errors)} (goal 0)" + "".join(f"\n  {e}" for e in errors[:5]))
    model_only = report("model server directly", baseline)
    app = report("through the app", results)
    for key in model_only:
        (d50, d95), (a50, a95) = model_only[key], app[key]
        print(f"app overhead, {key:<12}  p50 {a50 - d50:7.0f} ms   p95 {a95 - d95:7.0f} ms")


if __name__ == "__main__":
    main()
