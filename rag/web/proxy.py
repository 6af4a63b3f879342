"""nginx in front of the app workers: the site file `deploy/rag.conf`, rendered for given addresses and run
as a child process with everything it writes (pid, logs, temporary files) in one folder of its own.

The site file in the repository is the documented configuration, valid as it is for a system nginx; the
launcher only swaps its `listen` address and its upstream's `server` lines, so what runs is what the
README shows. Debian's nginx is used (`make workers` installs it when missing).
"""

from __future__ import annotations

import os
import pwd
import re
import shutil
import signal
import socket
import subprocess
import time
from collections.abc import Sequence
from pathlib import Path

SITE = Path(__file__).resolve().parents[2] / "deploy" / "rag.conf"
SERVER_LINES = re.compile(r"(upstream rag_workers \{\n[^\n]*\n)((?:[ \t]*server [^\n]*\n)+)")
LISTEN_LINE = re.compile(r"^([ \t]*)listen [^\n]*;$", re.MULTILINE)
WORKER_USER = "www-data"  # Debian's nginx user, for the worker processes when started as root


class ProxyUnavailable(RuntimeError):
    """nginx is not installed, or did not start."""


def nginx_program() -> str:
    """Debian installs nginx in /usr/sbin, which is not on every user's PATH."""
    found = shutil.which("nginx") or shutil.which("nginx", path="/usr/sbin:/usr/local/sbin")
    if found is None:
        raise ProxyUnavailable("nginx is not installed: `apt-get install nginx` (or `make workers`)")
    return found


def site_config(listen: str, workers: Sequence[str], template: str | None = None) -> str:
    """The site file with this `listen` address and one upstream `server` line per worker (`host:port`)."""
    text = template if template is not None else SITE.read_text(encoding="utf-8")
    servers = "".join(f"    server {worker};\n" for worker in workers)
    text, upstreams = SERVER_LINES.subn(lambda match: match.group(1) + servers, text)
    text, listens = LISTEN_LINE.subn(lambda match: f"{match.group(1)}listen {listen};", text)
    if (upstreams, listens) != (1, 1):
        raise ValueError(f"{SITE.name} must have one upstream rag_workers with server lines and one listen line")
    return text


def main_config(runtime: Path, site: Path) -> str:
    """A whole nginx configuration that includes the site and keeps every file nginx writes under `runtime`."""
    user = f"user {WORKER_USER};\n" if os.geteuid() == 0 and _user_exists(WORKER_USER) else ""
    temp = "\n".join(
        f"    {kind}_temp_path {runtime / 'temp' / kind};"
        for kind in ("client_body", "proxy", "fastcgi", "uwsgi", "scgi")
    )
    return (
        f"{user}worker_processes 1;\npid {runtime / 'nginx.pid'};\nerror_log {runtime / 'error.log'} warn;\n"
        "events {\n    worker_connections 4096;\n}\n"
        f"http {{\n{temp}\n    include {site};\n    access_log {runtime / 'access.log'} rag;\n}}\n"
    )


def _user_exists(name: str) -> bool:
    try:
        pwd.getpwnam(name)
    except KeyError:
        return False
    return True


def start_nginx(
    runtime: Path, listen_port: int, workers: Sequence[str], listen_host: str = "127.0.0.1"
) -> subprocess.Popen[bytes]:
    """Render the configuration into `runtime`, start nginx in the foreground, return once it accepts connections."""
    (runtime / "temp").mkdir(parents=True, exist_ok=True)
    site = runtime / "rag.conf"
    site.write_text(site_config(f"{listen_host}:{listen_port}", workers), encoding="utf-8")
    config = runtime / "nginx.conf"
    config.write_text(main_config(runtime, site), encoding="utf-8")
    command = [nginx_program(), "-p", str(runtime), "-c", str(config), "-e", str(runtime / "error.log")]
    process = subprocess.Popen(
        [*command, "-g", "daemon off;"], stdout=subprocess.DEVNULL, stderr=subprocess.STDOUT, start_new_session=True
    )
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if process.poll() is not None:
            log = (runtime / "error.log").read_text(errors="replace") if (runtime / "error.log").exists() else ""
            raise ProxyUnavailable(f"nginx did not start:\n{log[-2000:]}")
        try:
            socket.create_connection((listen_host, listen_port), timeout=1).close()
            return process
        except OSError:
            time.sleep(0.1)
    stop_nginx(process)
    raise ProxyUnavailable(f"nginx did not listen on {listen_host}:{listen_port} within 30 s")


def stop_nginx(process: subprocess.Popen[bytes]) -> None:
    """Fast shutdown (SIGTERM closes open sockets at once; a graceful one would wait for every open chat)."""
    if process.poll() is not None:
        return
    process.send_signal(signal.SIGTERM)
    try:
        process.wait(timeout=10)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        process.wait()
