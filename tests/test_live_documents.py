"""Uploads are stored safely, and files added to the data folder are answerable without a restart."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path

import pytest

from rag.chat.pipeline import ChatOptions
from rag.chat.service import ChatService
from rag.config import Settings
from rag.llm.registry import Backends
from rag.web.uploads import UploadRejected, safe_name, save_upload
from tests.documents import write


@pytest.mark.parametrize(
    ("original", "expected"),
    [
        ("../../etc/passwd.md", "passwd.md"),
        ("..\\..\\windows\\win.ini.txt", "win.ini.txt"),
        (".hidden.md", "hidden.md"),
        ("Отчёт за 2024 г.PDF", "Отчёт за 2024 г.pdf"),
        ("a<b>|c?.txt", "a_b_c.txt"),
        ("...", "upload"),
    ],
)
def test_safe_names(original: str, expected: str) -> None:
    assert safe_name(original) == expected


def test_uploads_never_overwrite_a_different_file(tmp_path: Path) -> None:
    data = tmp_path / "data"
    first = write(tmp_path, "in/notes.md", "first version")
    path, new = save_upload(first, "notes.md", data, 25)
    assert new and path == data / "uploads" / "notes.md"
    again, new = save_upload(first, "../notes.md", data, 25)
    assert again == path and not new
    other = write(tmp_path, "in/other.md", "a different file with the same name")
    renamed, new = save_upload(other, "notes.md", data, 25)
    assert new and renamed.name == "notes (2).md" and path.read_text() == "first version"
    with pytest.raises(UploadRejected, match="cannot be indexed"):
        save_upload(first, "tool.exe", data, 25)
    with pytest.raises(UploadRejected, match="larger than"):
        save_upload(first, "big.md", data, 0.000001)


def test_files_dropped_into_data_are_answerable_without_restart(tmp_path: Path, embedder) -> None:
    settings = Settings(data_dir=tmp_path / "data", index_dir=tmp_path / "index")
    write(settings.data_dir, "start.md", "The library opens at nine.\n")
    service = ChatService(settings, Backends())
    service.embedder = embedder
    options = ChatOptions(passages=3)

    async def scenario() -> list[str]:
        watcher = asyncio.create_task(service.watch_data())
        await asyncio.sleep(0.5)
        assert service.assistant.retrieve("When does the library open?", options).hits[0].source == "start.md"
        write(settings.data_dir, "new/zebras.md", "Zebras have black and white stripes that confuse flies.\n")
        deadline = time.monotonic() + 60
        sources: list[str] = []
        while time.monotonic() < deadline:
            sources = [h.source for h in service.assistant.retrieve("Why do zebras have stripes?", options).hits]
            if sources and sources[0] == "new/zebras.md":
                break
            await asyncio.sleep(0.5)
        watcher.cancel()
        return sources

    assert asyncio.run(scenario())[0] == "new/zebras.md"


def test_ingesting_while_people_chat(tmp_path: Path, embedder) -> None:
    """Readers refresh and search while a writer keeps switching generations: no error, no lost hit."""
    import threading

    from rag.index.retrieval import Retriever
    from rag.ingest.pipeline import ingest

    settings = Settings(data_dir=tmp_path / "data", index_dir=tmp_path / "index")
    write(settings.data_dir, "base.md", "The base document talks about rivers and bridges.\n")
    ingest(settings, embedder=embedder)
    retriever = Retriever(settings, embedder)
    errors: list[BaseException] = []
    searches = 0
    writing = threading.Event()
    writing.set()

    def writer() -> None:
        try:
            for n in range(6):
                write(settings.data_dir, f"added-{n}.md", f"Added document {n} is about volcano number {n}.\n")
                ingest(settings, embedder=embedder)
        except BaseException as exc:
            errors.append(exc)
        finally:
            writing.clear()

    def reader() -> None:
        nonlocal searches
        while writing.is_set():
            try:
                retriever.refresh()
                hits = retriever.search("rivers and bridges", k=3)
                assert hits and hits[0].source == "base.md"
                searches += 1
            except BaseException as exc:
                errors.append(exc)
                return

    threads = [threading.Thread(target=writer), threading.Thread(target=reader), threading.Thread(target=reader)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=300)
    assert errors == [] and searches > 10
    retriever.refresh()
    assert retriever.search("volcano number 5", k=1)[0].source == "added-5.md"
