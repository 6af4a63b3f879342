"""`open_store`: the one place that knows every index store, so the store protocol imports none of them."""

from __future__ import annotations

from rag.config import Settings, is_postgres_url
from rag.index.store import FileStore
from rag.index.stores import IndexStore


def open_store(settings: Settings) -> IndexStore:
    """The store `INDEX_URL` names, or the index folder when it is empty."""
    url = settings.index_url
    if not url:
        return FileStore(settings.index_dir)
    if not is_postgres_url(url):
        raise ValueError("INDEX_URL must be empty (the index folder) or a postgresql:// URL")
    from rag.index.pgstore import PgStore  # psycopg is optional: only needed when a database is configured

    return PgStore(url)
