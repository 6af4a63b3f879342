"""`python -m ingest --watch` and the app's watcher pick up new, changed and deleted files within seconds,
also when they were added while another ingestion held the index."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from rag.chat.service import ChatService
from rag.config import Settings
from rag.index.embedding import Embedder
from rag.index.records import IndexMissing
from rag.index.store import ingest_lock, load_snapshot
from rag.ingest.worker import IngestCrashed, IngestWorker
from tests.documents import write
from tests.helpers import ROOT

LATE = [f"late-{n}.md" for n in range(5)]
"""Files added while another ingestion holds the index lock."""


def _sources(index: Path) -> set[str]:
    try:
        return {c.source for c in load_snapshot(index).chunks.values()}
    except (IndexMissing, FileNotFoundError):
        return set()


def _sources_when(index: Path, predicate, timeout: float = 90) -> set[str]:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate(sources := _sources(index)):
            return sources
        time.sleep(0.25)
    raise AssertionError(f"index never reached the expected state; last seen: {_sources(index)}")


async def _until(condition: Callable[[], bool], timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        await asyncio.sleep(0.25)


def _add_late_files(data: Path) -> None:
    """Add files while the lock is held, and give a watcher time to notice them (and, before the fix, give up)."""
    for name in LATE:
        write(data, name, f"The file {name} arrived while another ingestion was running.\n")
    time.sleep(3)


@pytest.mark.slow  # a watcher process and its settle times
def test_watch_reindexes_on_add_change_and_delete(tmp_path: Path) -> None:
    data, index = tmp_path / "data", tmp_path / "index"
    write(data, "first.md", "The first file talks about comets.\n")
    process = subprocess.Popen(
        [sys.executable, "-m", "ingest", "--watch", "--data", str(data), "--index", str(index)],
        cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True,
    )  # fmt: skip
    try:
        for line in process.stdout:  # type: ignore[union-attr]
            if line.startswith("Watching"):
                break
        assert _sources_when(index, lambda s: s == {"first.md"})
        write(data, "new/second.txt", "A second file arrives, about asteroids.\n")
        _sources_when(index, lambda s: "new/second.txt" in s)
        (data / "first.md").unlink()
        _sources_when(index, lambda s: s == {"new/second.txt"})
        write(data, ".hidden-swap.txt", "editor swap files are ignored\n")
        time.sleep(3)
        assert {c.source for c in load_snapshot(index).chunks.values()} == {"new/second.txt"}
    finally:
        process.terminate()
        process.wait(timeout=30)


@pytest.fixture()
def service(tmp_path: Path, embedder: Embedder) -> ChatService:
    write(tmp_path / "data", "first.md", "The first file talks about comets.\n")
    chat = ChatService(Settings(data_dir=tmp_path / "data", index_dir=tmp_path / "index"))
    chat.embedder = embedder  # the session's loaded model
    return chat


def test_app_watcher_indexes_files_added_while_the_index_was_locked(
    service: ChatService, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="rag.chat.service")
    index = service.settings.index_dir

    async def scenario() -> None:
        with ingest_lock(index):  # what a `python -m ingest` running beside the app holds
            watcher = asyncio.create_task(service.watch_data())
            await _until(lambda: "another ingestion" in caplog.text)
            await asyncio.to_thread(_add_late_files, service.settings.data_dir)
        try:
            await _until(lambda: {"first.md", *LATE} <= _sources(index))
        finally:
            watcher.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await watcher

    asyncio.run(scenario())


def test_app_watcher_stops_while_waiting_for_the_lock(service: ChatService, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO, logger="rag.chat.service")

    async def scenario() -> None:
        with ingest_lock(service.settings.index_dir):
            watcher = asyncio.create_task(service.watch_data())
            await _until(lambda: "another ingestion" in caplog.text)
            watcher.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await asyncio.wait_for(watcher, timeout=30)
        assert watcher.cancelled()

    asyncio.run(scenario())


@pytest.mark.slow  # a command in its own process, loading the encoder
def test_watch_cli_indexes_files_added_while_the_index_was_locked(tmp_path: Path) -> None:
    data, index, errors = tmp_path / "data", tmp_path / "index", tmp_path / "stderr.txt"
    write(data, "first.md", "The first file talks about comets.\n")
    command = [sys.executable, "-m", "ingest", "--watch", "--data", str(data), "--index", str(index)]
    process = None
    try:
        with ingest_lock(index), open(errors, "w") as stderr:
            process = subprocess.Popen(command, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=stderr)
            deadline = time.monotonic() + 120
            while "another ingestion" not in errors.read_text():
                assert time.monotonic() < deadline and process.poll() is None, errors.read_text()
                time.sleep(0.25)
            _add_late_files(data)
        _sources_when(index, lambda s: {"first.md", *LATE} <= s)
    finally:
        if process is not None:
            process.terminate()
            process.wait(timeout=30)


class _DieMidRun:
    """Ends the ingestion process while it embeds, as a native parser crashing on a file or the OOM killer would."""

    def __call__(self, phase: str, done: int, total: int) -> None:
        os._exit(9)


def test_ingestion_runs_in_its_own_process_and_a_crash_there_loses_nothing(tmp_path: Path) -> None:
    settings = Settings(data_dir=tmp_path / "data", index_dir=tmp_path / "index")
    write(settings.data_dir, "comets.md", "Comets are icy bodies that grow tails near the sun.\n")
    worker = IngestWorker()
    try:
        with pytest.raises(IngestCrashed, match="the index is unchanged"):
            worker.run(settings, _DieMidRun())
        assert not _sources(settings.index_dir), "nothing half-written"
        report = worker.run(settings)  # a new process takes over
        assert report.added == ["comets.md"] and _sources(settings.index_dir) == {"comets.md"}
        write(settings.data_dir, "moons.md", "Moons circle planets.\n")
        assert worker.run(settings).added == ["moons.md"]
    finally:
        worker.close()
