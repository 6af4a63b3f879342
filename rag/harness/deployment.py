"""The deployment of `python -m rag.workers` in a temporary folder, for tests and benchmarks.

A throwaway PostgreSQL with pgvector (`rag.harness.postgres`), the sample documents ingested into it
by `python -m ingest`, then app workers behind nginx on free loopback ports, with the index and the
chat history in that database. Everything is stopped on exit, whatever happened inside.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path

from rag.harness.app_process import SAMPLE_DATA
from rag.harness.postgres import PostgresServer, running_postgres
from rag.llm.embedded_server import free_port
from rag.workers import Deployment, ingest_first, running_workers


@contextmanager
def running_deployment(
    workdir: Path,
    env: Mapping[str, str],
    workers: int = 2,
    database_settings: Mapping[str, str] | None = None,
    timeout: float = 300,
) -> Iterator[tuple[Deployment, PostgresServer]]:
    """Yield the running deployment and its database; `env` is added to every worker's environment."""
    data = workdir / "data"
    if not data.exists():
        shutil.copytree(SAMPLE_DATA, data)
    # each worker's history engine pools up to 15 connections, and its index readers hold a few more
    with running_postgres(settings={"max_connections": "100", **(database_settings or {})}) as database:
        full_env = {
            **os.environ,
            "DATA_DIR": str(data),
            "INDEX_URL": database.url,
            "CHAT_HISTORY": "on",
            "HISTORY_DIR": str(workdir / "history"),
            **env,
        }
        ingest_first(full_env, timeout)
        ports = [free_port() for _ in range(workers)]
        with running_workers(ports, free_port(), full_env, workdir / "run", timeout=timeout) as deployment:
            yield deployment, database
