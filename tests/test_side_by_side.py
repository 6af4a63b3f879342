"""Local vs cloud on the same question: metrics present and consistent, streams concurrent, failures isolated."""

from __future__ import annotations

import asyncio
import csv
import time
from dataclasses import replace
from pathlib import Path

import pytest

from rag.answers.answer import Answer
from rag.bench import read_questions
from rag.chat.pipeline import Assistant, ChatOptions, answer_with
from rag.chat.presentation import side_by_side
from rag.llm.backends import Backend, BackendKey
from rag.llm.generation import GenerationParams
from rag.measure.comparison import markdown_table, summarize
from rag.measure.metrics import AnswerMetrics, Price, PriceTable
from tests.fault_server import FaultServer
from tests.helpers import ROOT, run_cli

QUESTION = "How is throughput reported in the course?"
PRICES = PriceTable({"stand-in-cloud": Price(input=0.40, output=1.60)}, local_hourly_usd=0.0)


def _backend(server, key: BackendKey, model: str) -> Backend:
    return Backend(
        key=key,
        label=key,
        base_url=server.base_url,
        model=model,
        is_local=key == "local",
        prompt_style="completion",
        context_tokens=4096,
    )


def _options(max_tokens: int) -> ChatOptions:
    return ChatOptions(passages=3, params=GenerationParams(max_tokens=max_tokens, temperature=0.1))


def test_metrics_are_present_and_consistent(assistant: Assistant, local_llm, cloud_llm) -> None:
    local = asyncio.run(answer_with(assistant, _backend(local_llm, "local", "gemma"), QUESTION, [], _options(24)))
    cloud = asyncio.run(
        answer_with(assistant, _backend(cloud_llm, "cloud", "stand-in-cloud"), QUESTION, [], _options(24))
    )
    for answer in (local, cloud):
        m = answer.metrics
        assert m is not None and m.error is None and m.ttft_ms is not None
        assert 0 < m.ttft_ms < m.total_ms and m.retrieval_ms > 0
        assert m.prompt_tokens > 100 and m.completion_tokens > 0
        assert m.tokens_estimated, "llama.cpp sends no usage, so counts are labelled estimates"
        if m.completion_tokens > 1:
            assert m.tokens_per_s == pytest.approx((m.completion_tokens - 1) / ((m.total_ms - m.ttft_ms) / 1000))
    assert local.metrics is not None and cloud.metrics is not None
    assert local.metrics.cost_usd == 0.0
    expected = cloud.metrics.prompt_tokens * 0.40 / 1e6 + cloud.metrics.completion_tokens * 1.60 / 1e6
    assert cloud.metrics.cost_usd == pytest.approx(expected)


def test_usage_from_the_server_is_used_when_sent(assistant: Assistant, fault_server: FaultServer) -> None:
    fault_server.answer = "Throughput is reported as output tokens per second [1]."
    backend = Backend(key="cloud", label="c", base_url=fault_server.url("ok"), model="stand-in-cloud", is_local=False)
    metrics = asyncio.run(answer_with(assistant, backend, QUESTION, [], _options(24))).metrics
    assert metrics is not None and not metrics.tokens_estimated
    assert (metrics.prompt_tokens, metrics.completion_tokens) == (11, 9)
    assert metrics.cost_usd == pytest.approx(11 * 0.40 / 1e6 + 9 * 1.60 / 1e6)


def test_both_stream_at_once_and_the_faster_finishes_first(assistant: Assistant, local_llm, cloud_llm) -> None:
    async def timed(backend: Backend, max_tokens: int) -> tuple[float, float, float]:
        started = time.perf_counter()
        answer = await answer_with(assistant, backend, QUESTION, [], _options(max_tokens))
        assert answer.error is None
        return started, time.perf_counter(), answer.total_ms / 1000

    async def both() -> tuple[tuple[float, float, float], tuple[float, float, float]]:
        short = replace(_backend(local_llm, "local", "gemma"), prompt_style="chat")
        long = replace(_backend(cloud_llm, "cloud", "stand-in-cloud"), prompt_style="chat")
        return await asyncio.gather(timed(short, 4), timed(long, 96))

    (s_start, s_end, s_total), (l_start, l_end, l_total) = asyncio.run(both())
    assert s_end < l_end, "the answer with fewer tokens finishes first"
    assert l_start < s_end, "the second stream started before the first one ended"
    assert max(s_end, l_end) - min(s_start, l_start) < s_total + l_total, "they overlapped instead of queueing"


def test_a_failing_cloud_leaves_the_local_answer_complete(
    assistant: Assistant, local_llm, fault_server: FaultServer
) -> None:
    failing = Backend(
        key="cloud", label="cloud", base_url=fault_server.url("500"), model="stand-in-cloud", is_local=False
    )

    async def both():
        return await asyncio.gather(
            answer_with(assistant, _backend(local_llm, "local", "gemma"), QUESTION, [], _options(16)),
            answer_with(assistant, failing, QUESTION, [], _options(16)),
        )

    local, cloud = asyncio.run(both())
    assert local.error is None and local.text and local.metrics and local.metrics.error is None
    assert cloud.error is not None and cloud.metrics is not None and "500" in (cloud.metrics.error or "")
    table = markdown_table(summarize([local.metrics, cloud.metrics]))
    assert "| local (gemma) | 1 | 0 |" in table and "| cloud (stand-in-cloud) | 1 | 1 |" in table


def test_summary_percentiles_and_costs() -> None:
    def row(label: str, ttft: float, cost: float | None) -> AnswerMetrics:
        return AnswerMetrics("q", label, label, "m", 5.0, ttft, ttft + 1000, 100, 20, False, 19.0, cost)

    rows = [row("a", t, 0.001) for t in (100, 200, 300, 400)] + [row("b", 50, None)]
    a, b = summarize(rows)
    assert a.value("ttft_p50") == 250 and a.value("ttft_p95") == pytest.approx(385)
    assert a.value("cost") == pytest.approx(0.004)
    assert b.value("cost") is None and b.answers == 1


def test_bench_command_writes_csv_and_chart(sample_index: Path, local_llm, cloud_llm, tmp_path: Path) -> None:
    env = {
        "LOCAL_BASE_URL": local_llm.base_url, "LOCAL_MODEL": "gemma", "LOCAL_PROMPT_STYLE": "completion", "LOCAL_CONTEXT_TOKENS": "4096",
        "OPENAI_API_KEY": "k", "OPENAI_BASE_URL": cloud_llm.base_url, "CLOUD_MODEL": "gpt-4.1-mini", "CLOUD_CONTEXT_TOKENS": "4096",
    }  # fmt: skip
    out = tmp_path / "results"
    result = run_cli(
        "-m", "rag.bench", "--questions", str(ROOT / "eval" / "questions.jsonl"), "--backends", "local,cloud",
        "--limit", "2", "--max-tokens", "12", "--index", str(sample_index), "--out", str(out), env=env,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    assert (
        "TTFT p50" in result.stdout
        and "Local server (gemma)" in result.stdout
        and "Cloud API (gpt-4.1-mini)" in result.stdout
    )
    quality = result.stdout.split("Answer quality", 1)[1]  # the question file's records are judged too
    assert "| measure | local | cloud |" in quality and "| citation precision file |" in quality
    rows = list(csv.DictReader((out / "results.csv").open()))
    assert len(rows) == 4 and {r["backend"] for r in rows} == {"local", "cloud"}
    assert all(float(r["cost_usd"]) > 0 for r in rows if r["backend"] == "cloud")
    assert (out / "chart.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_bench_reads_plain_question_files_and_records_without_a_source(tmp_path: Path) -> None:
    plain = tmp_path / "questions.txt"
    plain.write_text("What does TTFT measure?\n\nКогда открыта библиотека?\n", encoding="utf-8")
    jsonl = tmp_path / "questions.jsonl"
    jsonl.write_text('{"question": "What does TTFT measure?"}\n{"question": "Why?", "answer": ["x"]}\n')
    assert read_questions(plain) == ["What does TTFT measure?", "Когда открыта библиотека?"]
    assert read_questions(jsonl) == ["What does TTFT measure?", "Why?"]
    broken = tmp_path / "broken.jsonl"
    broken.write_text('{"question": "ok"}\n{"text": "no question"}\n')
    with pytest.raises(ValueError, match=r"broken\.jsonl:2"):
        read_questions(broken)


def _measured(key: BackendKey, text: str, ttft_ms: float, rate: float, cost: float | None) -> Answer:
    backend = Backend(key, "Local server" if key == "local" else "Cloud API", "http://127.0.0.1:1/v1", "m",
                      is_local=key == "local")  # fmt: skip
    metrics = AnswerMetrics("q", key, backend.label, "m", 10.0, ttft_ms, 900.0, 100, 20, False, rate, cost)
    return Answer(text, backend, [], metrics=metrics, first_token_ms=ttft_ms, total_ms=900.0)


def test_both_answers_end_in_two_columns_with_the_difference_beneath() -> None:
    local = _measured("local", "Twice a day | at 6:00\\nand 18:00 [1].", 2400.0, 20.0, 0.0)
    cloud = _measured("cloud", "At 6:00 and 18:00 [1].", 600.0, 60.0, None)
    table = side_by_side([local, cloud], "en")
    rows = [line for line in table.splitlines() if line.startswith("|")]
    assert len(rows) == 5 and all(row.count(" | ") == 1 for row in rows), "two cells a row: no | or newline leaks"
    assert "on this machine" in rows[0] and "in the cloud" in rows[0] and "Local server" not in rows[3]
    assert "Cloud API gave its first token 1.8 s sooner than Local server" in table
    assert "Cloud API wrote 3.0x as many tokens per second" in table and "against no price known" in table
    assert cloud.metrics is not None
    together = side_by_side([local, replace(cloud, metrics=replace(cloud.metrics, ttft_ms=2450.0))], "en")
    assert "sooner" not in together, "50 ms apart is the same moment to a reader"
    assert "Local server and Cloud API gave their first token within 0.1 s of each other" in together, together
    bulgarian = side_by_side([local, replace(cloud, metrics=replace(cloud.metrics, ttft_ms=2450.0))], "bg")
    assert "дадоха първия си токен с по-малко от 0.1 s разлика" in bulgarian
