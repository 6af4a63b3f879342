"""The embedded llama.cpp server stays on its own loopback port whatever the app's environment says."""

from __future__ import annotations

import requests

from rag.config import LocalSettings
from rag.llm.embedded_server import EmbeddedServer, free_port
from rag.llm.registry import EMBEDDED_PASSAGE_CHARS, Backends


def test_app_host_and_port_do_not_move_the_model_server(monkeypatch) -> None:
    app_port = free_port()
    monkeypatch.setenv("HOST", "0.0.0.0")  # as `make run HOST=0.0.0.0 PORT=...` exports them for the app
    monkeypatch.setenv("PORT", str(app_port))
    server = EmbeddedServer()
    try:
        server.start()
        assert server.port != app_port and server.base_url.startswith("http://127.0.0.1:")
        assert requests.get(f"{server.base_url}/models", timeout=10).json()["data"][0]["id"] == server.source.name
        try:
            requests.get(f"http://127.0.0.1:{app_port}/v1/models", timeout=2)
            took_app_port = True
        except requests.ConnectionError:
            took_app_port = False
        assert not took_app_port, "the model server must leave the app's port free"
    finally:
        server.stop()


def test_the_embedded_model_gets_focused_passages_unless_told_otherwise() -> None:
    """It reads its prompt slowly, so each source is cut to its best sentences; LOCAL_PASSAGE_CHARS decides."""
    for chars, expected in ((None, EMBEDDED_PASSAGE_CHARS), (0, 0), (900, 900)):
        backends = Backends(LocalSettings(ollama_base_url="http://127.0.0.1:9/v1", passage_chars=chars))
        try:
            assert backends.local().passage_chars == expected
        finally:
            backends.close()
