"""One store-level suite, run on the file store and on PostgreSQL with pgvector (`INDEX_URL`).

The PostgreSQL cases start one throwaway server for the module (rag/harness/postgres.py) and give each
test a database of its own; they are skipped, with the reason, when requirements-postgres.txt is not
installed. Everything else is real: the encoder, the ingestion pipeline, FAISS, bm25s and pgvector.
"""

from __future__ import annotations

import threading
import uuid
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest

from bench.pg_smoke import unit_rows
from bench.store_compare import synthetic_update
from rag.config import MINILM_MODEL, Settings
from rag.eval import load_questions, score
from rag.harness.postgres import (
    PostgresServer,
    free_port,
)
from rag.index.bm25 import Bm25Index
from rag.index.embedding import Embedder
from rag.index.records import IndexLocked, IndexMissing, IndexUnavailable
from rag.index.retrieval import MODES, Retriever
from rag.index.store_choice import open_store
from rag.index.stores import IndexChanged, IndexStore
from rag.ingest.pipeline import ingest
from tests.documents import write
from tests.helpers import ROOT, SAMPLE_DATA, run_cli

STORES = ("file", "postgres")
QUESTIONS = ROOT / "eval" / "questions.jsonl"


def store_settings(kind: str, folder: Path, request: pytest.FixtureRequest) -> Settings:
    server: PostgresServer | None = request.getfixturevalue("postgres") if kind == "postgres" else None
    url = server.create_database(f"t_{uuid.uuid4().hex[:12]}") if server else ""
    return Settings(data_dir=folder / "data", index_dir=folder / "index", index_url=url)


@pytest.fixture(params=STORES)
def settings(request: pytest.FixtureRequest, tmp_path: Path) -> Settings:
    """A small corpus in a data folder, and an empty store of each kind."""
    chosen = store_settings(request.param, tmp_path, request)
    write(chosen.data_dir, "apples.md", "# Apples\n\nApples grow on trees in orchards and ripen in autumn.\n")
    write(chosen.data_dir, "rockets.txt", "Rockets carry satellites into orbit using liquid fuel engines.\n")
    write(chosen.data_dir, "ru/погода.txt", "Метеостанция измеряет температуру воздуха и скорость ветра.\n")
    return chosen


@pytest.fixture()
def store(settings: Settings) -> Iterator[IndexStore]:
    opened = open_store(settings)
    yield opened
    opened.close()


def sources(store: IndexStore) -> set[str]:
    return {chunk.source for chunk in store.open().all_chunks()}


def test_ingest_then_search(settings: Settings, store: IndexStore, embedder: Embedder) -> None:
    with pytest.raises(IndexMissing):
        store.open()
    report = ingest(settings, embedder=embedder)
    assert sorted(report.added) == ["apples.md", "rockets.txt", "ru/погода.txt"] and report.written
    reader = store.open()
    assert reader.generation == report.generation == store.current_generation()
    assert len(reader.chunks) == report.chunks == 3
    assert sorted(reader.manifest.files) == sorted(report.added)
    retriever = Retriever(settings, embedder)
    assert retriever.search("what carries satellites to orbit", k=1)[0].source == "rockets.txt"
    assert retriever.search("скорость ветра", k=1, mode="bm25")[0].source == "ru/погода.txt"
    assert retriever.search("fruit trees in autumn", k=1, mode="dense")[0].source == "apples.md"


def test_incremental_reingest_embeds_only_what_changed(
    settings: Settings, store: IndexStore, embedder: Embedder
) -> None:
    ingest(settings, embedder=embedder)
    before = {c.source: c for c in store.open().all_chunks()}
    (settings.data_dir / "rockets.txt").write_text("Rockets now land back on barges after launch.\n")
    write(settings.data_dir, "sub/whales.md", "Blue whales are the largest animals that ever lived.\n")
    second = ingest(settings, embedder=embedder)
    assert (second.added, second.updated, second.removed) == (["sub/whales.md"], ["rockets.txt"], [])
    assert second.embedded == 2
    after = {c.source: c for c in store.open().all_chunks()}
    assert after["apples.md"] == before["apples.md"], "an unchanged file keeps its chunk, id and all"
    assert "barges" in after["rockets.txt"].text and after["rockets.txt"].id > before["rockets.txt"].id
    assert Retriever(settings, embedder).search("largest animal", k=1)[0].source == "sub/whales.md"

    write(settings.data_dir, "copy/apples.md", (settings.data_dir / "apples.md").read_text())
    third = ingest(settings, embedder=embedder)
    assert third.added == ["copy/apples.md"] and third.embedded == 0, "identical text reuses the stored vector"


def test_deleted_files_leave_the_index(settings: Settings, store: IndexStore, embedder: Embedder) -> None:
    ingest(settings, embedder=embedder)
    (settings.data_dir / "apples.md").unlink()
    report = ingest(settings, embedder=embedder)
    assert report.removed == ["apples.md"] and report.chunks == 2
    reader = store.open()
    assert sources(store) == {"rockets.txt", "ru/погода.txt"} and "apples.md" not in reader.manifest.files
    assert len(reader.chunks) == 2
    hits = Retriever(settings, embedder).search("apples orchards autumn", k=5, mode="dense")
    assert hits and all(hit.source != "apples.md" for hit in hits)


def test_nothing_changed_writes_nothing(settings: Settings, store: IndexStore, embedder: Embedder) -> None:
    first = ingest(settings, embedder=embedder)
    again = ingest(settings, embedder=embedder)
    assert not again.written and again.generation == first.generation == store.current_generation()
    assert again.chunks == first.chunks and sorted(again.unchanged) == sorted(first.added)


def test_a_failed_run_leaves_the_previous_generation(
    settings: Settings, store: IndexStore, embedder: Embedder, monkeypatch: pytest.MonkeyPatch
) -> None:
    first = ingest(settings, embedder=embedder)
    chunks = sorted(store.open().all_chunks(), key=lambda c: c.id)
    write(settings.data_dir, "sub/whales.md", "Blue whales are the largest animals that ever lived.\n")
    (settings.data_dir / "apples.md").unlink()

    def broken_save(self: Bm25Index, folder: Path) -> None:
        raise RuntimeError("disk on fire")  # after the chunk rows or files of the new generation are written

    with monkeypatch.context() as patched:
        patched.setattr(Bm25Index, "save", broken_save)
        with pytest.raises(RuntimeError, match="disk on fire"):
            ingest(settings, embedder=embedder)
    assert store.current_generation() == first.generation
    reader = store.open()
    assert sorted(reader.all_chunks(), key=lambda c: c.id) == chunks and len(reader.chunks) == len(chunks)
    assert sorted(reader.manifest.files) == sorted(first.added)
    assert Retriever(settings, embedder).search("apples in autumn", k=1)[0].source == "apples.md"

    retry = ingest(settings, embedder=embedder)
    assert retry.added == ["sub/whales.md"] and retry.removed == ["apples.md"]
    assert sources(store) == {"rockets.txt", "ru/погода.txt", "sub/whales.md"}


def test_a_reader_sees_one_generation_and_refresh_moves_on(
    settings: Settings, store: IndexStore, embedder: Embedder
) -> None:
    ingest(settings, embedder=embedder)
    retriever = Retriever(settings, embedder)
    old = retriever.snapshot
    old_chunks = {c.id: c for c in old.all_chunks()}
    write(settings.data_dir, "sub/whales.md", "Blue whales are the largest animals that ever lived.\n")
    (settings.data_dir / "apples.md").unlink()
    ingest(settings, embedder=embedder)
    try:  # the file store keeps the loaded generation; PostgreSQL says it has moved on, never a mix of both
        assert old.chunks_by_id(list(old_chunks)) == old_chunks
    except IndexChanged:
        assert settings.index_url
    assert retriever.search("largest animal", k=1), "a search during the switch answers from one generation"
    retriever.refresh()
    assert retriever.snapshot.generation == store.current_generation()
    assert retriever.search("largest animal", k=1)[0].source == "sub/whales.md"


def test_a_second_ingestion_is_refused_while_one_runs(
    settings: Settings, store: IndexStore, embedder: Embedder
) -> None:
    with store.writing():
        with pytest.raises(IndexLocked):
            ingest(settings, embedder=embedder)
        with pytest.raises(IndexLocked), open_store(settings).writing():
            pass
    assert ingest(settings, embedder=embedder).written, "the lock is free again afterwards"


def test_stores_rank_the_sample_corpus_identically(
    sample_index: Path, embedder: Embedder, request: pytest.FixtureRequest, tmp_path: Path
) -> None:
    """The same documents and questions give the same passages, in the same order, from either store."""
    pg = replace(store_settings("postgres", tmp_path, request), data_dir=SAMPLE_DATA)
    ingest(pg, embedder=embedder)
    on_files = Retriever(Settings(data_dir=SAMPLE_DATA, index_dir=sample_index), embedder)
    on_pg = Retriever(pg, embedder)
    questions = load_questions(QUESTIONS)
    for mode in MODES:
        for question in questions:
            expected = on_files.search(question.question, k=5, mode=mode)
            found = on_pg.search(question.question, k=5, mode=mode)
            assert [(h.chunk, h.text, h.duplicates) for h in found] == [
                (h.chunk, h.text, h.duplicates) for h in expected
            ], (mode, question.question)
            for mine, theirs in zip(found, expected, strict=True):
                assert mine.score == pytest.approx(theirs.score, abs=2e-3)
        assert score(on_pg, questions, 5, mode) == score(on_files, questions, 5, mode)


def test_a_large_postgres_index_answers_from_hnsw(
    request: pytest.FixtureRequest, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Above EXACT_BELOW chunks the HNSW graph answers, with scores that are true inner products."""
    settings = store_settings("postgres", tmp_path, request)  # skips without PostgreSQL
    from pgvector import HalfVector

    from rag.index import pgstore

    update, basis = synthetic_update(3000, 384, "synthetic")
    store = open_store(settings)
    store.commit(None, update)
    monkeypatch.setattr(pgstore, "EXACT_BELOW", 1000)
    reader = store.open()
    probes = unit_rows(np.random.default_rng(1), 20, basis)
    recall = []
    for probe in probes:
        found = reader.dense_search(probe, 50)
        ids = np.array([i for i, _ in found[:10]])
        exact = np.argsort(-(update.vectors @ probe))[:10]
        np.testing.assert_allclose([s for _, s in found[:10]], update.vectors[ids] @ probe, atol=2e-3)
        recall.append(len(set(ids.tolist()) & set(exact.tolist())) / 10)
    assert float(np.mean(recall)) >= 0.9, recall
    assert isinstance(store, pgstore.PgStore)
    with reader.reading(), store.snapshot() as connection:
        plan = connection.execute(
            "EXPLAIN SELECT id FROM rag_chunks ORDER BY embedding <#> %s LIMIT 50", (HalfVector(probes[0]),)
        ).fetchall()
    assert "rag_chunks_hnsw" in " ".join(row[0] for row in plan)
    store.close()


def test_settings_never_show_the_database_password() -> None:
    settings = Settings.from_env({"INDEX_URL": "postgresql://rag:s3cret@db.example:5432/rag"})
    assert settings.index_url.endswith("/rag") and "s3cret" not in repr(settings)
    with pytest.raises(ValueError, match="postgresql://"):
        open_store(replace(settings, index_url="mysql://x"))


def test_an_unreachable_database_is_reported_without_its_password() -> None:
    pytest.importorskip("psycopg", reason="PostgreSQL store needs `pip install -r requirements-postgres.txt`")
    url = f"postgresql://rag:s3cret@127.0.0.1:{free_port()}/rag?connect_timeout=5"
    with pytest.raises(IndexUnavailable) as caught:
        open_store(Settings(index_url=url)).open()
    assert "127.0.0.1" in str(caught.value) and "s3cret" not in str(caught.value)


@pytest.mark.parametrize(
    ("version", "refused"),
    [("0.6.2", True), ("0.5.1", True), (None, True), ("0.7.0", False), ("0.8.0", False), ("0.10.1", False)],
)
def test_pgvector_before_halfvec_is_refused_naming_the_version_needed(version: str | None, refused: bool) -> None:
    pgstore = pytest.importorskip("rag.index.pgstore", reason="needs requirements-postgres.txt")
    problem = pgstore.pgvector_refusal(version)
    assert (problem is not None) == refused
    assert problem is None or ("0.7.0 or newer" in problem and "\n" not in problem)


def test_a_server_whose_pgvector_is_too_old_is_refused_in_one_line_at_connect(
    request: pytest.FixtureRequest, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from rag.index import pgstore

    settings = store_settings("postgres", tmp_path, request)
    monkeypatch.setattr(pgstore, "PGVECTOR_NEEDED", "99.0.0")  # what any real server has is then too old
    with pytest.raises(IndexUnavailable) as caught:
        open_store(settings).current_generation()
    message = str(caught.value)
    assert "predates halfvec" in message and "99.0.0 or newer" in message and "\n" not in message
    assert "@" not in message, "the URL is shown without user or password"


@pytest.mark.slow  # two command processes, each loading the encoder
def test_search_and_eval_commands_run_unchanged_on_postgres(
    embedder: Embedder, request: pytest.FixtureRequest, tmp_path: Path
) -> None:
    pg = replace(store_settings("postgres", tmp_path, request), data_dir=SAMPLE_DATA)
    ingest(pg, embedder=embedder)
    env = {"INDEX_URL": pg.index_url, "INDEX_DIR": str(tmp_path / "no-index-here")}
    found = run_cli("-m", "rag.search", "--json", "--k", "1", "How much do the weekly labs count for?", env=env)
    assert found.returncode == 0, found.stderr
    assert '"source": "course-handbook.pdf"' in found.stdout
    scored = run_cli("-m", "rag.eval", "--questions", str(QUESTIONS), "--mode", "hybrid", "--json", env=env)
    assert scored.returncode == 0, scored.stderr
    assert '"evidence_at_k"' in scored.stdout
    assert not (tmp_path / "no-index-here").exists()


def test_model_switch_builds_a_new_generation_while_the_old_one_answers(
    settings: Settings, store: IndexStore, embedder: Embedder
) -> None:
    """Switching the embedding model: the old generation keeps answering with the encoder that built it
    while the new one is written, then searches move to the new generation and its encoder together."""
    english_only = Embedder(MINILM_MODEL)
    ingest(settings, embedder=english_only)
    retriever = Retriever(settings, embedder)  # configured with e5, over an index MiniLM built
    assert retriever.embedder is not embedder and retriever.embedder.name == MINILM_MODEL
    assert retriever.search("fruit trees", k=1)[0].source == "apples.md"

    answers: list[str] = []
    errors: list[BaseException] = []
    writing = threading.Event()

    def search_meanwhile() -> None:
        while not writing.is_set():
            try:
                answers.append(retriever.search("fruit trees", k=1)[0].source)
            except BaseException as exc:  # any failure while the switch runs is the finding
                errors.append(exc)

    reader = threading.Thread(target=search_meanwhile)
    reader.start()
    try:
        report = ingest(settings, embedder=embedder)
    finally:
        writing.set()
        reader.join()
    assert report.rebuild_reason and "embedding model changed" in report.rebuild_reason
    assert not errors and answers and set(answers) == {"apples.md"}
    retriever.refresh()  # PostgreSQL keeps one generation: a search may already have moved it on
    assert retriever.embedder is embedder
    assert store.open().manifest.embed_model == embedder.name
    # Only the multilingual encoder finds the Russian note for an English question.
    assert retriever.search("weather station wind speed", k=1, mode="dense")[0].source == "ru/погода.txt"


def test_nul_characters_never_abort_an_ingestion(settings: Settings, store: IndexStore, embedder: Embedder) -> None:
    """One NUL in any chunk or heading (a text file after 8 KiB, an RTF \\u0, a heading) used to abort the whole
    PostgreSQL COPY, on every run after too; now it is a space, for every store, and the run goes on."""
    write(settings.data_dir, "nul.txt", "Filler line.\n" * 700 + "The harbour crane lifts\x00 forty tonnes.\n")
    # Past the first 8 KiB, where a NUL no longer marks the file as binary.
    write(
        settings.data_dir,
        "nul-heading.md",
        "Filler line.\n\n" * 700 + "# Crane\x00 manual\n\nThe crane operator starts at dawn.\n",
    )
    write(settings.data_dir, "nul.rtf", r"{\rtf1\ansi The lighthouse keeper\u0? counts ships nightly.\par}")
    report = ingest(settings, embedder=embedder)
    assert report.written and not report.skipped, report.skipped
    chunks = store.open().all_chunks()
    assert not any("\x00" in c.text or any("\x00" in h for h in c.heading_path) for c in chunks)
    retriever = Retriever(settings, embedder)
    assert retriever.search("how many tonnes does the harbour crane lift", k=1)[0].source == "nul.txt"
    assert retriever.search("lighthouse keeper counts ships", k=1)[0].source == "nul.rtf"
    assert ingest(settings, embedder=embedder).written is False, "the next run finds nothing to redo"
