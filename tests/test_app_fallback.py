"""The app over its socket when the local model cannot start: every routing policy still answers or says why.

The embedded model is pointed at a GGUF file that does not exist, so it really fails to start; the
cloud is a recording server that can be told to fail.
"""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from rag.harness.app_process import ROOT, running_app
from rag.harness.socket_client import ChatClient
from tests.fault_server import FaultServer

QUESTION = "How much memory does a 7B model need with 4-bit quantization?"


@pytest.fixture(scope="module")
def dead_local_app(tmp_path_factory: pytest.TempPathFactory):
    with FaultServer(answer="About 4 GB [1].") as cloud:
        env = {
            "LOCAL_GGUF": str(tmp_path_factory.mktemp("no-model") / "missing.gguf"),
            "OLLAMA_BASE_URL": "http://127.0.0.1:9/v1",  # nothing there: discovery finds no other local server
            "OPENAI_API_KEY": "sk-test-fallback-key",
            "OPENAI_BASE_URL": cloud.url("ok"),
            "CLOUD_MODEL": "stand-in-cloud",
            "PRIVATE_PATHS": "finanse/*",  # a typo: protects nothing, and the welcome says so
        }
        with running_app(tmp_path_factory.mktemp("dead-local"), env) as url:
            yield url, cloud


async def _ask(url: str, policy: str) -> tuple[str, str]:
    client = ChatClient(url)
    await client.connect()
    try:
        welcome = client.welcome
        await client.change_settings({"backend": policy})
        return welcome, (await client.ask(QUESTION, timeout=120)).text
    finally:
        await client.close()


def test_local_first_with_a_dead_local_model_is_answered_by_the_cloud(dead_local_app) -> None:
    url, cloud = dead_local_app
    cloud.forced_mode = None
    welcome, answer = asyncio.run(_ask(url, "local-first"))
    assert "Local model:** not available" in welcome and "missing.gguf" in welcome
    assert "PRIVATE_PATHS entry 'finanse/*' matches no file" in welcome
    assert "About 4 GB [1]." in answer and "answering with the cloud model instead" in answer


def test_cloud_first_with_a_failing_cloud_and_a_dead_local_model_says_both_failed(dead_local_app) -> None:
    url, cloud = dead_local_app
    cloud.forced_mode = "500"
    try:
        _, answer = asyncio.run(_ask(url, "cloud-first"))
    finally:
        cloud.forced_mode = None
    assert "No answer came back" in answer and "not available" in answer, answer
    assert "The cloud model failed" in answer


def test_stopping_a_second_app_keeps_the_uploads_folder_of_the_first(dead_local_app, tmp_path: Path) -> None:
    files = ROOT / ".files"
    before = {path.name for path in files.glob("run-*")}
    assert before, "the running app keeps its uploads in a folder of its own"
    with running_app(tmp_path, {"LOCAL_BASE_URL": "http://127.0.0.1:9/v1"}):
        assert len({path.name for path in files.glob("run-*")}) == len(before) + 1
    assert {path.name for path in files.glob("run-*")} == before
