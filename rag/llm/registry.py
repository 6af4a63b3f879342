"""One place that knows both backends for this process, and owns the embedded server if it started one."""

from __future__ import annotations

import logging
import threading
from dataclasses import replace
from typing import Literal

from rag.config import CloudSettings, LocalSettings
from rag.llm.backends import Backend, cloud_backend
from rag.llm.discovery import discover_local
from rag.llm.egress_audit import EgressAudit
from rag.llm.embedded_server import EmbeddedServer
from rag.llm.shared_server import advertise, leave_running, running, withdraw

log = logging.getLogger(__name__)
Sharing = Literal["none", "app", "command"]
"""The embedded server of the app is offered to the terminal commands ("app"); a command ("command") answers
through an offered one, or leaves its own running for the next command; tests and benchmarks own theirs."""
KEEP_COMMAND_SERVER_FOR = 600.0
"""Seconds a command's embedded server stays up unused, so that a scripted series of questions costs
seconds each instead of a model start each."""

EMBEDDED_PASSAGE_CHARS = 600
"""The embedded model reads its prompt at 100-300 tokens/s on 2 cores: each source is cut to its best
sentences (measured in the README: the first token comes about twice as soon)."""


class Backends:
    """Resolves the local backend on first use (starting the embedded model if nothing else runs)."""

    def __init__(
        self,
        local: LocalSettings | None = None,
        cloud: CloudSettings | None = None,
        audit: EgressAudit | None = None,
        sharing: Sharing = "none",
    ) -> None:
        self.settings = local or LocalSettings()
        self.audit = audit
        self.sharing = sharing
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
        server = EmbeddedServer(self.settings.gguf or None, context, self.settings.threads)
        if self.sharing == "command" and (found := running(server)) is not None:
            log.info("answering with the embedded model already running at %s", found.base_url)
            return replace(server.backend(), base_url=found.base_url)
        server.start()
        self.embedded = server
        if self.sharing == "command":
            leave_running(server, KEEP_COMMAND_SERVER_FOR)
        elif self.sharing == "app":
            advertise(server)
        return server.backend()

    def get(self, key: str) -> Backend:
        return self.local() if key == "local" else self.cloud

    def close(self) -> None:
        if self.embedded is not None and self.sharing != "command":
            withdraw(self.embedded)
            self.embedded.stop()
