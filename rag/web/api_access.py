"""Who may use the OpenAI-compatible API: bearer keys from RAG_API_KEY or a keys file.

The API answers from the user's documents, so it is closed unless a key is configured. Only an app
that listens on loopback alone may open it without a key, and only when told so (RAG_API_KEY=off):
every program on this machine can then use it, which is what a single-user laptop wants.
"""

from __future__ import annotations

import hashlib
import hmac
import logging
from dataclasses import dataclass
from pathlib import Path

from rag.config import WebSettings
from rag.web.auth import is_loopback

log = logging.getLogger(__name__)
OPEN = "off"


class Denied(Exception):
    """A request without a valid key; the message says what to do, never which keys exist."""


@dataclass
class ApiAccess:
    key: str
    keys_file: Path | None
    loopback_only: bool

    @classmethod
    def from_settings(cls, web: WebSettings, host: str) -> ApiAccess:
        """The access rules of an app others reach at `host` (see `reachable_host`)."""
        return cls(web.api_key.strip(), web.api_keys_file, is_loopback(host))

    @property
    def open(self) -> bool:
        """No key needed: explicitly turned off, on an app nobody else can reach."""
        return self.key.lower() == OPEN and self.loopback_only

    def describe(self) -> str:
        """One line for the log at start: whether the API is usable and how (never a key)."""
        if self.open:
            return "API /v1 open without a key (RAG_API_KEY=off, loopback only)"
        if self.key.lower() == OPEN:
            return (
                "API /v1 closed: RAG_API_KEY=off is only allowed when the app (and any proxy) listens on loopback only"
            )
        if self.key or self.keys_file:
            return "API /v1 on: bearer key required"
        return "API /v1 closed: set RAG_API_KEY (or RAG_API_KEYS_FILE) to use it"

    def client(self, authorization: str | None) -> str:
        """The name of the client a request comes from; raises Denied with the reason otherwise."""
        if self.open:
            return "local"
        if self.key.lower() == OPEN:
            raise Denied(
                "The API needs a key: RAG_API_KEY=off is refused because the app is reachable from other machines."
            )
        keys = self._keys()
        if not keys:
            raise Denied("The API is off: start the app with RAG_API_KEY (or RAG_API_KEYS_FILE) set.")
        scheme, _, presented = (authorization or "").partition(" ")
        if scheme.lower() != "bearer" or not presented.strip():
            raise Denied("Missing API key: send 'Authorization: Bearer <key>'.")
        digest = _digest(presented.strip())
        # every key compared, in constant time each: timing tells nothing about which one nearly matched
        matches = [name for name, key in keys.items() if hmac.compare_digest(digest, _digest(key))]
        if not matches:
            raise Denied("Invalid API key.")
        return matches[0]

    def _keys(self) -> dict[str, str]:
        """Name to key; the file is read on every request, so a key added or revoked works at once."""
        keys = {"default": self.key} if self.key else {}
        if self.keys_file is not None:
            try:
                lines = self.keys_file.read_text(encoding="utf-8").splitlines()
            except OSError as exc:
                log.error("API keys file unreadable: %s", type(exc).__name__)
                lines = []
            for number, line in enumerate(lines, start=1):
                line = line.strip()
                if line and not line.startswith("#"):
                    name, _, key = line.partition(":") if ":" in line else (f"client {number}", "", line)
                    if key.strip():
                        keys[name.strip() or f"client {number}"] = key.strip()
        return keys


def _digest(key: str) -> bytes:
    """Keys are compared as digests, so their lengths do not show either."""
    return hashlib.sha256(key.encode("utf-8", "surrogatepass")).digest()
