"""Answers from real llama.cpp servers (one local, one standing in for the cloud) and every failure mode."""

from __future__ import annotations

import asyncio
import json
from dataclasses import replace
from pathlib import Path

import pytest

from rag.answers.evidence import Candidate
from rag.chat.pipeline import Assistant, ChatOptions, answer_with
from rag.chat.prompts import COMPLETION_LEAD, build_prompt
from rag.config import Settings
from rag.index.embedding import Embedder
from rag.index.retrieval import Hit, Retriever
from rag.llm.backends import Backend, cloud_backend
from rag.llm.generation import GenerationParams
from rag.llm.requests import Turn
from tests.fault_server import LEAKED_KEY, FaultServer
from tests.helpers import llama_backend, run_cli

QUESTION = "Which port does Ollama listen on?"


def _local(server) -> Backend:
    return llama_backend(server)


def _options(max_tokens: int = 32, timeout: float = 60) -> ChatOptions:
    return ChatOptions(
        params=GenerationParams(max_tokens=max_tokens, temperature=0.0, timeout=timeout)
    )  # greedy: repeatable


def _ask(assistant: Assistant, backend: Backend, question: str = QUESTION, **kw: object):
    return asyncio.run(answer_with(assistant, backend, question, [], _options(**kw)))  # type: ignore[arg-type]


def test_local_model_answers_with_numbered_sources(assistant: Assistant, local_llm) -> None:
    answer = _ask(assistant, _local(local_llm))
    assert answer.error is None and not answer.cut
    assert len(answer.text) > 5 and not answer.text.startswith(COMPLETION_LEAD), "the prompt's lead is not shown"
    assert answer.sources[0].source == "lab-setup.md" and "11434" in answer.sources[0].text
    assert all(1 <= n <= len(answer.sources) for n in answer.cited)
    assert answer.first_token_ms is not None and answer.first_token_ms < answer.total_ms


def test_chat_style_with_history_on_a_cloud_stand_in(assistant: Assistant, cloud_llm) -> None:
    env = {"OPENAI_API_KEY": "test-key", "OPENAI_BASE_URL": cloud_llm.base_url, "CLOUD_MODEL": "stand-in"}
    cloud = replace(cloud_backend(Settings.from_env(environ=env).cloud), context_tokens=4096)
    assert cloud.available and not cloud.is_local and cloud.label == "Cloud API"
    history = [Turn("What is TTFT?", "Time to first token [1].")]
    answer = asyncio.run(answer_with(assistant, cloud, "And how is throughput measured?", history, _options()))
    assert answer.error is None and answer.text
    assert answer.backend.model == "stand-in"


def test_cloud_without_key_is_unavailable_and_says_why(assistant: Assistant) -> None:
    cloud = cloud_backend(Settings.from_env(environ={}).cloud)
    assert not cloud.available and "OPENAI_API_KEY" in str(cloud.reason or "")
    answer = _ask(assistant, cloud)
    assert answer.error is not None and "OPENAI_API_KEY" in str(answer.error.what)


def test_off_topic_question_is_declined_without_calling_a_model(assistant: Assistant) -> None:
    unreachable = Backend(key="local", label="nobody", base_url="http://127.0.0.1:9/v1", model="m")
    for question in ("What is the capital of Peru?", "Кто написал роман Война и мир?"):
        answer = _ask(assistant, unreachable, question)
        assert answer.no_context and answer.error is None and not answer.sources


@pytest.mark.parametrize(
    ("mode", "expected"),
    [
        ("429", "429"),
        ("500", "status 500"),
        ("404", "not known there (404)"),
        ("401", "API key was rejected"),
    ],
)
def test_server_errors_become_clear_messages(
    assistant: Assistant, fault_server: FaultServer, mode: str, expected: str
) -> None:
    backend = Backend(
        key="cloud", label="Fake cloud", base_url=fault_server.url(mode), model="m", api_key=LEAKED_KEY, is_local=False
    )
    answer = _ask(assistant, backend)
    assert answer.error is not None and expected in str(answer.error)
    assert "Fake cloud" in str(answer.error) and answer.error.todo
    assert LEAKED_KEY not in str(answer.error) and "THIS-KEY" not in str(answer.error)


def test_stream_cut_mid_answer_keeps_the_partial_text(assistant: Assistant, fault_server: FaultServer) -> None:
    fault_server.answer = "Ollama listens on port 11434 by default [1] and more words follow here."
    backend = Backend(key="cloud", label="Fake cloud", base_url=fault_server.url("cut"), model="m", is_local=False)
    answer = _ask(assistant, backend)
    assert answer.cut and answer.error is not None and "broke off" in str(answer.error.what)
    assert answer.text == "Ollama listens on"


def test_hanging_server_times_out(assistant: Assistant, fault_server: FaultServer) -> None:
    backend = Backend(key="cloud", label="Slow cloud", base_url=fault_server.url("hang"), model="m", is_local=False)
    answer = _ask(assistant, backend, timeout=1.5)
    assert answer.error is not None and "no answer within 2 s" in str(answer.error)


def test_unreachable_server_is_reported(assistant: Assistant) -> None:
    from rag.llm.embedded_server import free_port

    backend = Backend(key="local", label="Ollama", base_url=f"http://127.0.0.1:{free_port()}/v1", model="m")
    answer = _ask(assistant, backend)
    assert answer.error is not None and "cannot reach the server" in str(answer.error.what)


def test_prompt_fits_the_context_by_dropping_old_turns_then_whole_sources(
    sample_retriever: Retriever, embedder: Embedder
) -> None:
    hits = sample_retriever.search("greenhouse watering and temperature", k=5)
    history = [Turn(f"question {n} " + "word " * 150, "answer " * 150) for n in range(6)]
    count = lambda text: embedder.count_many([text])[0]  # noqa: E731
    roomy = build_prompt("chat", "When are plants watered?", hits, history, "sys", count, 100_000)
    assert roomy.dropped_turns == 0 and len(roomy.messages) == 2 + 2 * len(history)
    bare = build_prompt("chat", "When are plants watered?", hits, [], "sys", count, 100_000)
    needed = count("sys") + count(bare.messages[-1]["content"])
    turn = count(history[0].question) + count(history[0].answer)
    tight = build_prompt("chat", "When are plants watered?", hits, history, "sys", count, needed + 2 * turn + turn // 2)
    assert 0 < tight.dropped_turns < len(history) and tight.dropped_sources == 0
    assert all(hit.text in tight.messages[-1]["content"] for hit in hits), "sources are never cut"
    tiny = build_prompt("chat", "When are plants watered?", hits, history, "sys", count, 150)
    assert tiny.dropped_sources > 0 and tiny.sources == hits[: len(tiny.sources)]


def test_ask_cli_json_with_the_local_server(sample_index: Path, local_llm) -> None:
    env = {"LOCAL_BASE_URL": local_llm.base_url, "LOCAL_PROMPT_STYLE": "completion", "LOCAL_MODEL": "gemma"}
    result = run_cli("-m", "rag.ask", "--json", "--index", str(sample_index), "--max-tokens", "24", QUESTION, env=env)
    assert result.returncode == 0, result.stderr
    payload = json.loads(result.stdout)
    assert set(payload) >= {"answer", "sources", "backend", "model"}
    assert payload["backend"] == "local" and payload["model"] == "gemma"
    assert len(payload["answer"]) > 5 and not payload["answer"].startswith("According to [")
    assert payload["sources"][0]["source"] == "lab-setup.md"
    assert any("11434" in quote["text"] and quote["source"] == "lab-setup.md" for quote in payload["evidence"])
    assert set(payload["grounding"]) == {"unsupported", "missing_sources", "weak_evidence"}
    assert payload["grounding"]["weak_evidence"] is False, "the port is stated plainly in the sources"


@pytest.mark.slow  # a command in its own process, loading the encoder
def test_ask_cli_never_prints_the_key(sample_index: Path, fault_server: FaultServer) -> None:
    env = {"OPENAI_API_KEY": LEAKED_KEY, "OPENAI_BASE_URL": fault_server.url("401")}
    result = run_cli("-m", "rag.ask", "--backend", "cloud", "--index", str(sample_index), QUESTION, env=env)
    assert "API key was rejected" in result.stdout
    assert LEAKED_KEY not in result.stdout + result.stderr


@pytest.mark.slow  # a command in its own process, loading the encoder
def test_ask_cli_routes_with_any_policy(sample_index: Path) -> None:
    with FaultServer(answer="Port 11434 [1].") as local, FaultServer() as cloud:
        env = {
            "LOCAL_BASE_URL": local.url("ok"), "LOCAL_MODEL": "m",
            "OPENAI_API_KEY": "sk-test", "OPENAI_BASE_URL": cloud.url("500"), "CLOUD_MODEL": "c",
        }  # fmt: skip
        result = run_cli("-m", "rag.ask", "--policy", "cloud-first", "--json", "--index", str(sample_index),
                         QUESTION, env=env)  # fmt: skip
        both = run_cli("-m", "rag.ask", "--policy", "both", "--json", "--index", str(sample_index), QUESTION,
                       env={**env, "OPENAI_BASE_URL": cloud.url("ok")})  # fmt: skip
    payload = json.loads(result.stdout)
    assert payload["backend"] == "local" and payload["answer"] == "Port 11434 [1]."
    assert "cloud model failed" in payload["route_note"] and [a["backend"] for a in payload["answers"]] == [
        "cloud",
        "local",
    ]
    assert [a["backend"] for a in json.loads(both.stdout)["answers"]] == ["local", "cloud"]


def test_a_follow_up_is_quoted_from_what_was_searched_and_scored_once(
    assistant: Assistant, local_llm, monkeypatch: pytest.MonkeyPatch
) -> None:
    """ "And during the summer holidays?" alone matches nothing about the greenhouse; with the question before it,
    the evidence that decided to answer is the evidence prompted and quoted, scored once."""
    scored: list[str] = []
    score = assistant.evidence._scored

    def counted(asked: str, hits: list[Hit], english: str) -> list[Candidate]:
        scored.append(asked)
        return score(asked, hits, english)

    monkeypatch.setattr(assistant.evidence, "_scored", counted)
    backend = replace(_local(local_llm), answer_from="evidence")
    history = [Turn("When are the plants in the greenhouse watered?", "At 6:00 and at 18:00 [1].")]
    question = "And during the summer holidays?"
    answer = asyncio.run(answer_with(assistant, backend, question, history, _options(max_tokens=16)))
    assert answer.error is None and not answer.no_context
    assert any("summer holidays a timer keeps the same schedule" in quote.text for quote in answer.evidence)
    assert scored == [f"{history[0].question} {question}"], "decided, prompted and quoted from one scoring"
