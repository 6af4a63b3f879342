"""Shared fixtures: one real embedding model for the session, and an index of the shipped sample documents."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

os.environ.setdefault("HF_HUB_OFFLINE", "1")

from rag.chat.pipeline import Assistant
from rag.config import ENV_FILE, VARIABLES, Settings
from rag.index.embedding import Embedder
from rag.index.retrieval import Retriever
from rag.ingest.pipeline import ingest
from tests.documents import write
from tests.helpers import SAMPLE_DATA, require_postgres

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


@pytest.fixture(scope="module")
def assistant(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory, embedder: Embedder
) -> Assistant:
    """The answer pipeline over the shipped samples, or over the module's own `CORPUS` ({path: text}, indexed
    once per module), with the module's `PRICES` and `PRIVACY` rules where it sets them."""
    corpus: dict[str, str] | None = getattr(request.module, "CORPUS", None)
    if corpus is None:
        retriever = request.getfixturevalue("sample_retriever")
    else:
        data = tmp_path_factory.mktemp("corpus") / "data"
        for path, text in corpus.items():
            write(data, path, text)
        settings = Settings(data_dir=data, index_dir=data.parent / "index")
        ingest(settings, embedder=embedder)
        retriever = Retriever(settings, embedder)
    prices, privacy = getattr(request.module, "PRICES", None), getattr(request.module, "PRIVACY", None)
    return Assistant(retriever, embedder, prices, privacy=privacy)


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
