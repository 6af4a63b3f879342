"""Process-wide state of the chat app: the index (kept live), the backends and the assistant."""

from __future__ import annotations

import asyncio
import logging
from pathlib import Path

from rag.chat.pipeline import Assistant
from rag.chat.presets import Preset, SavedPresets, load_presets
from rag.chat.translation import QuestionTranslator
from rag.config import Settings
from rag.index.embedding import Embedder
from rag.index.records import IndexLocked, IndexMissing
from rag.index.retrieval import Retriever
from rag.ingest.pipeline import IngestReport
from rag.ingest.watch import lock_waits
from rag.ingest.worker import IngestWorker
from rag.llm.backends import Backend, list_models, unavailable_local
from rag.llm.egress_audit import EgressAudit
from rag.llm.registry import Backends, Sharing

log = logging.getLogger(__name__)


class ProgressLog:
    """Ingestion progress as log lines, one per tenth of the chunks embedded (only for runs that embed many)."""

    def __init__(self, least: int = 500) -> None:
        self.least = least
        self.logged = -1

    def __call__(self, phase: str, done: int, total: int) -> None:
        if phase != "embed" or total < self.least:
            return
        tenth = done * 10 // total
        if tenth > self.logged:
            self.logged = tenth
            log.info(
                "indexing: %d of %d chunks embedded (%d%%); the previous index answers meanwhile",
                done,
                total,
                tenth * 10,
            )


class ChatService:
    """Loaded once per app process. The index is refreshed from disk before every question, and the
    data folder is watched, so files dropped into it are answerable without a restart."""

    def __init__(
        self,
        settings: Settings | None = None,
        backends: Backends | None = None,
        build_index: bool = True,
        sharing: Sharing = "none",
    ) -> None:
        self.settings = settings or Settings.from_env()
        self.build_index = build_index  # the app builds a missing index; the terminal commands say it is missing
        self.embedder = Embedder.from_settings(self.settings)
        audit = EgressAudit(self.settings.audit_dir, self.settings.audit.retention_days)
        self.backends = backends or Backends(self.settings.local, self.settings.cloud, audit, sharing)
        self._retriever: Retriever | None = None
        self._assistant: Assistant | None = None
        self.ingest_worker = IngestWorker()
        self.builtin_presets = load_presets(self.settings.presets.file)
        self.saved_presets = SavedPresets(self.settings.history.saved_presets)

    def presets(self, user: str) -> dict[str, Preset]:
        """The task presets a user may choose: the built-in ones, then the ones this user saved."""
        return {**self.builtin_presets, **self.saved_presets.load(user)}

    @property
    def retriever(self) -> Retriever:
        if self._retriever is None:
            try:
                self._retriever = Retriever(self.settings, self.embedder)
            except IndexMissing:
                if not self.build_index:
                    raise
                self.reindex()
                self._retriever = Retriever(self.settings, self.embedder)
        return self._retriever

    def warm_up(self) -> None:
        """Load the index and the encoder before the first question, not during it."""
        self.embedder.encode_query("warm up")
        _ = self.retriever

    @property
    def assistant(self) -> Assistant:
        if self._assistant is None:
            self._assistant = Assistant(
                self.retriever, self.embedder, translator=QuestionTranslator(self.local_backend)
            )
        return self._assistant

    def reindex(self) -> IngestReport:
        """Incremental ingestion of the data folder, in the ingestion process (`IngestWorker`); one at a time.

        After a switch of embedding model this is a whole new generation, built while the previous
        one keeps answering (the retriever searches each generation with its own encoder); progress
        goes to the log, and the retriever moves to the new generation once it is complete.
        """
        self.settings.data_dir.mkdir(parents=True, exist_ok=True)
        report = self.ingest_worker.run(self.settings, ProgressLog())
        if self._retriever is not None:
            self._retriever.refresh()
        return report

    def local_backend(self) -> Backend:
        """The local backend, starting the embedded model if needed; an unavailable one, with the reason, if that fails."""
        try:
            return self.backends.local()
        except Exception as exc:
            log.error("local model unavailable: %s", exc)
            return unavailable_local(str(exc))

    def backend(self, key: str, model: str | None) -> Backend:
        backend = self.local_backend() if key == "local" else self.backends.cloud
        if backend.available and model and model != backend.model:
            return backend.with_model(model)
        return backend

    @staticmethod
    def models(backend: Backend) -> list[str]:
        if not backend.available:
            return []
        return list_models(backend) or [backend.model]

    def privacy_warnings(self) -> list[str]:
        """PRIVATE_PATHS entries that match no indexed file: most likely a typo that protects nothing."""
        return self.assistant.privacy.warnings(self.retriever.snapshot.manifest.files)

    def corpus_size(self) -> tuple[int, int]:
        snapshot = self.retriever.snapshot
        files = sum(1 for entry in snapshot.manifest.files.values() if entry.chunk_ids)
        return len(snapshot.chunks), files

    async def watch_data(self) -> None:
        """Re-index shortly after anything in the data folder changes (runs for the app's lifetime)."""
        from watchfiles import awatch

        data: Path = self.settings.data_dir
        data.mkdir(parents=True, exist_ok=True)
        ready = False
        async for changes in awatch(data, debounce=1000, step=100, yield_on_timeout=True, rust_timeout=500):
            # The first pass catches changes made while the watcher was starting.
            if not ready or any(not Path(path).name.startswith(".") for _, path in changes):
                ready = True
                try:
                    report = await self.reindex_when_unlocked()
                    if report.added or report.updated or report.removed:
                        log.info(
                            "re-indexed: %d added, %d updated, %d removed",
                            len(report.added),
                            len(report.updated),
                            len(report.removed),
                        )
                except Exception as exc:
                    log.error("re-indexing failed: %s", exc)

    async def reindex_when_unlocked(self) -> IngestReport:
        """Re-index, waiting while another ingestion (`python -m ingest`) holds the index: the change
        that woke the watcher may be newer than that ingestion's scan. Cancelled when the app stops."""
        for attempt, pause in enumerate(lock_waits()):
            try:
                return await asyncio.to_thread(self.reindex)
            except IndexLocked:
                if attempt == 0:
                    log.info("another ingestion is writing the index; re-indexing when it finishes")
                await asyncio.sleep(pause)
        return await asyncio.to_thread(self.reindex)
