"""The pieces of a several-worker deployment that need no server: where chat history goes, the one signing
secret that workers started together agree on, the nginx configuration the launcher writes, and what the
launcher refuses to start."""

from __future__ import annotations

import os
import subprocess
import threading
from pathlib import Path

import pytest

from rag.config import Settings
from rag.web.auth import stored_secret
from rag.web.proxy import ProxyUnavailable, main_config, nginx_program, site_config
from rag.workers import refusal, worker_environment

PG = "postgresql://rag:secret@db.example.org:5432/rag?sslmode=require"


def test_history_goes_to_the_index_database_unless_another_is_named() -> None:
    shared = Settings.from_env(environ={"CHAT_HISTORY": "on", "INDEX_URL": PG}).history
    assert shared.url == PG
    assert shared.database_url() == "postgresql+psycopg://rag:secret@db.example.org:5432/rag?sslmode=require"
    assert "secret" not in repr(shared)

    other = "postgres://chats@127.0.0.1/history"
    named = Settings.from_env(environ={"CHAT_HISTORY": "on", "INDEX_URL": PG, "HISTORY_URL": other}).history
    assert named.database_url() == "postgresql+psycopg://chats@127.0.0.1/history"

    local = Settings.from_env(environ={"CHAT_HISTORY": "on", "HISTORY_DIR": "/tmp/h"}).history
    assert local.url == "" and local.database_url() == "sqlite+aiosqlite:////tmp/h/chats.db"
    with pytest.raises(ValueError, match="HISTORY_URL"):
        Settings.from_env(environ={"HISTORY_URL": "mysql://x"})


def test_workers_started_together_all_read_the_same_whole_secret(tmp_path: Path) -> None:
    path = tmp_path / "history" / "auth-secret"
    barrier = threading.Barrier(8)
    seen: list[str] = []

    def worker() -> None:
        barrier.wait()
        seen.append(stored_secret(path))

    threads = [threading.Thread(target=worker) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(set(seen)) == 1 and len(seen[0]) >= 40
    assert path.stat().st_mode & 0o077 == 0
    assert [p.name for p in path.parent.iterdir()] == ["auth-secret"], "no drafts left behind"


def test_the_site_file_is_rendered_for_the_given_addresses() -> None:
    rendered = site_config("127.0.0.1:9000", ["127.0.0.1:9101", "127.0.0.1:9102", "127.0.0.1:9103"])
    assert "    listen 127.0.0.1:9000;\n" in rendered and "listen 127.0.0.1:8000" not in rendered
    start = rendered.index("upstream rag_workers {")
    upstream = rendered[start : rendered.index("}", start)]
    assert upstream.count("server ") == 3 and "127.0.0.1:9103;" in upstream and "8001" not in upstream
    assert "hash $rag_sticky consistent;" in upstream, "sticky sessions kept"
    with pytest.raises(ValueError, match="upstream"):
        site_config("127.0.0.1:9000", ["127.0.0.1:1"], template="server { listen 80; }")


def test_nginx_accepts_the_configuration_the_launcher_writes(tmp_path: Path) -> None:
    try:
        nginx = nginx_program()
    except ProxyUnavailable as exc:
        pytest.skip(str(exc))
    site = tmp_path / "rag.conf"
    site.write_text(site_config("127.0.0.1:9000", ["127.0.0.1:9101", "127.0.0.1:9102"]))
    config = tmp_path / "nginx.conf"
    config.write_text(main_config(tmp_path, site))
    (tmp_path / "temp").mkdir()
    checked = subprocess.run(
        [nginx, "-t", "-p", str(tmp_path), "-c", str(config), "-e", str(tmp_path / "error.log")],
        capture_output=True,
        text=True,
        check=False,
    )
    assert checked.returncode == 0, checked.stderr


def test_the_launcher_needs_a_shared_database_and_logins_on_an_exposed_proxy(tmp_path: Path) -> None:
    assert "INDEX_URL" in (refusal(Settings.from_env(environ={}), "127.0.0.1") or "")
    on_pg = Settings.from_env(environ={"INDEX_URL": PG})
    assert refusal(on_pg, "127.0.0.1") is None
    assert "AUTH_USERS_FILE" in (refusal(on_pg, "0.0.0.0") or "")
    users = Settings.from_env(environ={"INDEX_URL": PG, "AUTH_USERS_FILE": str(tmp_path / "users.txt")})
    assert refusal(users, "0.0.0.0") is None


def test_workers_without_stored_history_share_one_secret_made_for_the_run() -> None:
    off = {"INDEX_URL": PG, "CHAT_HISTORY": "off"}
    without = worker_environment(Settings.from_env(environ=off), {"PATH": os.environ["PATH"]})
    assert len(without["CHAINLIT_AUTH_SECRET"]) >= 40
    kept = worker_environment(Settings.from_env(environ={"INDEX_URL": PG, "CHAT_HISTORY": "on"}), {})
    assert "CHAINLIT_AUTH_SECRET" not in kept, "with history on, the secret stored with the chats is used"
