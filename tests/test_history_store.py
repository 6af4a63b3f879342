"""The pieces of chat history that run without a browser: schema, file store, refusal, rebuilding a chat."""

from __future__ import annotations

import asyncio
import sqlite3
from pathlib import Path

from rag.answers.answer import Answer
from rag.chat.history import (
    LocalFileStore,
    answer_metadata,
    create_schema,
    measurements_from_steps,
    turns_from_steps,
)
from rag.config import HistorySettings
from rag.llm.backends import Backend
from rag.measure.comparison import markdown_table, summarize
from rag.measure.metrics import AnswerMetrics
from rag.web.auth import history_refusal as refusal

PDF = b"%PDF-1.4 a cited handbook" + bytes(range(256)) * 100


def test_schema_is_created_once_and_private(tmp_path: Path) -> None:
    config = HistorySettings(enabled=True, directory=tmp_path / "history")
    database = config.database
    create_schema(config)
    create_schema(config)  # every start: idempotent
    tables = {row[0] for row in sqlite3.connect(database).execute("SELECT name FROM sqlite_master WHERE type='table'")}
    assert {"users", "threads", "steps", "elements", "feedbacks"} <= tables
    assert database.stat().st_mode & 0o077 == 0 and database.parent.stat().st_mode & 0o077 == 0


def test_the_same_file_cited_twice_is_stored_once(tmp_path: Path) -> None:
    store = LocalFileStore(tmp_path)
    first = asyncio.run(store.upload_file("user-1/e1/handbook.pdf p.2 (1)", PDF, "application/pdf"))
    asyncio.run(store.upload_file("user-1/e2/handbook.pdf p.5 (3)", PDF, "application/pdf"))
    assert first["url"] == "/history/files/user-1/e1/handbook.pdf%20p.2%20%281%29"
    assert len(list((tmp_path / "blobs").iterdir())) == 1
    path = store.readable_path("user-1/e1/handbook.pdf p.2 (1)", "user-1")
    assert path is not None and path.read_bytes() == PDF and store.media_type(path) == "application/pdf"

    assert asyncio.run(store.delete_file("user-1/e1/handbook.pdf p.2 (1)"))
    assert len(list((tmp_path / "blobs").iterdir())) == 1, "still cited by the other answer"
    assert asyncio.run(store.delete_file("user-1/e2/handbook.pdf p.5 (3)"))
    assert list((tmp_path / "blobs").iterdir()) == []


def test_files_are_readable_by_their_owner_only(tmp_path: Path) -> None:
    store = LocalFileStore(tmp_path)
    asyncio.run(store.upload_file("user-1/e1/[1]", "**notes.md**\n\npassage"))
    assert store.readable_path("user-1/e1/[1]", "user-2") is None
    assert store.readable_path("user-1/../user-1/e1/[1]", "user-2") is None
    assert store.readable_path("user-2/../user-1/e1/[1]", "user-2") is None
    own = store.readable_path("user-1/e1/[1]", "user-1")
    assert own is not None and store.media_type(own).startswith("text/plain")


def test_history_is_refused_on_an_exposed_app_without_login() -> None:
    on = HistorySettings(enabled=True)
    assert refusal(on, "0.0.0.0", login_enabled=False) is not None
    assert refusal(on, "0.0.0.0", login_enabled=True) is None
    assert refusal(on, "127.0.0.1", login_enabled=False) is None
    assert refusal(HistorySettings(enabled=False), "0.0.0.0", login_enabled=False) is None


def _metrics(backend: str) -> AnswerMetrics:
    return AnswerMetrics("q", backend, backend, "m", 12.0, 300.0, 900.0, 100, 20, False, 33.3, 0.0)


def _answer(text: str, metrics: AnswerMetrics | None, local_only: bool = False) -> Answer:
    backend = Backend("local", "llama.cpp", "http://127.0.0.1:1/v1", "m")
    return Answer(text, backend, [], metrics=metrics, local_only=local_only)


def test_a_stored_chat_gives_back_its_history_and_measurements() -> None:
    steps: list[dict[str, object]] = [
        {"type": "user_message", "metadata": "{}"},
        {"type": "assistant_message", "metadata": answer_metadata("u1", "First?", _answer("", _metrics("local")))},
        {"type": "assistant_message", "metadata": answer_metadata("u1", "First?", _answer("From the cloud.", None))},
        {"type": "user_message", "metadata": None},
        {
            "type": "assistant_message",
            "metadata": answer_metadata("u2", "Second?", _answer("Local.", _metrics("l"), True)),
        },
        {"type": "assistant_message", "metadata": answer_metadata("u2", "Second?", _answer("Cloud.", _metrics("c")))},
    ]
    turns = turns_from_steps(steps)
    assert [(t.question, t.answer, t.local_only) for t in turns] == [
        ("First?", "From the cloud.", False),
        ("Second?", "Local.", True),
    ]
    assert [m.backend for m in measurements_from_steps(steps)] == ["local", "l", "c"]


def test_turns_stored_before_the_local_only_mark_are_kept_from_the_cloud() -> None:
    """A chat stored without the mark: only an answer known to come from the cloud is shareable again."""
    old_local = {"asked": "u1", "question": "Salary?", "answer": "4200 EUR [1]", "ok": True, "metrics": None}
    old_cloud = {"asked": "u2", "question": "Trains?", "answer": "Every hour [1]", "ok": True,
                 "metrics": _metrics("cloud").as_row()}  # fmt: skip
    stored: list[dict[str, object]] = [{"metadata": old_local}, {"metadata": old_cloud}]
    turns = turns_from_steps(stored)
    assert [t.local_only for t in turns] == [True, False]


def test_measurements_stored_with_fewer_or_unknown_fields_still_resume() -> None:
    """A chat stored before a metric existed (or by a newer version with one more) keeps its measurements."""
    older = {"question": "q", "backend": "local", "label": "llama.cpp", "model": "m", "ttft_ms": 420.0}
    newer = {**_metrics("cloud").as_row(), "watts": 12.5}
    steps: list[dict[str, object]] = [
        {"metadata": {"metrics": older}},
        {"metadata": {"metrics": newer}},
        {"metadata": {"metrics": {"x": 1}}},
    ]
    old_row, new_row = measurements_from_steps(steps)
    assert old_row.ttft_ms == 420.0 and old_row.cost_usd is None and old_row.completion_tokens == 0
    assert new_row == _metrics("cloud")
    summary = markdown_table(summarize([old_row, new_row]))
    assert "| llama.cpp (m) | 1 | 0 | 420 ms |" in summary
