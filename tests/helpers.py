"""Helpers the tests import: paths, running a command as a user would, and asking through the app's pipeline.

Fixtures live in conftest.py; nothing here is a fixture, so a test module imports these, never conftest.
"""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
from pathlib import Path

import pytest

from rag.chat.pipeline import Assistant, ChatOptions, Conversation, Exchange
from rag.chat.routing import POLICIES
from rag.llm.backends import Backend
from tests.documents import write
from tests.fault_server import FaultServer

ROOT = Path(__file__).resolve().parent.parent
SAMPLE_DATA = ROOT / "data"


def ask_routed(
    assistant: Assistant,
    policy: str,
    backends: dict[str, Backend],
    question: str,
    options: ChatOptions,
    conversation: Conversation | None = None,
) -> Exchange:
    """One question through the same pipeline the app uses, with these backends."""
    chat = conversation if conversation is not None else Conversation()
    return asyncio.run(assistant.ask(question, chat, options, POLICIES[policy], backends.__getitem__))


def llama_backend(server) -> Backend:
    """The local backend for a llama.cpp test server, with the completion prompt the bundled model needs."""
    return server.backend("llama.cpp")


def run_cli(
    *args: str, stdin: str | None = None, timeout: float = 300, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    """Run `python -m ...` from the project root, as a user would."""
    return subprocess.run(
        [sys.executable, *args],
        cwd=ROOT,
        input=stdin,
        capture_output=True,
        text=True,
        timeout=timeout,
        env={**os.environ, **(env or {})},
    )


def require_postgres() -> None:
    """Skip, with the reason, where the PostgreSQL packages or their server binaries are missing."""
    pytest.importorskip("psycopg", reason="needs `pip install -r requirements-postgres.txt`")
    pytest.importorskip("pgvector", reason="needs `pip install -r requirements-postgres.txt`")
    from rag.harness.postgres import PostgresUnavailable, find_installation

    try:
        find_installation()
    except PostgresUnavailable as exc:
        pytest.skip(str(exc))


MERGER = "Project Nightingale merges with Halvorsen Ltd on 14 March"


def board_minutes_app(workdir: Path, local: FaultServer, cloud: FaultServer, api_key: str) -> dict[str, str]:
    """A data folder with local-only board minutes and a shareable library page, and the app's environment for a
    local model that quotes the minutes and a recording cloud: what a leak to the cloud would carry is known."""
    data = workdir / "data"
    write(data, "private/board.md", f"# Board minutes\n\nConfidential: {MERGER}. Project Nightingale is secret.\n")
    write(data, "library.md", "# Library hours\n\nThe library opens at 10:00 on Saturdays and closes at 14:00.\n")
    return {
        "LOCAL_BASE_URL": local.url("ok"),
        "LOCAL_MODEL": "quoting-model",
        "OPENAI_API_KEY": "sk-test-cloud-key",
        "OPENAI_BASE_URL": cloud.url("ok"),
        "CLOUD_MODEL": "cloud-model",
        "RAG_API_KEY": api_key,
    }
