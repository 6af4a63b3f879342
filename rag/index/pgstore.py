"""The index in PostgreSQL with pgvector (`INDEX_URL=postgresql://...`): one database, many app processes.

Tables (created on the first ingestion)::

    rag_meta    one row: the live generation's number, its manifest (without files) and chunk count
    rag_files   the manifest's per-file entries (path, entry as jsonb)
    rag_chunks  the chunks with their vectors (halfvec, as the file store keeps float16), HNSW on inner product
    rag_bm25    the generation's bm25s model, file by file (the same model the file store keeps on disk)

A run is one transaction: rows deleted and added, the keyword model replaced, the generation number
raised, all committed together, so readers never see half a run. A reader is pinned to a generation
(its keyword model and manifest) and reads rows in one REPEATABLE READ transaction per search; when the
database has moved on it raises `IndexChanged`, and the retriever opens the new generation. One
writer at a time holds a session advisory lock, released by the server if the writer dies.

The keyword side keeps the file store's bm25s model rather than PostgreSQL's full-text search, so
ranking is identical on both stores (same tokenizer for English, Bulgarian and Russian, same scores).
"""

from __future__ import annotations

import contextlib
import json
import re
import tempfile
import threading
from collections.abc import Collection, Iterator, Mapping
from dataclasses import asdict
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import numpy as np
import psycopg
from pgvector import HalfVector
from pgvector.psycopg import register_vector
from psycopg import sql
from psycopg.types.json import Jsonb

from rag.index.bm25 import Bm25Index
from rag.index.records import ChunkRecord, FileEntry, IndexLocked, IndexMissing, IndexUnavailable, Manifest
from rag.index.stores import IndexChanged, IndexReader, IndexUpdate

LOCK_KEY = 0x7261675F696E6478  # "rag_indx": the advisory lock of the one ingestion allowed at a time
EXACT_BELOW = 10_000
"""Below this many chunks every row is scanned (exact, a few ms); above it the HNSW graph answers."""
HNSW_OPTIONS = "m = 16, ef_construction = 64"
CHUNK_COLUMNS = "id, source, page, heading_path, start_offset, end_offset, text, embed_hash"
COPY_TYPES = ["int8", "text", "int4", "text[]", "int4", "int4", "text", "text", "halfvec"]

SCHEMA = """
CREATE TABLE IF NOT EXISTS rag_meta (
    singleton boolean PRIMARY KEY DEFAULT true CHECK (singleton),
    generation bigint NOT NULL,
    manifest jsonb NOT NULL,
    chunk_count bigint NOT NULL
);
CREATE TABLE IF NOT EXISTS rag_files (path text PRIMARY KEY, entry jsonb NOT NULL);
CREATE TABLE IF NOT EXISTS rag_bm25 (name text PRIMARY KEY, data bytea NOT NULL);
"""
CHUNKS = """
CREATE TABLE rag_chunks (
    id bigint PRIMARY KEY,
    source text NOT NULL,
    page int,
    heading_path text[] NOT NULL,
    start_offset int NOT NULL,
    end_offset int NOT NULL,
    text text NOT NULL,
    embed_hash text NOT NULL,
    embedding halfvec({dimension}) NOT NULL
);
CREATE INDEX rag_chunks_embed_hash ON rag_chunks (embed_hash);
"""
HNSW = f"CREATE INDEX rag_chunks_hnsw ON rag_chunks USING hnsw (embedding halfvec_ip_ops) WITH ({HNSW_OPTIONS})"
PGVECTOR_NEEDED = "0.7.0"
"""The first pgvector with halfvec, the type the chunks' vectors are kept in."""
PGVECTOR_VERSION = """
SELECT coalesce(
    (SELECT extversion FROM pg_extension WHERE extname = 'vector'),
    (SELECT default_version FROM pg_available_extensions WHERE name = 'vector')
)"""
"""The pgvector this database has, or the one `CREATE EXTENSION vector` would install; NULL when none."""


def generation_name(number: int) -> str:
    return f"gen-{number:06d}"


def describe(url: str) -> str:
    """The URL without user or password, for messages."""
    parts = urlsplit(url)
    where = parts.hostname or "localhost"
    return f"postgresql://{where}{f':{parts.port}' if parts.port else ''}{parts.path}"


def pgvector_refusal(version: str | None) -> str | None:
    """Why a server with this pgvector cannot keep the index, or None when it can: an older one fails only
    later, mid-ingestion, on `type "halfvec" does not exist`."""
    if version is None:
        return f"pgvector is not installed on the server ({PGVECTOR_NEEDED} or newer is needed)"
    if _numbers(version) < _numbers(PGVECTOR_NEEDED):
        return (
            f"pgvector {version} predates halfvec: the index needs pgvector {PGVECTOR_NEEDED} or newer "
            "(upgrade it on the server, then run ALTER EXTENSION vector UPDATE)"
        )
    return None


def _numbers(version: str) -> tuple[int, ...]:
    return tuple(int(part) for part in re.findall(r"\d+", version))


def _record(row: tuple[Any, ...]) -> ChunkRecord:
    chunk_id, source, page, heading_path, start, end, text, embed_hash = row
    return ChunkRecord(chunk_id, source, page, tuple(heading_path), start, end, text, embed_hash)


def _manifest(meta: dict[str, Any], files: list[tuple[str, dict[str, Any]]]) -> Manifest:
    return Manifest(**{**meta, "files": {path: FileEntry(**entry) for path, entry in files}})


class PgStore:
    """Generations in one PostgreSQL database; see the module's description."""

    def __init__(self, url: str) -> None:
        self.url = url
        self._read_lock = threading.RLock()  # one search transaction at a time on the shared connection
        self._reader: psycopg.Connection[Any] | None = None
        self._writer: psycopg.Connection[Any] | None = None
        self._depth = 0
        self._adapted: psycopg.Connection[Any] | None = None  # the connection pgvector's types are registered on

    @property
    def location(self) -> str:
        return describe(self.url)

    def _connect(self) -> psycopg.Connection[Any]:
        try:
            connection = psycopg.connect(self.url, autocommit=True)
        except psycopg.OperationalError as exc:
            first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
            raise IndexUnavailable(f"cannot reach the index database {self.location}: {first}") from exc
        self._require_pgvector(connection)
        return connection

    def _require_pgvector(self, connection: psycopg.Connection[Any]) -> None:
        """Refuse a server whose pgvector cannot keep the index as soon as it is reached, in one line."""
        row = connection.execute(PGVECTOR_VERSION).fetchone()
        problem = pgvector_refusal(row[0] if row else None)
        if problem is not None:
            connection.close()
            raise IndexUnavailable(f"the index database {self.location} cannot keep the index: {problem}")

    def _reading_connection(self) -> psycopg.Connection[Any]:
        """The connection readers share; reopened if the server dropped it."""
        if self._reader is None or self._reader.closed or self._reader.broken:
            connection = self._connect()
            connection.isolation_level = psycopg.IsolationLevel.REPEATABLE_READ
            connection.read_only = True
            self._reader = connection
        return self._reader

    def vectors_ready(self, connection: psycopg.Connection[Any]) -> None:
        """pgvector's types registered on this connection (again after a reconnect)."""
        if self._adapted is not connection:
            register_vector(connection)
            self._adapted = connection

    @contextlib.contextmanager
    def snapshot(self) -> Iterator[psycopg.Connection[Any]]:
        """A REPEATABLE READ transaction on the readers' connection (re-entrant within a thread)."""
        with self._read_lock:
            connection = self._reading_connection()
            if self._depth:
                yield connection
                return
            with connection.transaction():
                self._depth += 1
                try:
                    yield connection
                finally:
                    self._depth -= 1

    def _live(self, connection: psycopg.Connection[Any]) -> tuple[int, dict[str, Any], int] | None:
        """(generation number, manifest without files, chunk count) of the live generation, or None."""
        row = connection.execute("SELECT to_regclass('rag_meta') IS NOT NULL").fetchone()
        if not row or not row[0]:
            return None
        live = connection.execute("SELECT generation, manifest, chunk_count FROM rag_meta").fetchone()
        return (int(live[0]), dict(live[1]), int(live[2])) if live else None

    def current_generation(self) -> str | None:
        with self.snapshot() as connection:
            live = self._live(connection)
        return generation_name(live[0]) if live else None

    def current_manifest(self) -> tuple[str, Manifest] | None:
        with self.snapshot() as connection:
            live = self._live(connection)
            if live is None:
                return None
            files = connection.execute("SELECT path, entry FROM rag_files").fetchall()
        return generation_name(live[0]), _manifest(live[1], files)

    def open(self) -> PgReader:
        with self.snapshot() as connection:
            live = self._live(connection)
            if live is None:
                raise IndexMissing(f"no index in {self.location}: run `python -m ingest` first")
            self.vectors_ready(connection)  # the extension exists once an index has been written
            files = connection.execute("SELECT path, entry FROM rag_files").fetchall()
            parts = connection.execute("SELECT name, data FROM rag_bm25").fetchall()
        with tempfile.TemporaryDirectory(prefix="rag-bm25-") as folder:
            for name, data in parts:
                (Path(folder) / name).write_bytes(data)
            bm25 = Bm25Index.load(Path(folder))
        number, meta, count = live
        return PgReader(self, generation_name(number), _manifest(meta, files), bm25, count)

    @contextlib.contextmanager
    def writing(self) -> Iterator[None]:
        """The advisory lock on a connection of its own, which the commit then writes through."""
        connection = self._connect()
        try:
            row = connection.execute("SELECT pg_try_advisory_lock(%s)", (LOCK_KEY,)).fetchone()
            if not row or not row[0]:
                raise IndexLocked(f"another ingestion is writing {self.location}; try again when it finishes")
            self._writer = connection
            yield
        finally:
            self._writer = None
            connection.close()  # ends the session, and with it the lock

    def commit(self, base: IndexReader | None, update: IndexUpdate) -> str:
        if self._writer is None:
            with self.writing():
                return self.commit(base, update)
        connection = self._writer
        connection.execute("CREATE EXTENSION IF NOT EXISTS vector")
        register_vector(connection)
        with connection.transaction():
            connection.execute(SCHEMA)
            live = connection.execute("SELECT generation, manifest FROM rag_meta FOR UPDATE").fetchone()
            if base is not None and (live is None or generation_name(live[0]) != base.generation):
                raise IndexChanged(f"{self.location} changed while this run read it")
            fresh = self._prepare_chunks(connection, update.manifest.dimension, live, keep=base is not None)
            if update.removed:
                connection.execute("DELETE FROM rag_chunks WHERE id = ANY(%s)", (update.removed,))
            self._copy_chunks(connection, update)
            if fresh:
                connection.execute(HNSW)  # building once after the load beats inserting into the graph row by row
            self._replace_files(connection, update.manifest)
            self._replace_bm25(connection, update.bm25)
            number = live[0] + 1 if live else 1
            meta = {key: value for key, value in asdict(update.manifest).items() if key != "files"}
            count = connection.execute("SELECT count(*) FROM rag_chunks").fetchone()
            connection.execute(
                "INSERT INTO rag_meta (generation, manifest, chunk_count) VALUES (%s, %s, %s)"
                " ON CONFLICT (singleton) DO UPDATE SET generation = excluded.generation,"
                " manifest = excluded.manifest, chunk_count = excluded.chunk_count",
                (number, Jsonb(meta), count[0] if count else 0),
            )
        return generation_name(number)

    @staticmethod
    def _prepare_chunks(
        connection: psycopg.Connection[Any], dimension: int, live: tuple[Any, ...] | None, keep: bool
    ) -> bool:
        """Empty the chunks for a run from scratch (a new table when the dimension changed); True when new."""
        exists = connection.execute("SELECT to_regclass('rag_chunks') IS NOT NULL").fetchone()
        same_dimension = live is not None and live[1].get("dimension") == dimension
        if exists and exists[0] and (keep or same_dimension):
            if not keep:
                connection.execute("DELETE FROM rag_chunks")  # row by row: readers of the old generation go on
            return False
        connection.execute("DROP TABLE IF EXISTS rag_chunks")
        connection.execute(CHUNKS.format(dimension=int(dimension)))
        return True

    @staticmethod
    def _copy_chunks(connection: psycopg.Connection[Any], update: IndexUpdate) -> None:
        columns = f"{CHUNK_COLUMNS}, embedding"
        with connection.cursor().copy(f"COPY rag_chunks ({columns}) FROM STDIN WITH (FORMAT BINARY)") as copy:
            copy.set_types(COPY_TYPES)
            for record, vector in zip(update.added, update.vectors, strict=True):
                copy.write_row(
                    (record.id, record.source, record.page, list(record.heading_path), record.start,
                     record.end, record.text, record.embed_hash, HalfVector(vector))
                )  # fmt: skip

    @staticmethod
    def _replace_files(connection: psycopg.Connection[Any], manifest: Manifest) -> None:
        connection.execute("DELETE FROM rag_files")
        with connection.cursor().copy("COPY rag_files (path, entry) FROM STDIN") as copy:
            for path, entry in manifest.files.items():
                copy.write_row((path, json.dumps(asdict(entry), ensure_ascii=False)))

    @staticmethod
    def _replace_bm25(connection: psycopg.Connection[Any], bm25: Bm25Index) -> None:
        connection.execute("DELETE FROM rag_bm25")
        with tempfile.TemporaryDirectory(prefix="rag-bm25-") as folder:
            bm25.save(Path(folder))
            parts = [(path.name, path.read_bytes()) for path in sorted(Path(folder).iterdir()) if path.is_file()]
        with connection.cursor() as cursor:
            cursor.executemany("INSERT INTO rag_bm25 (name, data) VALUES (%s, %s)", parts)

    def close(self) -> None:
        if self._reader is not None:
            self._reader.close()
            self._reader = None


class PgReader:
    """One generation in the database: its manifest and keyword model in memory, chunks and vectors read on demand."""

    def __init__(self, store: PgStore, generation: str, manifest: Manifest, bm25: Bm25Index, count: int) -> None:
        self.store = store
        self.generation = generation
        self.manifest = manifest
        self.bm25 = bm25
        self.count = count

    @property
    def chunks(self) -> Mapping[int, ChunkRecord]:
        return _Chunks(self)

    @contextlib.contextmanager
    def reading(self) -> Iterator[None]:
        with self.store.snapshot() as connection:
            row = connection.execute("SELECT generation FROM rag_meta").fetchone()
            if row is None or generation_name(row[0]) != self.generation:
                raise IndexChanged(f"{self.store.location} moved on from {self.generation}")
            yield

    def dense_search(self, query: np.ndarray, depth: int) -> list[tuple[int, float]]:
        """Exact below EXACT_BELOW chunks, else HNSW with ef_search = max(100, 2 * depth)."""
        if self.count == 0 or depth <= 0:
            return []
        with self.reading(), self.store.snapshot() as connection:
            self.store.vectors_ready(connection)
            if self.count < EXACT_BELOW:
                connection.execute("SET LOCAL enable_indexscan = off")
                order = "embedding <#> %(q)s, id"
            else:
                connection.execute(sql.SQL("SET LOCAL hnsw.ef_search = {}").format(max(100, 2 * depth)))
                order = "embedding <#> %(q)s"
            rows = connection.execute(
                f"SELECT id, -(embedding <#> %(q)s) FROM rag_chunks ORDER BY {order} LIMIT %(n)s",
                {"q": HalfVector(np.asarray(query, dtype=np.float32).ravel()), "n": depth},
            ).fetchall()
        return [(int(chunk_id), float(score)) for chunk_id, score in rows]

    def keyword_search(self, question: str, depth: int) -> list[tuple[int, float]]:
        return self.bm25.search(question, depth)

    def unknown_words(self, words: list[str]) -> list[str]:
        return self.bm25.unknown(words)

    def chunks_by_id(self, ids: Collection[int]) -> dict[int, ChunkRecord]:
        if not ids:
            return {}
        with self.reading(), self.store.snapshot() as connection:
            rows = connection.execute(
                f"SELECT {CHUNK_COLUMNS} FROM rag_chunks WHERE id = ANY(%s)", ([int(i) for i in ids],)
            ).fetchall()
        return {row[0]: _record(row) for row in rows}

    def all_chunks(self) -> Iterator[ChunkRecord]:
        with self.reading(), self.store.snapshot() as connection, connection.cursor(name="rag_all_chunks") as cursor:
            cursor.itersize = 2000
            cursor.execute(f"SELECT {CHUNK_COLUMNS} FROM rag_chunks ORDER BY id")
            for row in cursor:
                yield _record(row)

    def vectors_by_hash(self, wanted: Collection[str] | None = None) -> dict[str, np.ndarray]:
        where, params = ("WHERE embed_hash = ANY(%s)", (list(wanted),)) if wanted is not None else ("", ())
        with self.reading(), self.store.snapshot() as connection:
            self.store.vectors_ready(connection)
            rows = connection.execute(
                f"SELECT DISTINCT ON (embed_hash) embed_hash, embedding FROM rag_chunks {where}", params
            ).fetchall()
        return {embed_hash: vector.to_numpy().astype(np.float32) for embed_hash, vector in rows}


class _Chunks(Mapping[int, ChunkRecord]):
    """A generation's chunks as a mapping that reads the database on demand (its size is known up front)."""

    def __init__(self, reader: PgReader) -> None:
        self.reader = reader

    def __len__(self) -> int:
        return self.reader.count

    def __getitem__(self, chunk_id: int) -> ChunkRecord:
        found = self.reader.chunks_by_id([chunk_id])
        if chunk_id not in found:
            raise KeyError(chunk_id)
        return found[chunk_id]

    def __iter__(self) -> Iterator[int]:
        return (record.id for record in self.reader.all_chunks())
