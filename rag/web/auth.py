"""Login for the chat app (users from a file, hashed passwords), the session secret, and who can reach the app."""

from __future__ import annotations

import base64
import hashlib
import hmac
import ipaddress
import os
import secrets
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from rag.config import HistorySettings

ITERATIONS = 310_000


def hash_password(password: str) -> str:
    """PBKDF2-SHA256 with a random salt, encoded as pbkdf2_sha256$iterations$salt$hash."""
    salt = secrets.token_bytes(16)
    digest = hashlib.pbkdf2_hmac("sha256", password.encode("utf-8"), salt, ITERATIONS)
    return f"pbkdf2_sha256${ITERATIONS}${base64.b64encode(salt).decode()}${base64.b64encode(digest).decode()}"


def verify_password(password: str, encoded: str) -> bool:
    try:
        scheme, iterations, salt, expected = encoded.split("$")
    except ValueError:
        return False
    if scheme != "pbkdf2_sha256":
        return False
    digest = hashlib.pbkdf2_hmac("sha256", password.encode("utf-8"), base64.b64decode(salt), int(iterations))
    return hmac.compare_digest(digest, base64.b64decode(expected))


def load_users(path: Path) -> dict[str, str]:
    """`name:hash` per line (blank lines and # comments ignored), as written by `python -m rag.users`."""
    users = {}
    for line in path.read_text(encoding="utf-8").splitlines():
        if line.strip() and not line.lstrip().startswith("#"):
            name, _, encoded = line.strip().partition(":")
            users[name] = encoded
    return users


def is_loopback(host: str) -> bool:
    """Whether only this machine can reach `host`; an empty address is every interface, as servers bind it."""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def reachable_host(bound: str, proxy: str) -> str:
    """The address that decides who can reach the app: the one it is bound to, or the address of the proxy in
    front of it when the app is bound to loopback (workers behind nginx are reached through nginx)."""
    return proxy if proxy and is_loopback(bound) else bound


def exposure_warning(host: str, login_enabled: bool) -> str | None:
    """A loud warning when anyone on the network could open the app and read the documents."""
    if login_enabled or is_loopback(host):
        return None
    return (
        f"WARNING: the app listens on {host}, reachable from other machines, and has no login. Anyone who can "
        "reach it can read your documents through it. Set AUTH_USERS_FILE (see README) or listen on 127.0.0.1."
    )


def stored_secret(path: Path) -> str:
    """A signing secret kept beside the chat history, so logins and resumed chats survive a restart.

    Written whole before it appears under its name (a hard link fails if another worker's is there
    first), so workers started together never read a half-written file and all use the same secret.
    """
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        draft = path.with_name(f".{path.name}.{os.getpid()}.{secrets.token_hex(4)}")
        descriptor = os.open(draft, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(descriptor, "w") as handle:
            handle.write(secrets.token_urlsafe(32))
        try:
            os.link(draft, path)
        except FileExistsError:
            pass  # another worker's secret won
        finally:
            draft.unlink()
    return path.read_text().strip()


def history_refusal(config: HistorySettings, host: str, login_enabled: bool) -> str | None:
    """Why history stays off although asked for: stored chats quote private documents, and without a login
    everyone who can reach an exposed app would share one history."""
    if config.enabled and not login_enabled and not is_loopback(host):
        return (
            f"Chat history stays off: the app listens on {host}, reachable from other machines, and has no login "
            "(set AUTH_USERS_FILE to keep each user's chats)."
        )
    return None


def signing_secret(config: HistorySettings) -> str:
    """The secret Chainlit signs sessions with, kept with the chats so logins and chats survive restarts;
    in a shared database, every worker gets the same one."""
    if config.url:
        from rag.chat import history_postgres  # psycopg is optional: only needed for a shared history

        return history_postgres.stored_secret(config.url)
    return stored_secret(config.directory / "auth-secret")
