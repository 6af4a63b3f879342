"""One embedded model server for the terminal commands and the app, instead of one per command.

Starting llama.cpp and loading the model takes most of a `python -m rag.ask` call (about half a minute
on 2 cores). The app advertises its embedded server in a small state file; `rag.ask` answers through an
advertised server when there is one, and otherwise starts its own and leaves it running for a while, a
watchdog process stopping it once nobody has used it for `idle` seconds. Each use touches the file.
The state file lives in the temporary folder, readable by its owner only, and names a loopback URL only.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import tempfile
import time
from dataclasses import asdict, dataclass
from pathlib import Path

import requests

from rag.llm.embedded_server import EmbeddedServer

WATCH_EVERY = 5.0


def state_file() -> Path:
    return Path(tempfile.gettempdir()) / f"rag-embedded-server-{os.getuid()}.json"


@dataclass(frozen=True)
class Advertised:
    """What a running embedded server is: enough to reuse it only where it is the same model and context."""

    base_url: str
    model: str
    context_tokens: int
    pid: int


def advertise(server: EmbeddedServer, path: Path | None = None) -> None:
    """Write the state file for `server` (owner-only, replaced atomically)."""
    path = path or state_file()
    assert server.process is not None
    state = Advertised(server.base_url, server.source.name, server.context_tokens, server.process.pid)
    temporary = path.with_suffix(f".{os.getpid()}.tmp")
    descriptor = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(descriptor, "w", encoding="utf-8") as file:
        json.dump(asdict(state), file)
    os.replace(temporary, path)


def withdraw(server: EmbeddedServer, path: Path | None = None) -> None:
    """Remove the state file if it still names `server`."""
    path = path or state_file()
    found = _read(path)
    if found is not None and server.process is not None and found.pid == server.process.pid:
        path.unlink(missing_ok=True)


def _read(path: Path) -> Advertised | None:
    try:
        return Advertised(**json.loads(path.read_text(encoding="utf-8")))
    except (OSError, ValueError, TypeError):
        return None


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except OSError:
        return False
    return True


def running(server: EmbeddedServer, path: Path | None = None) -> Advertised | None:
    """The advertised server, when it runs the model and context `server` would, and answers now."""
    path = path or state_file()
    found = _read(path)
    if found is None or (found.model, found.context_tokens) != (server.source.name, server.context_tokens):
        return None
    if not found.base_url.startswith("http://127.0.0.1:") or not _alive(found.pid):
        return None
    try:
        models = requests.get(f"{found.base_url}/models", timeout=3)
        if models.status_code != 200 or server.source.name not in models.text:
            return None
    except requests.RequestException:
        return None
    os.utime(path)  # in use: the watchdog of a command's server waits again
    return found


def leave_running(server: EmbeddedServer, idle: float, path: Path | None = None) -> None:
    """Keep a command's server after the command ends; a watchdog stops it after `idle` unused seconds."""
    path = path or state_file()
    assert server.process is not None
    advertise(server, path)
    server.detach()
    watchdog = [sys.executable, "-m", "rag.llm.shared_server", str(server.process.pid), str(path), str(idle)]
    subprocess.Popen(
        watchdog, start_new_session=True, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )


def watch(pid: int, path: Path, idle: float) -> None:
    """Stop the server once its state file has not been touched for `idle` seconds (or is gone)."""
    while _alive(pid):
        found = _read(path)
        try:
            unused = time.time() - path.stat().st_mtime if found is not None and found.pid == pid else float("inf")
        except OSError:
            unused = float("inf")
        if unused > idle:
            os.kill(pid, signal.SIGTERM)
            if found is not None and found.pid == pid:
                path.unlink(missing_ok=True)
            return
        time.sleep(WATCH_EVERY)


if __name__ == "__main__":
    watch(int(sys.argv[1]), Path(sys.argv[2]), float(sys.argv[3]))
