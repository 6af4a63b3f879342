"""The throwaway PostgreSQL of rag/harness/postgres.py, against a real server.

pgvector's HNSW index must agree with exact numpy search, full-text search must stem and case-fold
English and Russian, the server must run as an unprivileged user, and nothing may outlive the
context: not the process, not the folder, not the port. Skipped when requirements-postgres.txt
is not installed.
"""

from __future__ import annotations

import os
import subprocess
import time
from pathlib import Path

import numpy as np
import pytest

from rag.harness.postgres import (
    OWNER_FILE,
    PostgresServer,
    process_alive,
    running_postgres,
    sweep_stale,
)
from tests.helpers import require_postgres

psycopg = pytest.importorskip("psycopg")
pgvector_psycopg = pytest.importorskip("pgvector.psycopg")

DIMENSION = 384


class Boom(Exception):
    """Raised inside the context to show that cleanup does not depend on the body succeeding."""


def _unit_rows(rng: np.random.Generator, count: int, basis: np.ndarray) -> np.ndarray:
    """Random unit vectors in the span of `basis`: 384 numbers each, with few degrees of freedom.

    Embeddings of text have a low intrinsic dimension; independent random 384-d vectors do not, and on
    them HNSW's recall at ef_search=100 lands anywhere from 0.89 to 0.92 depending on the draw (and the
    index's random levels), which would make the threshold below a coin toss rather than a check.
    """
    rows = (rng.standard_normal((count, basis.shape[0])) @ basis).astype(np.float32)
    return rows / np.linalg.norm(rows, axis=1, keepdims=True)


def _uids(pid: int) -> list[int]:
    """Real, effective, saved and filesystem uid of a process."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("Uid:"):
            return [int(part) for part in line.split()[1:]]
    raise AssertionError(f"no Uid line for {pid}")


def test_server_runs_unprivileged_with_pgvector(postgres: PostgresServer) -> None:
    assert postgres.pid is not None and postgres.folder is not None
    uids = _uids(postgres.pid)
    if os.geteuid() == 0:
        assert postgres.user is not None and set(uids) == {postgres.user.pw_uid} and postgres.user.pw_uid != 0
    else:
        assert set(uids) == {os.getuid()}
    assert postgres.data_dir.stat().st_uid == uids[0]
    assert postgres.url.startswith("postgresql://") and f"127.0.0.1:{postgres.port}/rag" in postgres.url
    with psycopg.connect(postgres.url) as connection:
        (version,) = connection.execute("SELECT extversion FROM pg_extension WHERE extname = 'vector'").fetchone()
        (address,) = connection.execute("SELECT host(inet_server_addr())").fetchone()
    assert tuple(int(part) for part in version.split(".")[:2]) >= (0, 7)  # halfvec and parallel HNSW builds
    assert address == "127.0.0.1"


def test_hnsw_inner_product_search_matches_exact_search(postgres: PostgresServer) -> None:
    rng = np.random.default_rng(20240611)
    basis = rng.standard_normal((32, DIMENSION))
    vectors = _unit_rows(rng, 3000, basis)
    queries = _unit_rows(rng, 25, basis)
    with psycopg.connect(postgres.url) as connection:
        pgvector_psycopg.register_vector(connection)
        connection.execute(f"CREATE TABLE items (id bigint PRIMARY KEY, embedding vector({DIMENSION}) NOT NULL)")
        with connection.cursor().copy("COPY items (id, embedding) FROM STDIN WITH (FORMAT BINARY)") as copy:
            copy.set_types(["int8", "vector"])
            for row_id, vector in enumerate(vectors):
                copy.write_row((row_id, vector))
        connection.execute(
            "CREATE INDEX items_hnsw ON items USING hnsw (embedding vector_ip_ops) WITH (m = 16, ef_construction = 64)"
        )
        connection.execute("SET hnsw.ef_search = 100")
        connection.execute("SET enable_seqscan = off")
        query = "SELECT id, -(embedding <#> %(q)s) AS score FROM items ORDER BY embedding <#> %(q)s LIMIT 10"
        plan = "\n".join(row[0] for row in connection.execute("EXPLAIN " + query, {"q": queries[0]}).fetchall())
        assert "items_hnsw" in plan, plan  # the index answers, not a sort of the whole table

        (stored,) = connection.execute("SELECT embedding FROM items WHERE id = 17").fetchone()
        assert np.array_equal(stored.to_numpy(), vectors[17])  # binary transfer keeps float32 bit for bit

        recalls = []
        for q in queries:
            rows = connection.execute(query, {"q": q}).fetchall()
            ids = np.array([row[0] for row in rows])
            scores = np.array([row[1] for row in rows])
            exact = np.argsort(-(vectors @ q))[:10]
            assert len(ids) == 10
            np.testing.assert_allclose(scores, vectors[ids] @ q, atol=1e-5)  # the scores are true inner products
            assert np.all(np.diff(scores) <= 1e-6)  # best first
            recalls.append(len(set(ids.tolist()) & set(exact.tolist())) / 10)
    assert float(np.mean(recalls)) >= 0.9, recalls


def test_full_text_search_in_english_and_russian(postgres: PostgresServer) -> None:
    documents = [
        (1, "english", "The libraries were running late"),
        (2, "english", "A quiet harbour at dawn"),
        (3, "russian", "Библиотеки хранят старые книги"),
        (4, "russian", "Тихая гавань на рассвете"),
    ]
    with psycopg.connect(postgres.url) as connection:
        connection.execute(
            "CREATE TABLE docs (id int PRIMARY KEY, config regconfig NOT NULL, body text NOT NULL,"
            " tsv tsvector GENERATED ALWAYS AS (to_tsvector(config, body)) STORED)"
        )
        connection.execute("CREATE INDEX docs_tsv ON docs USING gin (tsv)")
        with connection.cursor() as cursor:
            cursor.executemany("INSERT INTO docs (id, config, body) VALUES (%s, %s, %s)", documents)

        def search(config: str, text: str) -> list[int]:
            rows = connection.execute(
                "SELECT id FROM docs, websearch_to_tsquery(%(c)s::regconfig, %(t)s) AS q"
                " WHERE tsv @@ q ORDER BY ts_rank(tsv, q) DESC, id",
                {"c": config, "t": text},
            ).fetchall()
            return [row[0] for row in rows]

        (stems,) = connection.execute("SELECT to_tsvector('russian', 'Библиотеки хранят КНИГИ')::text").fetchone()
        assert stems == "'библиотек':1 'книг':3 'хран':2"
        assert search("english", "library runs") == [1]
        assert search("english", "harbours") == [2]
        assert search("russian", "книга в библиотеке") == [3]  # stemmed, stop word dropped
        assert search("russian", "КНИГИ") == [3]  # Cyrillic case-folded
        assert search("russian", "гавани") == [4]
        assert search("simple", "библиотека") == []  # no stemming, no match: the configuration matters
        assert search("english", "книга") == []  # the English stemmer leaves Russian words alone


def test_everything_is_gone_after_the_context_even_when_the_body_raises() -> None:
    require_postgres()
    with pytest.raises(Boom), running_postgres(database="scratch") as started:
        pid, folder, url = started.pid, started.folder, started.url
        assert pid is not None and folder is not None and started.running()
        with psycopg.connect(url) as connection:
            assert connection.execute("SELECT current_database()").fetchone() == ("scratch",)
        raise Boom
    assert pid is not None and folder is not None
    assert not process_alive(pid)
    assert not folder.exists()
    with pytest.raises(psycopg.OperationalError):
        psycopg.connect(url, connect_timeout=5)


def test_sweep_removes_a_server_whose_owner_died() -> None:
    require_postgres()
    server = PostgresServer()
    server.start()
    try:
        assert server.pid is not None and server.folder is not None
        dead = subprocess.run(["sh", "-c", "echo $$"], capture_output=True, text=True, check=True)
        (server.folder / OWNER_FILE).write_text(f"{dead.stdout.strip()} 0\n")  # as if a killed run had left it
        assert server.folder in sweep_stale(server.folder.parent)
        assert not server.folder.exists()
        for _ in range(600):
            if not process_alive(server.pid):
                break
            time.sleep(0.05)
        assert not process_alive(server.pid)
    finally:
        server.stop()
