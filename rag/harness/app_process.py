"""Starting the real app (`chainlit run app.py --headless`) on a free port for end-to-end tests."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import requests

from rag.llm.embedded_server import free_port

ROOT = Path(__file__).resolve().parents[2]
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
def running_app(workdir: Path, env: dict[str, str], timeout: float = 180) -> Iterator[str]:
    """Yield the app's URL; the data folder is a copy of the samples, the index is built by the app."""
    data = workdir / "data"
    if not data.exists():
        shutil.copytree(SAMPLE_DATA, data)
    port = free_port()
    full_env = {**os.environ, "DATA_DIR": str(data), "INDEX_DIR": str(workdir / "index"), **env}
    log = open(workdir / "app.log", "wb")  # noqa: SIM115
    process = subprocess.Popen(
        [sys.executable, "-m", "chainlit", "run", "app.py", "--headless", "--host", "127.0.0.1", "--port", str(port)],
        cwd=ROOT, env=full_env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True,
    )  # fmt: skip
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if process.poll() is not None:
                raise RuntimeError((workdir / "app.log").read_text(errors="replace")[-3000:])
            try:
                if requests.get(url, timeout=2).status_code == 200:
                    break
            except requests.RequestException:
                time.sleep(0.5)
        yield url
    finally:
        _stop(process)
        log.close()


def _stop(process: subprocess.Popen[bytes]) -> None:
    """Stop the app and everything it started (the embedded model server); it may have died already."""
    try:
        os.killpg(process.pid, signal.SIGTERM)
        process.wait(timeout=20)
    except ProcessLookupError:
        return
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
