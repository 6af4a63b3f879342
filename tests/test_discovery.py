"""Local backend discovery: LOCAL_BASE_URL, Foundry Local (CLI, alias, load before streaming), Ollama."""

from __future__ import annotations

import asyncio
import functools
import http.server
import os
import socket
import stat
import threading
from pathlib import Path

import pytest

from rag.config import LocalSettings
from rag.llm.discovery import discover_local, resolve_alias
from rag.llm.embedded_server import EmbeddedServer
from rag.llm.generation import GenerationParams, StreamOutcome, stream_answer
from rag.llm.registry import Backends
from rag.llm.requests import Prompt
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


def test_lm_studio_llama_server_and_vllm_are_found_on_their_ports_in_order(tmp_path: Path) -> None:
    dead = "http://127.0.0.1:9/v1"
    page = tmp_path / "site" / "v1"
    page.mkdir(parents=True)
    (page / "models").write_text("<!doctype html><title>a web app, not a model server</title>")
    handler = functools.partial(http.server.SimpleHTTPRequestHandler, directory=str(tmp_path / "site"))
    web = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=web.serve_forever, daemon=True).start()
    web_app = f"http://127.0.0.1:{web.server_address[1]}/v1"
    try:
        with FaultServer() as server:
            found = discover_local(
                LocalSettings(
                    ollama_base_url=dead,
                    well_known=(("LM Studio", dead), ("llama.cpp server", web_app), ("vLLM", server.url("ok"))),
                )
            )
            assert found is not None and (found.label, found.base_url) == ("vLLM", server.url("ok"))
            assert found.model == "fault-model", "the first model it serves"
    finally:
        web.shutdown()
    assert discover_local(LocalSettings(ollama_base_url=dead, well_known=(("LM Studio", web_app),))) is None


@pytest.mark.slow  # starts a real llama.cpp server
def test_a_real_llama_cpp_server_on_lm_studios_port_is_found() -> None:
    if not _port_free(1234):
        pytest.skip("port 1234 is taken on this machine")
    server = EmbeddedServer(port=1234)
    try:
        server.start()
        found = discover_local(LocalSettings(ollama_base_url="http://127.0.0.1:9/v1"))
        assert found is not None and found.label == "LM Studio" and found.base_url == "http://localhost:1234/v1"
        assert found.model == server.source.name
    finally:
        server.stop()


def _port_free(port: int) -> bool:
    with socket.socket() as probe:
        return probe.connect_ex(("127.0.0.1", port)) != 0
