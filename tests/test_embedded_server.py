"""The embedded llama.cpp server stays on its own loopback port whatever the app's environment says."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from pathlib import Path

import requests

from rag.config import LocalSettings
from rag.llm.embedded_server import EmbeddedServer, free_port
from rag.llm.registry import EMBEDDED_PASSAGE_CHARS, Backends
from rag.llm.shared_server import watch
from tests.helpers import SAMPLE_DATA, run_cli


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


def test_terminal_questions_share_one_embedded_model_server(sample_index: Path, tmp_path: Path) -> None:
    """Each `python -m rag.ask` used to start (and load) its own llama.cpp server; now the first one leaves its
    server running for the next, which answers through it."""
    env = {"TMPDIR": str(tmp_path), "INDEX_DIR": str(sample_index), "DATA_DIR": str(SAMPLE_DATA)}
    state = tmp_path / f"rag-embedded-server-{os.getuid()}.json"
    try:
        first = run_cli("-m", "rag.ask", "--json", "--max-tokens", "8", "When are office hours?", env=env)
        assert first.returncode == 0, first.stderr
        server = json.loads(state.read_text())
        assert os.stat(state).st_mode & 0o777 == 0o600 and server["base_url"].startswith("http://127.0.0.1:")
        second = run_cli("-m", "rag.ask", "--json", "--max-tokens", "8", "How much do the labs count for?", env=env)
        assert second.returncode == 0, second.stderr
        assert json.loads(second.stdout)["sources"], second.stdout
        assert json.loads(state.read_text())["pid"] == server["pid"], "the second question used the same server"
    finally:
        if state.exists():
            os.kill(json.loads(state.read_text())["pid"], signal.SIGTERM)


def test_an_unused_command_server_is_stopped(tmp_path: Path) -> None:
    """The watchdog stops a command's server once nothing has touched its state file for the idle time."""
    stand_in = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(120)"])
    state = tmp_path / "state.json"
    state.write_text(
        json.dumps({"base_url": "http://127.0.0.1:9/v1", "model": "m", "context_tokens": 1, "pid": stand_in.pid})
    )
    watch(stand_in.pid, state, idle=0.2)
    assert stand_in.wait(timeout=30) == -signal.SIGTERM and not state.exists()
