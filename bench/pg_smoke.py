"""PostgreSQL + pgvector smoke benchmark: load, HNSW build and query latency against numpy flat search.

A throwaway server (rag/harness/postgres.py) gets N random unit vectors of 384 dimensions (the
bundled encoder's size), loaded by binary COPY; an HNSW index (vector_ip_ops, m=16,
ef_construction=64) is built on them; each query is timed from the client, round trip included,
at two ef_search settings, and its top 10 compared with exact numpy search for recall.
Independent random vectors have no structure, the hard case for HNSW's recall; `--latent 32` draws
them from a 32-d subspace instead, closer to real embeddings, whose intrinsic dimension is low.

Needs requirements-postgres.txt. Run: python -m bench.pg_smoke [--rows N] [--queries N] [--latent K]
"""

from __future__ import annotations

import argparse
import time

import numpy as np

from rag.harness.postgres import running_postgres

DIMENSION = 384
TOP = 10
EF_SEARCH = (40, 100)


def unit_rows(rng: np.random.Generator, count: int, basis: np.ndarray | None) -> np.ndarray:
    """Random unit vectors: independent in all 384 dimensions, or spanning the rows of `basis`."""
    if basis is None:
        rows = rng.standard_normal((count, DIMENSION)).astype(np.float32)
    else:
        rows = (rng.standard_normal((count, basis.shape[0])) @ basis).astype(np.float32)
    return rows / np.linalg.norm(rows, axis=1, keepdims=True)


def exact_top(vectors: np.ndarray, query: np.ndarray) -> np.ndarray:
    scores = vectors @ query
    best = np.argpartition(-scores, TOP)[:TOP]
    return best[np.argsort(-scores[best])]


def percentiles(samples_s: list[float]) -> str:
    p50, p95 = np.percentile(np.array(samples_s) * 1000, [50, 95])
    return f"p50 {p50:7.2f} ms   p95 {p95:7.2f} ms"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument("--queries", type=int, default=200)
    parser.add_argument("--workers", type=int, default=1, help="parallel maintenance workers for the HNSW build")
    parser.add_argument(
        "--latent", type=int, default=0, help="draw the vectors from a random subspace of this dimension (0: none)"
    )
    args = parser.parse_args()

    import psycopg
    from pgvector.psycopg import register_vector

    rng = np.random.default_rng(11)
    basis = rng.standard_normal((args.latent, DIMENSION)) if args.latent else None
    vectors = unit_rows(rng, args.rows, basis)
    queries = unit_rows(rng, args.queries, basis)

    flat_times: list[float] = []
    truth = []
    for query in queries:
        start = time.perf_counter()
        truth.append(exact_top(vectors, query))
        flat_times.append(time.perf_counter() - start)

    settings = {"shared_buffers": "768MB", "maintenance_work_mem": "1GB"}
    with running_postgres(settings=settings) as server, psycopg.connect(server.url, autocommit=True) as connection:
        register_vector(connection)
        row = connection.execute(
            "SELECT current_setting('server_version') || ', pgvector ' || extversion"
            " FROM pg_extension WHERE extname = 'vector'"
        ).fetchone()
        assert row is not None
        version = row[0]
        connection.execute(f"CREATE TABLE items (id bigint PRIMARY KEY, embedding vector({DIMENSION}) NOT NULL)")

        start = time.perf_counter()
        with connection.cursor().copy("COPY items (id, embedding) FROM STDIN WITH (FORMAT BINARY)") as copy:
            copy.set_types(["int8", "vector"])
            for row_id, vector in enumerate(vectors):
                copy.write_row((row_id, vector))
        load_s = time.perf_counter() - start

        connection.execute(f"SET max_parallel_maintenance_workers = {int(args.workers)}")
        start = time.perf_counter()
        connection.execute(
            "CREATE INDEX items_hnsw ON items USING hnsw (embedding vector_ip_ops) WITH (m = 16, ef_construction = 64)"
        )
        build_s = time.perf_counter() - start
        connection.execute("VACUUM ANALYZE items")
        sizes = connection.execute(
            "SELECT pg_table_size('items') / 1048576.0, pg_relation_size('items_hnsw') / 1048576.0"
        ).fetchone()
        assert sizes is not None
        table_mb, index_mb = sizes

        sql = f"SELECT id FROM items ORDER BY embedding <#> %s LIMIT {TOP}"
        results: dict[int, tuple[list[float], float]] = {}
        for ef in EF_SEARCH:
            connection.execute(f"SET hnsw.ef_search = {ef}")
            for query in queries[:10]:  # warm the cache and let psycopg prepare the statement
                connection.execute(sql, (query,)).fetchall()
            times: list[float] = []
            hits = 0
            for query, exact in zip(queries, truth, strict=True):
                start = time.perf_counter()
                ids = [row[0] for row in connection.execute(sql, (query,)).fetchall()]
                times.append(time.perf_counter() - start)
                hits += len(set(ids) & set(exact.tolist()))
            results[ef] = (times, hits / (TOP * len(queries)))

        # New statement text: psycopg prepares a statement run often, and a prepared plan keeps the index.
        connection.execute("SET enable_indexscan = off")
        exact_sql = f"SELECT id FROM items ORDER BY embedding <#> %s, id LIMIT {TOP}"
        plan = "\n".join(row[0] for row in connection.execute("EXPLAIN " + exact_sql, (queries[0],)).fetchall())
        assert "items_hnsw" not in plan, plan
        seq_times: list[float] = []
        seq_hits = 0
        for query, exact in list(zip(queries, truth, strict=True))[:20]:
            start = time.perf_counter()
            ids = [row[0] for row in connection.execute(exact_sql, (query,)).fetchall()]
            seq_times.append(time.perf_counter() - start)
            seq_hits += len(set(ids) & set(exact.tolist()))

    shape = f"in a {args.latent}-d subspace" if args.latent else "independent"
    print(f"PostgreSQL {version}; {args.rows:,} x {DIMENSION}-d unit vectors ({shape}), {args.queries} queries")
    print(f"load (binary COPY)         {load_s:8.1f} s    table {table_mb:.0f} MB")
    print(f"HNSW build (m=16, efc=64)  {build_s:8.1f} s    index {index_mb:.0f} MB, {args.workers} parallel worker(s)")
    for ef, (times, recall) in results.items():
        print(f"HNSW ef_search={ef:<4}        {percentiles(times)}   recall@{TOP} {recall:.3f}")
    print(f"pg exact (no index, 20 q)  {percentiles(seq_times)}   recall@{TOP} {seq_hits / (TOP * 20):.3f}")
    print(f"numpy flat (float32)       {percentiles(flat_times)}   recall@{TOP} 1.000")


if __name__ == "__main__":
    main()
