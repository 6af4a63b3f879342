"""One place that knows both backends for this process, and owns the embedded server if it started one."""

from __future__ import annotations

import os
import threading
from dataclasses import replace

from rag.llm.backends import Backend, cloud_backend
from rag.llm.discovery import discover_local
from rag.llm.embedded_server import EmbeddedServer


class Backends:
    """Resolves the local backend on first use (starting the embedded model if nothing else runs)."""

    def __init__(self, env: dict[str, str] | None = None) -> None:
        self.env = dict(os.environ) if env is None else env
        self.cloud: Backend = cloud_backend(self.env)
        self.embedded: EmbeddedServer | None = None
        self._local: Backend | None = None
        self._lock = threading.Lock()

    def local(self) -> Backend:
        """Blocking: may start the embedded server (seconds); call it from a worker thread in async code."""
        with self._lock:
            if self._local is None:
                backend = discover_local(self.env) or self._start_embedded()
                style = self.env.get("LOCAL_PROMPT_STYLE", "").strip()
                self._local = replace(backend, prompt_style=style) if style in ("chat", "completion") else backend
            return self._local

    def _start_embedded(self) -> Backend:
        context = int(self.env.get("LOCAL_CONTEXT_TOKENS", "") or 4096)
        threads = int(self.env.get("LOCAL_THREADS", "") or 1)
        self.embedded = EmbeddedServer(self.env.get("LOCAL_GGUF", "").strip() or None, context, threads)
        self.embedded.start()
        return self.embedded.backend()

    def get(self, key: str) -> Backend:
        return self.local() if key == "local" else self.cloud

    def close(self) -> None:
        if self.embedded is not None:
            self.embedded.stop()
