"""One place that knows both backends for this process, and owns the embedded server if it started one."""

from __future__ import annotations

import threading
from dataclasses import replace

from rag.config import CloudSettings, LocalSettings
from rag.llm.backends import Backend, cloud_backend
from rag.llm.discovery import discover_local
from rag.llm.egress_audit import EgressAudit
from rag.llm.embedded_server import EmbeddedServer

EMBEDDED_PASSAGE_CHARS = 600
"""The embedded model reads its prompt at 100-300 tokens/s on 2 cores: each source is cut to its best
sentences (measured in the README: the first token comes about twice as soon)."""


class Backends:
    """Resolves the local backend on first use (starting the embedded model if nothing else runs)."""

    def __init__(
        self, local: LocalSettings | None = None, cloud: CloudSettings | None = None, audit: EgressAudit | None = None
    ) -> None:
        self.settings = local or LocalSettings()
        self.audit = audit
        self.cloud: Backend = replace(cloud_backend(cloud or CloudSettings()), audit=audit)
        self.embedded: EmbeddedServer | None = None
        self._local: Backend | None = None
        self._lock = threading.Lock()

    def local(self) -> Backend:
        """Blocking: may start the embedded server (seconds); call it from a worker thread in async code."""
        with self._lock:
            if self._local is None:
                found = discover_local(self.settings)
                backend = found or self._start_embedded()
                style = self.settings.prompt_style
                if style in ("chat", "completion"):
                    backend = replace(backend, prompt_style=style)
                chars = self.settings.passage_chars
                default_chars = 0 if found else EMBEDDED_PASSAGE_CHARS
                passage_chars = default_chars if chars is None else max(chars, 0)
                answer_from = self.settings.answer_from or ("passages" if found else "evidence")
                self._local = replace(backend, passage_chars=passage_chars, answer_from=answer_from, audit=self.audit)
            return self._local

    def _start_embedded(self) -> Backend:
        context = self.settings.context_tokens or 4096
        self.embedded = EmbeddedServer(self.settings.gguf or None, context, self.settings.threads)
        self.embedded.start()
        return self.embedded.backend()

    def get(self, key: str) -> Backend:
        return self.local() if key == "local" else self.cloud

    def close(self) -> None:
        if self.embedded is not None:
            self.embedded.stop()
