"""What the app knows to be local-only text, so no client can carry it to a cloud model inside a message.

A client sends its own messages with every request: a pasted passage, or (Open WebUI's default title,
tag and follow-up tasks) the whole chat quoted inside one *user* message. Exact-string checks miss
both, so every local-only passage shown and every answer made from local-only text is remembered as
word shingles: hashes of each run of `SHINGLE_WORDS` words (case and punctuation ignored), never the
text itself. A message holding one such run quotes local-only text.

The shingles are appended to a file every worker of the app shares, so a follow-up that reaches another
worker is checked the same way; the file keeps the newest `MAX_SHINGLES`.
"""

from __future__ import annotations

import fcntl
import hashlib
import os
import re
import threading
from pathlib import Path

SHINGLE_WORDS = 8
"""Eight words in a row: a quotation, not a phrase two texts share by chance."""
MIN_WORDS = 4
"""Shorter answers ("Yes [1].") are not remembered: the exact-answer ledger covers those turns."""
MAX_SHINGLES = 2_000_000
LOCAL_ONLY_FILE = "local-only.shingles"
_HASH_BYTES = 8
_WORD = re.compile(r"\w+")


def _words(text: str) -> list[str]:
    return _WORD.findall(text.casefold())


def _hash(words: list[str]) -> bytes:
    return hashlib.blake2b(" ".join(words).encode("utf-8", "surrogatepass"), digest_size=_HASH_BYTES).digest()


def shingles(text: str, size: int = SHINGLE_WORDS) -> list[bytes]:
    """The hash of every run of `size` words, in reading order, each once; a text shorter than that is one
    shingle of its own length."""
    words = _words(text)
    if len(words) < MIN_WORDS:
        return []
    if len(words) <= size:
        return [_hash(words)]
    return list(dict.fromkeys(_hash(words[i : i + size]) for i in range(len(words) - size + 1)))


def _windows(text: str) -> set[bytes]:
    """Every shingle a remembered text could have produced inside `text`, short remembered texts included."""
    words = _words(text)
    found: set[bytes] = set()
    for size in range(MIN_WORDS, SHINGLE_WORDS + 1):
        found.update(_hash(words[i : i + size]) for i in range(len(words) - size + 1))
    return found


class LocalOnlyText:
    """Shingles of local-only text, shared through `path` (None: this process only)."""

    def __init__(self, path: Path | None = None, capacity: int = MAX_SHINGLES) -> None:
        self.path = path
        self.capacity = capacity
        self._known: set[bytes] = set()
        self._read_to = 0
        self._inode = 0
        self._lock = threading.Lock()

    def remember(self, text: str, own_words: str = "") -> None:
        """Remember `text` as local-only; runs it shares with `own_words` (the user's question) are not
        remembered, so asking the same question of the cloud later is not taken for a quotation."""
        theirs = set(shingles(own_words))
        with self._lock:
            new = [shingle for shingle in shingles(text) if shingle not in theirs and shingle not in self._known]
            if not new:
                return
            self._known.update(new)
            if self.path is not None:
                self._append(new)

    def quotes(self, text: str) -> bool:
        """Whether `text` holds a run of words from any local-only text this app has shown or answered."""
        if not text.strip():
            return False
        with self._lock:
            if self.path is not None:
                self._catch_up()
            return not self._known.isdisjoint(_windows(text))

    def _append(self, new: list[bytes]) -> None:
        assert self.path is not None
        self.path.parent.mkdir(parents=True, exist_ok=True)
        descriptor = os.open(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
        with os.fdopen(descriptor, "ab") as file:
            fcntl.flock(file, fcntl.LOCK_EX)
            file.write(b"".join(new))
            file.flush()
            if file.tell() > self.capacity * _HASH_BYTES:
                self._keep_newest()

    def _keep_newest(self) -> None:
        """Past capacity, the oldest half goes (under the same lock every writer takes)."""
        assert self.path is not None
        data = self.path.read_bytes()
        keep = data[len(data) - (self.capacity // 2) * _HASH_BYTES :]
        temporary = self.path.with_suffix(".tmp")
        temporary.write_bytes(keep)
        os.chmod(temporary, 0o600)
        os.replace(temporary, self.path)
        self._known, self._read_to, self._inode = set(), 0, 0

    def _catch_up(self) -> None:
        """Read what other workers appended since the last look (all of it after the file was rewritten)."""
        assert self.path is not None
        try:
            status = self.path.stat()
        except FileNotFoundError:
            return
        size = status.st_size
        if status.st_ino != self._inode or size < self._read_to:  # rewritten by a worker: read it again
            self._known, self._read_to, self._inode = set(), 0, status.st_ino
        if size == self._read_to:
            return
        with self.path.open("rb") as file:
            file.seek(self._read_to)
            data = file.read(size - self._read_to)
        whole = len(data) - len(data) % _HASH_BYTES
        self._known.update(data[i : i + _HASH_BYTES] for i in range(0, whole, _HASH_BYTES))
        self._read_to += whole
