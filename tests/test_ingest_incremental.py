"""Incremental ingestion: add, update, delete, unchanged files left alone, rebuilds when settings change."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from rag.config import Settings
from rag.index.embedding import Embedder
from rag.index.retrieval import Retriever
from rag.index.store import load_snapshot
from rag.ingest.pipeline import ingest
from tests.documents import write


def _settings(tmp_path: Path, **extra: object) -> Settings:
    return Settings(data_dir=tmp_path / "data", index_dir=tmp_path / "index", **extra)  # type: ignore[arg-type]


def _sources(settings: Settings) -> set[str]:
    return {c.source for c in load_snapshot(settings.index_dir).chunks.values()}


@pytest.fixture()
def corpus(tmp_path: Path) -> Settings:
    data = tmp_path / "data"
    write(data, "apples.md", "# Apples\n\nApples grow on trees in orchards and ripen in autumn.\n")
    write(data, "rockets.txt", "Rockets carry satellites into orbit using liquid fuel engines.\n")
    return _settings(tmp_path)


def test_add_update_delete_cycle(corpus: Settings, embedder: Embedder) -> None:
    first = ingest(corpus, embedder=embedder)
    assert sorted(first.added) == ["apples.md", "rockets.txt"] and first.written
    assert _sources(corpus) == {"apples.md", "rockets.txt"}

    write(corpus.data_dir, "sub/whales.md", "Blue whales are the largest animals that ever lived.\n")
    (corpus.data_dir / "rockets.txt").write_text("Rockets now land back on barges after launch.\n")
    (corpus.data_dir / "apples.md").unlink()
    second = ingest(corpus, embedder=embedder)
    assert second.added == ["sub/whales.md"]
    assert second.updated == ["rockets.txt"]
    assert second.removed == ["apples.md"]
    assert second.embedded == 2

    retriever = Retriever(corpus, embedder)
    assert _sources(corpus) == {"rockets.txt", "sub/whales.md"}
    assert retriever.search("largest animal", k=1)[0].source == "sub/whales.md"
    texts = [c.text for c in retriever.snapshot.chunks.values()]
    assert not any("liquid fuel" in t for t in texts), "chunks of the old version must be gone"
    snapshot = load_snapshot(corpus.index_dir)
    assert len(snapshot.dense) == len(snapshot.chunks)


def test_unchanged_files_are_not_read_again(corpus: Settings, embedder: Embedder) -> None:
    ingest(corpus, embedder=embedder)
    path = corpus.data_dir / "rockets.txt"
    stat = path.stat()
    # Same size and mtime but other bytes: only a run that re-reads the file could notice.
    path.write_text("Rockets XXXXX satellites into orbit using liquid fuel engines.\n")
    os.utime(path, ns=(stat.st_atime_ns, stat.st_mtime_ns))
    again = ingest(corpus, embedder=embedder)
    assert sorted(again.unchanged) == ["apples.md", "rockets.txt"]
    assert not again.written and again.embedded == 0
    assert any("carry satellites" in c.text for c in load_snapshot(corpus.index_dir).chunks.values())


def test_touched_but_identical_file_is_not_embedded_again(corpus: Settings, embedder: Embedder) -> None:
    ingest(corpus, embedder=embedder)
    os.utime(corpus.data_dir / "apples.md", None)
    again = ingest(corpus, embedder=embedder)
    assert "apples.md" in again.unchanged and again.embedded == 0


def test_edit_reuses_vectors_of_unchanged_passages(corpus: Settings, embedder: Embedder) -> None:
    path = corpus.data_dir / "apples.md"
    path.write_text("# Apples\n\nApples grow on trees.\n\n## Pears\n\nPears are softer than apples.\n")
    ingest(corpus, embedder=embedder)
    path.write_text("# Apples\n\nApples grow on trees.\n\n## Pears\n\nPears ripen after picking.\n")
    report = ingest(corpus, embedder=embedder)
    assert report.updated == ["apples.md"] and report.embedded == 1


def test_rebuild_when_chunking_changes(corpus: Settings, embedder: Embedder, tmp_path: Path) -> None:
    ingest(corpus, embedder=embedder)
    changed = _settings(tmp_path, chunk_tokens=100)
    report = ingest(changed, embedder=embedder)
    assert report.rebuild_reason and "chunking settings changed" in report.rebuild_reason
    assert sorted(report.added) == ["apples.md", "rockets.txt"]
    assert ingest(changed, rebuild=True, embedder=embedder).rebuild_reason == "--rebuild was given"


def test_rebuild_when_embedding_model_changes(corpus: Settings, embedder: Embedder) -> None:
    from rag.config import MINILM_MODEL
    from rag.index.embedding import resolve_model

    ingest(corpus, embedder=Embedder(MINILM_MODEL))
    same_model_by_path = Embedder(resolve_model(MINILM_MODEL)[0])
    report = ingest(corpus, embedder=same_model_by_path)
    assert report.rebuild_reason and "embedding model changed" in report.rebuild_reason
    assert load_snapshot(corpus.index_dir).manifest.embed_model == same_model_by_path.name


def test_empty_data_folder_gives_a_loadable_empty_index(tmp_path: Path, embedder: Embedder) -> None:
    settings = _settings(tmp_path)
    settings.data_dir.mkdir()
    ingest(settings, embedder=embedder)
    assert Retriever(settings, embedder).search("anything") == []
