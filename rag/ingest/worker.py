"""Ingestion in a process of its own, for the app.

Reading files is Python code that holds the interpreter lock (parsers, patterns): run in a thread of the
app, a hostile file held the app's event loop with it, and a crash in a native parser ended the app. In
a child process neither can happen: the app keeps answering from the index it has while the child
builds the next generation, and a child that dies is replaced on the next run, the index unchanged.
The child keeps its encoder between runs, so only the first run pays for loading it.
"""

from __future__ import annotations

import logging
import multiprocessing
import threading
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool

from rag.config import Settings
from rag.index.embedding import Embedder
from rag.ingest.pipeline import IngestReport, Progress, ingest

_ENCODERS: dict[tuple[object, ...], Embedder] = {}
"""The child's loaded encoders, by what the settings say about them."""


class IngestCrashed(RuntimeError):
    """The ingestion process died mid-run (a native parser crashed on a file, or memory ran out)."""


def _ingest_in_child(settings: Settings, progress: Progress | None) -> IngestReport:
    key = (settings.encoder, settings.embed_device, settings.embed_batch_size, settings.embed_cache_dir)
    embedder = _ENCODERS.get(key) or _ENCODERS.setdefault(key, Embedder.from_settings(settings))
    return ingest(settings, embedder=embedder, progress=progress)


def _log_like(level: int) -> None:
    logging.basicConfig(level=level, format="%(asctime)s - %(name)s - %(levelname)s - %(message)s")


class IngestWorker:
    """One child process, started on the first run and kept; runs never overlap."""

    def __init__(self) -> None:
        self._pool: ProcessPoolExecutor | None = None
        self._lock = threading.Lock()

    def run(self, settings: Settings, progress: Progress | None = None) -> IngestReport:
        """Ingest in the child and wait for its report (blocking: call it from a thread in async code).
        Errors raised there (IndexLocked, IndexUnavailable...) are raised here."""
        with self._lock:
            if self._pool is None:
                context = multiprocessing.get_context("spawn")  # no copy of the app's threads and sockets
                level = logging.getLogger().getEffectiveLevel()
                self._pool = ProcessPoolExecutor(1, mp_context=context, initializer=_log_like, initargs=(level,))
            pool = self._pool
            try:
                return pool.submit(_ingest_in_child, settings, progress).result()
            except BrokenProcessPool as exc:
                self._pool = None
                raise IngestCrashed(
                    "the ingestion process stopped unexpectedly (a file it was reading may have crashed it); "
                    "the index is unchanged and the next change starts a new one"
                ) from exc

    def close(self) -> None:
        with self._lock:
            if self._pool is not None:
                self._pool.shutdown(cancel_futures=True)
                self._pool = None
