"""Which earlier answers a stateless client may send back to a cloud model.

An API client sends the whole conversation with every request, so the local-only mark the chat keeps
beside each turn is lost on the way out and back. The app remembers a fingerprint of every answer it
gave and whether it was made from local-only text; an assistant turn it does not recognise (written by
the client, edited, or from before a restart) is treated as local-only: held back from the cloud,
which the egress line then counts. Privacy wins over continuity.
"""

from __future__ import annotations

import hashlib
import threading
from collections import OrderedDict
from dataclasses import dataclass

MAX_ANSWERS = 5_000


def fingerprint(text: str) -> str:
    """Equal for texts that differ only in whitespace, as clients often trim or re-wrap what they store."""
    return hashlib.sha256(" ".join(text.split()).encode("utf-8", "surrogatepass")).hexdigest()


@dataclass(frozen=True)
class Given:
    """An answer as the app gave it: the model's text alone (without the sources and notes we added)."""

    answer: str
    local_only: bool


class AnswerLedger:
    """Bounded memory of answers given, by the fingerprint of the message the client received."""

    def __init__(self, capacity: int = MAX_ANSWERS) -> None:
        self.capacity = capacity
        self._given: OrderedDict[str, Given] = OrderedDict()
        self._lock = threading.Lock()

    def remember(self, message: str, given: Given) -> None:
        with self._lock:
            key = fingerprint(message)
            earlier = self._given.get(key)
            if earlier is not None and earlier.local_only:
                given = Given(given.answer, True)  # once local-only, always local-only
            self._given[key] = given
            self._given.move_to_end(key)
            while len(self._given) > self.capacity:
                self._given.popitem(last=False)

    def recall(self, message: str) -> Given | None:
        with self._lock:
            return self._given.get(fingerprint(message))

    def as_turn_answer(self, message: str) -> Given:
        """What an assistant message of a client's history stands for: the answer we gave, or, for a
        message we never sent (or no longer remember), the message itself, held back from the cloud."""
        return self.recall(message) or Given(message, True)
