"""The egress audit: every request that leaves the machine, written to a local log before it is sent.

A request leaves the machine when it goes to the cloud backend, or to any server that is not on a
loopback address (an Ollama on another host is not "local" to this machine). Each record holds the
time, the chat and user, the backend, model and endpoint, the payload exactly as sent (after masking)
and its size; a second record with the same id holds the outcome (status, tokens, error). Requests to
this machine write nothing. The log is a JSON-lines file readable by its owner only (0600), kept for
`retention_days`, and never sent anywhere; `python -m rag.egress` prints it.
"""

from __future__ import annotations

import fcntl
import ipaddress
import json
import os
import threading
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import IO, Any
from urllib.parse import urlsplit

LOG_NAME = "egress.jsonl"
PRUNE_EVERY = 200
"""Records appended between two passes that drop records past the retention period."""


@dataclass(frozen=True)
class Requester:
    """Who a request is made for: the chat (thread) and the signed-in user or API client."""

    chat: str = ""
    user: str = ""


REQUESTER: ContextVar[Requester | None] = ContextVar("egress_requester", default=None)
"""Set by the chat and the API around each answer, so a record names its chat without threading it through."""


@contextmanager
def requested_by(chat: str, user: str = "") -> Iterator[None]:
    token = REQUESTER.set(Requester(chat, user))
    try:
        yield
    finally:
        REQUESTER.reset(token)


def on_this_machine(base_url: str) -> bool:
    """Whether `base_url` names a loopback address (localhost, 127.0.0.0/8, ::1)."""
    host = (urlsplit(base_url).hostname or "").rstrip(".").lower()
    if host == "localhost" or host.endswith(".localhost"):
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="milliseconds")


class EgressAudit:
    """Appends to `directory/egress.jsonl`, shared by every worker of the app (appends are locked)."""

    def __init__(self, directory: Path, retention_days: float = 30.0) -> None:
        self.path = directory / LOG_NAME
        self.retention_days = retention_days
        self._since_prune = PRUNE_EVERY  # the first write of a process prunes
        self._lock = threading.Lock()

    def request(self, backend: str, model: str, endpoint: str, payload: dict[str, Any]) -> str:
        """Record a request about to be sent; returns its id, for the outcome."""
        requester = REQUESTER.get() or Requester()
        body = json.dumps(payload, ensure_ascii=False)
        record_id = uuid.uuid4().hex
        self._append(
            {
                "id": record_id,
                "kind": "request",
                "time": _now(),
                "chat": requester.chat,
                "user": requester.user,
                "backend": backend,
                "model": model,
                "endpoint": endpoint,
                "bytes": len(body.encode("utf-8", "surrogatepass")),
                "payload": payload,
            },
            prune=True,
        )
        return record_id

    def outcome(
        self, record_id: str, status: int | str, tokens: tuple[int, int] | None = None, error: str = ""
    ) -> None:
        record: dict[str, Any] = {"id": record_id, "kind": "outcome", "time": _now(), "status": status}
        if tokens is not None:
            record["tokens"] = {"prompt": tokens[0], "completion": tokens[1]}
        if error:
            record["error"] = error
        self._append(record)

    def _append(self, record: dict[str, Any], prune: bool = False) -> None:
        line = json.dumps(record, ensure_ascii=False) + "\n"
        with self._lock:
            self.path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
            descriptor = os.open(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
            with os.fdopen(descriptor, "a", encoding="utf-8", errors="surrogatepass") as file:
                fcntl.flock(file, fcntl.LOCK_EX)
                self._since_prune += prune
                if self._since_prune > PRUNE_EVERY:
                    self._since_prune = 0
                    self._prune(file)
                file.write(line)

    def _prune(self, file: IO[str]) -> None:
        """Drop records older than the retention period (under the append lock)."""
        cutoff = time.time() - self.retention_days * 86_400
        with self.path.open(encoding="utf-8", errors="surrogatepass") as reader:
            lines = reader.readlines()
        kept = [line for line in lines if _timestamp(line) >= cutoff]
        if len(kept) == len(lines):
            return
        file.seek(0)
        file.truncate()
        file.writelines(kept)
        file.flush()

    def records(self, chat: str | None = None, since: datetime | None = None) -> list[dict[str, Any]]:
        """Each request with its outcome merged in, oldest first; filtered by chat and start time."""
        if not self.path.exists():
            return []
        requests: dict[str, dict[str, Any]] = {}
        with self.path.open(encoding="utf-8", errors="surrogatepass") as file:
            for line in file:
                try:
                    record = json.loads(line)
                except json.JSONDecodeError:
                    continue  # a line cut by a crash mid-write
                if record.get("kind") == "request":
                    requests[record["id"]] = {k: v for k, v in record.items() if k != "kind"}
                elif record.get("kind") == "outcome" and record.get("id") in requests:
                    requests[record["id"]]["outcome"] = {k: v for k, v in record.items() if k not in ("id", "kind")}
        cutoff = since.timestamp() if since else float("-inf")
        return [
            r
            for r in requests.values()
            if (chat is None or r.get("chat") == chat) and datetime.fromisoformat(r["time"]).timestamp() >= cutoff
        ]


def _timestamp(line: str) -> float:
    """A record's time in seconds; a line that cannot be read counts as new (kept, never lost by pruning)."""
    try:
        return datetime.fromisoformat(json.loads(line)["time"]).timestamp()
    except (ValueError, KeyError, TypeError):
        return float("inf")
