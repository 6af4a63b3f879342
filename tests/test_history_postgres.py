"""Chat history in PostgreSQL, against a real server: the schema and the signing secret when several workers
start at once, and Chainlit's own data layer writing and reading a chat through it.

Skipped, with the reason, when requirements-postgres.txt is not installed.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import TypeVar

import pytest

from rag.config import HistorySettings, Settings
from rag.harness.postgres import PostgresServer

psycopg = pytest.importorskip("psycopg", reason="needs `pip install -r requirements-postgres.txt`")

T = TypeVar("T")


@pytest.fixture()
def history(postgres: PostgresServer, tmp_path: Path) -> HistorySettings:
    url = postgres.create_database(f"h_{uuid.uuid4().hex[:12]}")
    return Settings.from_env(environ={"CHAT_HISTORY": "on", "INDEX_URL": url, "HISTORY_DIR": str(tmp_path)}).history


def _at_once(call: Callable[[], T], workers: int = 6) -> list[T]:
    with ThreadPoolExecutor(workers) as pool:
        return list(pool.map(lambda _: call(), range(workers)))


def test_workers_starting_together_create_the_schema_once_and_share_one_secret(history: HistorySettings) -> None:
    from rag.chat.history import create_schema
    from rag.web.auth import signing_secret

    _at_once(lambda: create_schema(history))  # concurrent CREATE TABLE IF NOT EXISTS collide without the lock
    create_schema(history)  # and every later start: idempotent
    secrets = _at_once(lambda: signing_secret(history))
    assert len(set(secrets)) == 1 and len(secrets[0]) >= 40
    assert signing_secret(history) == secrets[0], "the same after a restart"
    with psycopg.connect(history.url) as connection:
        tables = {row[0] for row in connection.execute("SELECT tablename FROM pg_tables WHERE schemaname = 'public'")}
        types = dict(
            connection.execute(
                "SELECT column_name, data_type FROM information_schema.columns WHERE table_name = 'steps'"
            ).fetchall()
        )
    assert {"users", "threads", "steps", "elements", "feedbacks", "rag_secrets"} <= tables
    assert types["id"] == "uuid" and types["metadata"] == "jsonb" and types["tags"] == "ARRAY"
    assert history.directory.stat().st_mode & 0o077 == 0, "stored passages stay readable by the owner only"


def test_chainlit_data_layer_keeps_a_chat_in_postgresql(history: HistorySettings) -> None:
    from chainlit.data.sql_alchemy import SQLAlchemyDataLayer
    from chainlit.types import Pagination, ThreadFilter
    from chainlit.user import User

    from rag.chat.history import connect_args, create_schema

    create_schema(history)

    async def chat() -> tuple[dict | None, int]:
        layer = SQLAlchemyDataLayer(history.database_url(), connect_args=connect_args(history))
        try:
            user = await layer.create_user(User(identifier="anna", metadata={"provider": "credentials"}))
            assert user is not None
            thread = str(uuid.uuid4())
            await layer.update_thread(thread, name="Labs", user_id=user.id, metadata={"chat_settings": {"top_k": 7}})
            step = {
                "id": str(uuid.uuid4()),
                "threadId": thread,
                "name": "Local",
                "type": "assistant_message",
                "output": "Labs count for 40 percent [1].",
                "streaming": False,
                "createdAt": "2026-01-05T10:00:00Z",
                "metadata": {"asked": "m1", "ok": True},
                "modes": {"answer": "local"},  # a dict, not JSON text: the one value psycopg needs told about
                "tags": ["answer"],
            }
            await layer.create_step.__wrapped__(layer, step)
            listed = await layer.list_threads(Pagination(first=10), ThreadFilter(userId=user.id))
            return await layer.get_thread(thread), len(listed.data)  # type: ignore[return-value]
        finally:
            await layer.engine.dispose()

    thread, listed = asyncio.run(chat())
    assert thread is not None and listed == 1
    assert thread["metadata"] == {"chat_settings": {"top_k": 7}}
    [step] = thread["steps"]
    assert step["output"] == "Labs count for 40 percent [1]." and step["metadata"] == {"asked": "m1", "ok": True}
