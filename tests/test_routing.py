"""Routing policies, fallbacks and retries, with a real llama.cpp server and the fault-injecting one."""

from __future__ import annotations

import asyncio
import time

from rag.chat.pipeline import Assistant, ChatOptions, answer_with
from rag.llm.backends import Backend, BackendKey
from rag.llm.embedded_server import free_port
from rag.llm.generation import GenerationParams
from tests.fault_server import FaultServer
from tests.helpers import ask_routed, llama_backend

QUESTION = "Which port does Ollama listen on?"


def _options(**extra: object) -> ChatOptions:
    return ChatOptions(params=GenerationParams(max_tokens=12, temperature=0.1), **extra)  # type: ignore[arg-type]


def _fault(server: FaultServer, mode: str, key: BackendKey) -> Backend:
    return Backend(key=key, label=f"fault {mode}", base_url=server.url(mode), model="m", is_local=key == "local")


def _down(key: BackendKey) -> Backend:
    return Backend(
        key=key, label="down", base_url=f"http://127.0.0.1:{free_port()}/v1", model="m", is_local=key == "local"
    )


def test_rate_limits_and_overload_are_retried_after_the_server_says(
    assistant: Assistant, fault_server: FaultServer
) -> None:
    started = time.perf_counter()
    answer = asyncio.run(answer_with(assistant, _fault(fault_server, "flaky", "cloud"), QUESTION, [], _options()))
    assert answer.error is None and answer.text
    assert sum(r.startswith("POST") for r in fault_server.requests) == 3
    assert time.perf_counter() - started >= 2.0, "each Retry-After: 1 was waited for"


def test_local_first_falls_back_to_the_cloud(assistant: Assistant, fault_server: FaultServer) -> None:
    backends = {"local": _down("local"), "cloud": _fault(fault_server, "ok", "cloud")}
    answer = ask_routed(assistant, "local-first", backends, QUESTION, _options()).answers[-1]
    assert answer.error is None and answer.backend.key == "cloud"
    assert "local model failed (cannot reach the server" in str(answer.route_note) and "cloud model instead" in str(
        answer.route_note
    )


def test_local_first_latency_budget(assistant: Assistant, fault_server: FaultServer) -> None:
    backends = {"local": _fault(fault_server, "hang", "local"), "cloud": _fault(fault_server, "ok", "cloud")}
    options = _options(latency_budget=1.0)
    answer = ask_routed(assistant, "local-first", backends, QUESTION, options).answers[-1]
    assert answer.backend.key == "cloud" and answer.error is None
    assert "no first token within the 1 s latency budget" in str(answer.route_note)


def test_cloud_first_falls_back_to_local(assistant: Assistant, fault_server: FaultServer, local_llm) -> None:
    local = llama_backend(local_llm)
    backends = {"local": local, "cloud": _fault(fault_server, "500", "cloud")}
    answer = ask_routed(assistant, "cloud-first", backends, QUESTION, _options(latency_budget=0.001)).answers[-1]
    assert answer.backend.key == "local" and answer.error is None and answer.text
    assert "cloud model failed" in str(answer.route_note) and "status 500" in str(answer.route_note)


def test_policy_without_fallback_reports_the_failure(assistant: Assistant) -> None:
    backends = {"local": _down("local"), "cloud": _down("cloud")}
    (answer,) = ask_routed(assistant, "local", backends, QUESTION, _options()).answers
    assert answer.error is not None and str(answer.route_note) == "answered by the local model (policy: local only)"
