"""Local backend discovery: LOCAL_BASE_URL, Foundry Local (CLI, alias, load before streaming), Ollama."""

from __future__ import annotations

import asyncio
import os
import stat
from pathlib import Path

import pytest

from rag.chat.prompts import Prompt
from rag.config import LocalSettings
from rag.llm.discovery import discover_local, resolve_alias
from rag.llm.generation import GenerationParams, StreamOutcome, stream_answer
from rag.llm.registry import Backends
from tests.fault_server import FOUNDRY_MODELS, FaultServer


def _fake_foundry_cli(folder: Path, port: int, verb: str) -> None:
    """A `foundry` command that prints what Foundry Local prints: its status URL, on a new port each run."""
    script = folder / "foundry"
    script.write_text(
        "#!/bin/sh\n"
        f'if [ "$1" = "{verb}" ] && [ "$2" = "status" ]; then\n'
        f'  echo "🟢 Model management service is running on http://127.0.0.1:{port}/openai/status"\n'
        "else\n  echo 'unknown command' >&2; exit 1\nfi\n"
    )
    script.chmod(script.stat().st_mode | stat.S_IEXEC)


@pytest.fixture()
def path_with(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("PATH", f"{tmp_path}{os.pathsep}{os.environ['PATH']}")
    return tmp_path


def test_alias_resolution_prefers_cpu_variant() -> None:
    assert resolve_alias("phi-4-mini", FOUNDRY_MODELS) == "Phi-4-mini-instruct-generic-cpu:5"
    assert resolve_alias("qwen2.5-0.5b-instruct-generic-cpu:4", FOUNDRY_MODELS) == "qwen2.5-0.5b-instruct-generic-cpu:4"
    assert resolve_alias("qwen2.5-0.5b", FOUNDRY_MODELS) == "qwen2.5-0.5b-instruct-generic-cpu:4"
    assert resolve_alias("llama", FOUNDRY_MODELS) is None


@pytest.mark.parametrize(("verb", "load_api"), [("service", "new"), ("service", "old"), ("server", "new")])
def test_foundry_local_is_found_resolved_and_loaded_before_streaming(path_with: Path, verb: str, load_api: str) -> None:
    with FaultServer(answer="Loaded and answering.", load_api=load_api) as server:
        _fake_foundry_cli(path_with, server.port, verb)
        backend = discover_local(LocalSettings(foundry_model="phi-4-mini"))
        assert backend is not None and backend.label == "Foundry Local"
        assert backend.base_url == f"http://127.0.0.1:{server.port}/v1"
        assert backend.model == "Phi-4-mini-instruct-generic-cpu:5"
        outcome = StreamOutcome()

        async def collect() -> str:
            return "".join(
                [
                    piece
                    async for piece in stream_answer(
                        backend,
                        Prompt("chat", messages=[{"role": "user", "content": "hi"}]),
                        GenerationParams(max_tokens=8),
                        outcome,
                    )
                ]
            )

        assert asyncio.run(collect()) == "Loaded and answering."
        load = next(i for i, r in enumerate(server.requests) if "load/" in r and r.startswith("GET"))
        chat = next(i for i, r in enumerate(server.requests) if r.endswith("/chat/completions"))
        assert load < chat, server.requests


def test_local_base_url_wins_and_ollama_is_next(path_with: Path) -> None:
    with FaultServer() as server:
        chosen = discover_local(LocalSettings(base_url=server.url("ok"), model="my-model"))
        assert chosen is not None and chosen.base_url == server.url("ok") and chosen.model == "my-model"
        whole = Backends(LocalSettings(base_url=server.url("ok"), model="my-model")).local()
        assert whole.passage_chars == 0, "a server of the user's own gets whole passages"
        ollama = discover_local(LocalSettings(ollama_base_url=server.url("ok")))
        assert ollama is not None and ollama.label == "Ollama" and ollama.model == "fault-model"


def test_nothing_found_means_embedded() -> None:
    assert discover_local(LocalSettings(ollama_base_url="http://127.0.0.1:9/v1")) is None
