"""`python -m rag.workers`: several app workers behind nginx, all on one PostgreSQL, from one command.

    INDEX_URL=postgresql://... CHAT_HISTORY=on python -m rag.workers --workers 2 --port 8000

The proxy listens on `--port`; the workers on the next ports (8001, 8002 ...), on 127.0.0.1 only, each a
`chainlit run app.py` process with the same environment: the index and the chat history are in the
database INDEX_URL names, so every worker answers from the same index and sees the same chats, and an
ingestion (`python -m ingest`, a worker's upload) is seen by all. The data folder is ingested first.
nginx (deploy/rag.conf) keeps each browser on one worker. Logs, nginx's configuration and its access
log go to `--runtime` (deploy/run/). Ctrl-C or SIGTERM stops everything; if one process dies, the rest
are stopped and the command fails.
"""

from __future__ import annotations

import argparse
import os
import secrets
import signal
import subprocess
import sys
import time
from collections.abc import Iterator, Mapping, Sequence
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from pathlib import Path

import requests

from rag.config import Settings, is_postgres_url, one_line_errors
from rag.web.auth import is_loopback
from rag.web.proxy import start_nginx, stop_nginx

ROOT = Path(__file__).resolve().parents[1]


def start_app(port: int, env: Mapping[str, str], log_path: Path, host: str = "127.0.0.1") -> subprocess.Popen[bytes]:
    """One app process (`chainlit run app.py`) in a process group of its own, so stopping it stops what it
    started (the embedded model server)."""
    with open(log_path, "wb") as log:  # the child keeps its own copy of the descriptor
        return subprocess.Popen(
            [sys.executable, "-m", "chainlit", "run", "app.py", "--headless", "--host", host, "--port", str(port)],
            cwd=ROOT, env=dict(env), stdout=log, stderr=subprocess.STDOUT, start_new_session=True,
        )  # fmt: skip


def wait_until_up(url: str, process: subprocess.Popen[bytes], log_path: Path, timeout: float) -> None:
    """Return once the app serves its page; raise with the end of its log if it exits or takes too long."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(log_path.read_text(errors="replace")[-3000:])
        try:
            if requests.get(url, timeout=2).status_code == 200:
                return
        except requests.RequestException:
            pass
        time.sleep(0.5)
    raise RuntimeError(f"{url} did not answer within {timeout:.0f} s:\n" + log_path.read_text(errors="replace")[-3000:])


def stop_app(process: subprocess.Popen[bytes]) -> None:
    """Stop the app and everything it started; it may have died already."""
    try:
        os.killpg(process.pid, signal.SIGTERM)
        process.wait(timeout=20)
    except ProcessLookupError:
        return
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        process.wait()


@dataclass(frozen=True)
class Worker:
    port: int
    process: subprocess.Popen[bytes]
    log: Path

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"


@dataclass(frozen=True)
class Deployment:
    """The proxy's URL, the workers behind it, and the folder with their logs and nginx's access log."""

    url: str
    workers: list[Worker]
    proxy: subprocess.Popen[bytes]
    runtime: Path

    @property
    def access_log(self) -> Path:
        return self.runtime / "access.log"

    def first_exit(self, poll: float = 1.0) -> str:
        """Block until a worker or the proxy exits; say which."""
        while True:
            if self.proxy.poll() is not None:
                return f"nginx exited with {self.proxy.returncode}"
            for worker in self.workers:
                if worker.process.poll() is not None:
                    return (
                        f"the worker on port {worker.port} exited with {worker.process.returncode} (see {worker.log})"
                    )
            time.sleep(poll)


@contextmanager
def running_workers(
    ports: Sequence[int],
    proxy_port: int,
    env: Mapping[str, str],
    runtime: Path,
    proxy_host: str = "127.0.0.1",
    timeout: float = 300,
) -> Iterator[Deployment]:
    """Start one worker per port and nginx in front of them; stop them all on exit, whatever happened."""
    runtime.mkdir(parents=True, exist_ok=True)
    env = {**env, "PROXY_LISTEN_HOST": proxy_host}  # the workers listen on loopback, yet are reached through nginx
    with ExitStack() as stack:
        workers = []
        for port in ports:  # started together: each loads the encoder and the index while the others do
            log = runtime / f"worker-{port}.log"
            worker = Worker(port, start_app(port, env, log), log)
            stack.callback(stop_app, worker.process)
            workers.append(worker)
        for worker in workers:
            wait_until_up(worker.url, worker.process, worker.log, timeout)
        proxy = start_nginx(runtime, proxy_port, [f"127.0.0.1:{port}" for port in ports], proxy_host)
        stack.callback(stop_nginx, proxy)
        yield Deployment(f"http://{proxy_host}:{proxy_port}", workers, proxy, runtime)


def ingest_first(env: Mapping[str, str], timeout: float | None = None) -> str:
    """Bring the shared index up to date before the workers start (`python -m ingest`), so they do not all
    find it missing and race to build it; returns its report."""
    done = subprocess.run(
        [sys.executable, "-m", "ingest"], cwd=ROOT, env=dict(env), capture_output=True, text=True, timeout=timeout
    )
    if done.returncode != 0:
        raise RuntimeError(f"ingestion failed:\n{done.stderr[-3000:]}")
    return done.stdout.strip()


def refusal(settings: Settings, proxy_host: str) -> str | None:
    """Why this deployment must not start: workers need a shared database, and an exposed proxy needs logins."""
    if not is_postgres_url(settings.index_url):
        return "set INDEX_URL=postgresql://... : the workers share the index (and chat history) in that database"
    if not is_loopback(proxy_host) and settings.web.users_file is None:
        # the workers listen on loopback and would not know that the proxy exposes them
        return f"the proxy would listen on {proxy_host}, reachable from other machines: set AUTH_USERS_FILE first"
    return None


def worker_environment(settings: Settings, environ: Mapping[str, str]) -> dict[str, str]:
    """The workers' environment: without stored history, one signing secret for all, made for this run."""
    env = dict(environ)
    if not settings.history.enabled:
        env.setdefault("CHAINLIT_AUTH_SECRET", secrets.token_urlsafe(32))
    return env


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m rag.workers", description="Several app workers behind nginx, all on one PostgreSQL."
    )
    parser.add_argument("--workers", type=int, default=2, help="app processes (default 2)")
    parser.add_argument("--port", type=int, default=8000, help="the proxy's port; workers take the next ones")
    parser.add_argument("--host", default="127.0.0.1", help="the proxy's address (default 127.0.0.1)")
    parser.add_argument("--runtime", type=Path, default=ROOT / "deploy" / "run", help="logs and nginx files")
    args = parser.parse_args(argv)
    with one_line_errors():
        settings = Settings.from_env()
    problem = refusal(settings, args.host)
    if problem is not None:
        print(f"error: {problem}", file=sys.stderr)
        return 2
    signal.signal(signal.SIGTERM, signal.default_int_handler)  # stop as on Ctrl-C: everything is cleaned up
    ports = [args.port + n for n in range(1, args.workers + 1)]
    env = worker_environment(settings, os.environ)
    try:
        print(ingest_first(env), flush=True)
        with running_workers(ports, args.port, env, args.runtime, args.host) as up:
            print(f"{up.url} -> workers on ports {', '.join(map(str, ports))}; logs in {up.runtime}", flush=True)
            print(f"error: {up.first_exit()}; stopping the others", file=sys.stderr)
            return 1
    except KeyboardInterrupt:
        return 0


if __name__ == "__main__":
    sys.exit(main())
