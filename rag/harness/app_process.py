"""Starting the real app (`chainlit run app.py --headless`) on a free port for end-to-end tests."""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from rag.llm.embedded_server import free_port
from rag.workers import ROOT, start_app, stop_app, wait_until_up

SAMPLE_DATA = ROOT / "data"

BROWSER_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
]
ARTIFACTS = ROOT / "test-artifacts"


@contextmanager
def running_app(workdir: Path, env: dict[str, str], timeout: float = 180, host: str = "127.0.0.1") -> Iterator[str]:
    """Yield the app's URL (on loopback, whatever `host` it listens on); the data folder is a copy of the
    samples, the index is built by the app."""
    data = workdir / "data"
    if not data.exists():
        shutil.copytree(SAMPLE_DATA, data)
    port = free_port()
    full_env = {
        **os.environ,
        "DATA_DIR": str(data),
        "INDEX_DIR": str(workdir / "index"),
        "HISTORY_DIR": str(workdir / "history"),
        **env,
    }
    log = workdir / "app.log"
    process = start_app(port, full_env, log, host)
    url = f"http://127.0.0.1:{port}"
    try:
        wait_until_up(url, process, log, timeout)
        yield url
    finally:
        stop_app(process)
