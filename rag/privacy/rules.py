"""What may leave the machine: local-only documents, and masking before a cloud request.

Files under `data/private/`, and any file or folder listed in PRIVATE_PATHS (comma-separated
paths or glob patterns relative to the data folder), are local-only: their passages are never put
into a request to a cloud backend. Everything that does go to a cloud backend (question, history,
passages) is passed through the redactor first.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field, replace
from fnmatch import fnmatchcase

from rag.config import PrivacySettings
from rag.i18n import DEFAULT, Language, tr
from rag.index.retrieval import Hit
from rag.llm.requests import Prompt
from rag.privacy.redaction import Redactor

PRIVATE_FOLDER = "private"


@dataclass(frozen=True)
class PrivacyRules:
    private_patterns: tuple[str, ...] = (f"{PRIVATE_FOLDER}/*",)
    user_patterns: tuple[str, ...] = ()  # regular expressions masked on top of the built-in ones
    listed: tuple[str, ...] = ()  # PRIVATE_PATHS entries as written, to warn about one that matches nothing

    @classmethod
    def from_settings(cls, settings: PrivacySettings) -> PrivacyRules:
        """The rules for these settings; an invalid REDACT_PATTERNS entry is reported here, at start, not mid-answer."""
        listed = tuple(p.strip("/") for p in settings.private_paths)
        expanded = tuple(x for p in listed for x in (p, f"{p}/*"))
        Redactor.with_user_patterns(list(settings.redact_patterns))  # raises ValueError naming a bad pattern
        return cls((f"{PRIVATE_FOLDER}/*", *expanded), settings.redact_patterns, listed)

    @staticmethod
    def _covers(pattern: str, source: str) -> bool:
        """Letter case is ignored: a folder named `Private/` or `FINANCE/` is as local-only as `private/`."""
        return fnmatchcase(source.casefold(), pattern.casefold())

    def is_private(self, source: str) -> bool:
        return any(self._covers(pattern, source) for pattern in self.private_patterns)

    def unmatched(self, sources: Iterable[str]) -> list[str]:
        """PRIVATE_PATHS entries that cover none of `sources`: most likely a typo that protects nothing."""
        names = list(sources)
        return [
            entry
            for entry in self.listed
            if not any(self._covers(entry, name) or self._covers(f"{entry}/*", name) for name in names)
        ]

    def warnings(self, sources: Iterable[str]) -> list[str]:
        """The sentence for each PRIVATE_PATHS entry that covers none of `sources`."""
        return [f"PRIVATE_PATHS entry '{entry}' matches no file" for entry in self.unmatched(sources)]

    def shareable(self, hits: list[Hit]) -> tuple[list[Hit], list[Hit]]:
        """(hits that may go to the cloud, hits that must stay on this machine)."""
        private = [h for h in hits if self.is_private(h.source) or any(self.is_private(d) for d in h.duplicates)]
        return [h for h in hits if h not in private], private

    def has_private(self, hits: list[Hit]) -> bool:
        """Whether any passage is local-only: then a failure never falls back to the cloud."""
        return bool(self.shareable(hits)[1])


@dataclass
class Egress:
    """What one request sent off the machine, for the line shown under every answer."""

    cloud: bool
    chunks: int = 0
    files: int = 0
    held_back: int = 0
    masked: int = 0
    refused: bool = False
    turns: int = 0  # earlier turns of the chat sent with the question
    held_turns: int = 0  # earlier turns kept back because they used or quote local-only text
    quoted: bool = False  # the question or system prompt quotes local-only text: nothing is sent
    records: list[str] = field(default_factory=list)  # the egress audit's ids of what was sent
    redactor: Redactor | None = field(default=None, repr=False)

    def summary(self, language: Language = DEFAULT) -> str:
        """One line in the reader's language; the API and the logs use English."""
        if not self.cloud or self.refused:
            held = self._held(language) if self.refused else []
            nothing = tr(language, "egress.nothing_left")
            return nothing + (" " + tr(language, "egress.held_nothing_sent", held="; ".join(held)) if held else "")
        parts = [tr(language, "egress.sent", chunks=self.chunks, files=self.files)]
        if self.turns:
            parts[0] += tr(language, "egress.sent_turns", turns=self.turns)
        parts += self._held(language)
        if self.masked:
            parts.append(tr(language, "egress.masked", count=self.masked))
        return "; ".join(parts)

    def _held(self, language: Language) -> list[str]:
        parts = [tr(language, "egress.held_quote")] if self.quoted else []
        if self.held_back:
            parts.append(tr(language, "egress.held_chunks", count=self.held_back))
        if self.held_turns:
            parts.append(tr(language, "egress.held_turns", count=self.held_turns))
        return parts


def redact_prompt(prompt: Prompt, redactor: Redactor) -> Prompt:
    """The same prompt with every text that would be sent passed through the redactor."""
    messages = [{**m, "content": redactor.redact(m["content"])} for m in prompt.messages]
    return replace(prompt, messages=messages, text=redactor.redact(prompt.text) if prompt.text else prompt.text)
