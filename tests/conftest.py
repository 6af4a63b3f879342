"""Shared fixtures: one real embedding model for the session, and an index of the shipped sample documents."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
from pathlib import Path

import pytest

os.environ.setdefault("HF_HUB_OFFLINE", "1")

from rag.chat.pipeline import Assistant, ChatOptions, Conversation, Exchange
from rag.chat.routing import POLICIES
from rag.config import ENV_FILE, VARIABLES, Settings
from rag.index.embedding import Embedder
from rag.index.retrieval import Retriever
from rag.ingest.pipeline import ingest
from rag.llm.backends import Backend

ROOT = Path(__file__).resolve().parent.parent
SAMPLE_DATA = ROOT / "data"


SLOW_FIXTURES = {"local_llm", "cloud_llm"}
SLOW_MODULES = ("test_browser", "test_app_", "test_embedded_server")


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """`slow`: the test needs a model server, the running app or a browser; `make test-fast` leaves those out."""
    for item in items:
        module = item.path.stem
        if SLOW_FIXTURES & set(getattr(item, "fixturenames", ())) or module.startswith(SLOW_MODULES):
            item.add_marker(pytest.mark.slow)


@pytest.fixture(autouse=True)
def isolated_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    """No variable of the developer's shell or `.env` file reaches a test, or a process a test starts."""
    for name in VARIABLES:
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv(ENV_FILE, "")


@pytest.fixture(scope="session")
def embedder() -> Embedder:
    return Embedder()


@pytest.fixture(scope="session")
def sample_index(tmp_path_factory: pytest.TempPathFactory, embedder: Embedder) -> Path:
    index = tmp_path_factory.mktemp("sample-index")
    report = ingest(Settings(data_dir=SAMPLE_DATA, index_dir=index), embedder=embedder)
    assert not report.skipped, report.skipped
    return index


@pytest.fixture(scope="session")
def sample_retriever(sample_index: Path, embedder: Embedder) -> Retriever:
    return Retriever(Settings(data_dir=SAMPLE_DATA, index_dir=sample_index), embedder)


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


def _llama_server():
    from rag.llm.embedded_server import EmbeddedServer

    server = EmbeddedServer()
    server.start()
    yield server
    server.stop()


@pytest.fixture(scope="session")
def local_llm():
    """A real llama.cpp server with the bundled Gemma 3 270M, on a free port."""
    yield from _llama_server()


@pytest.fixture(scope="session")
def cloud_llm():
    """A second real llama.cpp server standing in for a cloud API."""
    yield from _llama_server()


@pytest.fixture()
def fault_server():
    from tests.fault_server import FaultServer

    with FaultServer() as server:
        yield server


@pytest.fixture(scope="session")
def postgres():
    """A throwaway PostgreSQL with pgvector (rag/harness/postgres.py) for every test that needs one, started
    once; tests that write create a database of their own. Skipped with the reason when it cannot run."""
    require_postgres()
    from rag.harness.postgres import running_postgres

    with running_postgres() as server:
        yield server


def require_postgres() -> None:
    """Skip, with the reason, where the PostgreSQL packages or their server binaries are missing."""
    pytest.importorskip("psycopg", reason="needs `pip install -r requirements-postgres.txt`")
    pytest.importorskip("pgvector", reason="needs `pip install -r requirements-postgres.txt`")
    from rag.harness.postgres import PostgresUnavailable, find_installation

    try:
        find_installation()
    except PostgresUnavailable as exc:
        pytest.skip(str(exc))
