"""Optional chat history: an embedded SQLite database in the schema of Chainlit's SQLAlchemy data layer
(or PostgreSQL, shared by several app workers: `history_postgres`), plus a folder for the files shown
beside answers (sources, PDFs, charts).

Nothing here imports Chainlit; the app hands `database_url()` and a `LocalFileStore` to the data layer.
Earlier turns and measurements are rebuilt from message metadata, so a resumed chat continues with the
same conversation history and its comparison still covers the answers given before the restart.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import os
import shutil
import sqlite3
import tempfile
from collections.abc import Iterable, Mapping, Sequence
from contextlib import closing
from pathlib import Path
from typing import Any
from urllib.parse import quote

from rag.answers.answer import Answer
from rag.chat.pipeline import Conversation
from rag.config import HistorySettings
from rag.llm.requests import Turn
from rag.measure.metrics import AnswerMetrics

SCHEMA = """
CREATE TABLE IF NOT EXISTS users (
    "id" TEXT PRIMARY KEY, "identifier" TEXT NOT NULL UNIQUE, "metadata" TEXT NOT NULL, "createdAt" TEXT
);
CREATE TABLE IF NOT EXISTS threads (
    "id" TEXT PRIMARY KEY, "createdAt" TEXT, "name" TEXT, "userId" TEXT, "userIdentifier" TEXT, "tags" TEXT,
    "metadata" TEXT, FOREIGN KEY ("userId") REFERENCES users("id") ON DELETE CASCADE
);
CREATE TABLE IF NOT EXISTS steps (
    "id" TEXT PRIMARY KEY, "name" TEXT NOT NULL, "type" TEXT NOT NULL, "threadId" TEXT NOT NULL, "parentId" TEXT,
    "streaming" BOOLEAN NOT NULL, "waitForAnswer" BOOLEAN, "isError" BOOLEAN, "metadata" TEXT, "tags" TEXT,
    "input" TEXT, "output" TEXT, "createdAt" TEXT, "command" TEXT, "modes" TEXT, "start" TEXT, "end" TEXT,
    "generation" TEXT, "showInput" TEXT, "language" TEXT, "indent" INT, "defaultOpen" BOOLEAN,
    "autoCollapse" BOOLEAN, FOREIGN KEY ("threadId") REFERENCES threads("id") ON DELETE CASCADE
);
CREATE TABLE IF NOT EXISTS elements (
    "id" TEXT PRIMARY KEY, "threadId" TEXT, "type" TEXT, "url" TEXT, "chainlitKey" TEXT, "name" TEXT NOT NULL,
    "display" TEXT, "objectKey" TEXT, "size" TEXT, "page" INT, "language" TEXT, "forId" TEXT, "mime" TEXT,
    "props" TEXT, "autoPlay" BOOLEAN, "playerConfig" TEXT,
    FOREIGN KEY ("threadId") REFERENCES threads("id") ON DELETE CASCADE
);
CREATE TABLE IF NOT EXISTS feedbacks (
    "id" TEXT PRIMARY KEY, "forId" TEXT NOT NULL, "threadId" TEXT, "value" INT NOT NULL, "comment" TEXT,
    FOREIGN KEY ("threadId") REFERENCES threads("id") ON DELETE CASCADE
);
CREATE INDEX IF NOT EXISTS steps_by_thread ON steps ("threadId");
CREATE INDEX IF NOT EXISTS elements_by_thread ON elements ("threadId");
CREATE INDEX IF NOT EXISTS threads_by_user ON threads ("userId");
"""

FILES_ROUTE = "/history/files"


def create_schema(config: HistorySettings) -> None:
    """Create the tables once (idempotent): the data layer expects them and does not create them."""
    config.directory.mkdir(parents=True, exist_ok=True)
    config.directory.chmod(0o700)  # chats, their WAL and stored passages quote private documents: owner only
    if config.url:
        from rag.chat import history_postgres  # psycopg is optional: only needed for a shared history

        history_postgres.create_schema(config.url)
        return
    database = config.database
    with closing(sqlite3.connect(database)) as connection:
        connection.execute("PRAGMA journal_mode=WAL")  # readers (the sidebar, a resume) never block a writer
        connection.executescript(SCHEMA)
    database.chmod(0o600)
    register_json_adapters()


def connect_args(config: HistorySettings) -> dict[str, Any]:
    """Driver options for the data layer's engine (none for SQLite)."""
    if config.url:
        from rag.chat import history_postgres

        return history_postgres.connect_args()
    return {}


def register_json_adapters() -> None:
    """SQLite cannot bind lists or dicts (tags, modes); store them as JSON text as PostgreSQL would store arrays."""
    sqlite3.register_adapter(list, json.dumps)
    sqlite3.register_adapter(dict, json.dumps)


class LocalFileStore:
    """The data layer's storage client, on local disk: files shown beside answers survive a restart.

    Keys look like `<user id>/<element id>/<name>`; identical content (the same PDF cited in every answer)
    is written once under `blobs/` and hard-linked under its keys, so history does not grow per citation.
    """

    def __init__(self, root: Path, url_prefix: str = FILES_ROUTE) -> None:
        self.root = root
        self.url_prefix = url_prefix.rstrip("/")

    def _key_path(self, object_key: str) -> Path:
        path = (self.root / "keys" / object_key).resolve()
        if not path.is_relative_to((self.root / "keys").resolve()):
            raise ValueError("object key outside the history folder")
        return path

    async def upload_file(
        self,
        object_key: str,
        data: bytes | str,
        mime: str = "application/octet-stream",
        overwrite: bool = True,
        content_disposition: str | None = None,
    ) -> dict[str, str]:
        payload = data.encode("utf-8") if isinstance(data, str) else data
        await asyncio.to_thread(self._store, object_key, payload, overwrite)  # a PDF can be megabytes: off the loop
        return {"object_key": object_key, "url": await self.get_read_url(object_key)}

    def _store(self, object_key: str, payload: bytes, overwrite: bool) -> None:
        blob = self.root / "blobs" / hashlib.sha256(payload).hexdigest()
        if not blob.exists():
            blob.parent.mkdir(parents=True, exist_ok=True)
            with tempfile.NamedTemporaryFile(dir=blob.parent, suffix=".partial", delete=False) as partial:
                partial.write(payload)
            Path(partial.name).replace(blob)  # whole or absent, even with two answers storing it at once
        target = self._key_path(object_key)
        if target.exists() and overwrite:
            target.unlink()
        if not target.exists():
            target.parent.mkdir(parents=True, exist_ok=True)
            try:
                os.link(blob, target)
            except OSError:  # a file system without hard links: keep a copy
                shutil.copyfile(blob, target)

    async def delete_file(self, object_key: str) -> bool:
        return await asyncio.to_thread(self._delete, object_key)

    def _delete(self, object_key: str) -> bool:
        target = self._key_path(object_key)
        if not target.exists():
            return False
        blob = self.root / "blobs" / hashlib.sha256(target.read_bytes()).hexdigest()
        target.unlink()
        if blob.exists() and blob.stat().st_nlink == 1:
            blob.unlink()  # no other answer cites it any more
        return True

    async def get_read_url(self, object_key: str) -> str:
        return f"{self.url_prefix}/{quote(object_key)}"

    async def close(self) -> None:
        return None

    @staticmethod
    def media_type(path: Path) -> str:
        """Element names carry no reliable extension ("handbook.pdf p.5 (1)"), so PDFs are recognised by content."""
        with path.open("rb") as handle:
            return "application/pdf" if handle.read(5) == b"%PDF-" else "text/plain; charset=utf-8"

    def readable_path(self, object_key: str, user_id: str) -> Path | None:
        """The file behind a key, only for the user whose chats it belongs to."""
        try:
            path = self._key_path(object_key)
        except ValueError:
            return None
        owned = bool(user_id) and path.is_relative_to((self.root / "keys" / user_id).resolve())
        return path if owned and path.is_file() else None


def _metadata(step: Mapping[str, object]) -> dict:
    raw = step.get("metadata") or {}
    return json.loads(raw) if isinstance(raw, str) else dict(raw)  # type: ignore[call-overload]


def answer_metadata(asked: str, question: str, answer: Answer) -> dict:
    """What an answer message keeps for later: enough to rebuild the chat's history and its comparison."""
    return {
        "asked": asked,
        "question": question,
        "answer": answer.text,
        "ok": answer.ok,
        "local_only": answer.local_only,
        "metrics": answer.metrics.as_row() if answer.metrics else None,
    }


def conversation_from_steps(steps: Sequence[Mapping[str, Any]]) -> Conversation:
    """A stored chat as it was: the turns the next question carries, and the measurements to compare."""
    return Conversation(turns_from_steps(steps), measurements_from_steps(steps))


def turns_from_steps(steps: Iterable[Mapping[str, object]]) -> list[Turn]:
    """The conversation history of a stored chat: per question, its first good answer, in order."""
    turns: dict[str, Turn] = {}
    for step in steps:
        meta = _metadata(step)
        asked = meta.get("asked")
        if asked and meta.get("ok") and asked not in turns:
            turns[str(asked)] = Turn(str(meta.get("question", "")), str(meta.get("answer", "")), _local_only(meta))
    return list(turns.values())


def _local_only(meta: Mapping[str, object]) -> bool:
    """Chats stored before answers were marked: only a cloud answer is known to hold no local-only text."""
    if "local_only" in meta:
        return bool(meta["local_only"])
    metrics = meta.get("metrics")
    return not (isinstance(metrics, Mapping) and metrics.get("backend") == "cloud")


def measurements_from_steps(steps: Iterable[Mapping[str, object]]) -> list[AnswerMetrics]:
    """Every answer measured in a stored chat, for the comparison after a restart."""
    rows = []
    for step in steps:
        row = _metadata(step).get("metrics")
        metrics = AnswerMetrics.from_row(row) if isinstance(row, dict) else None
        if metrics is not None:
            rows.append(metrics)
    return rows
