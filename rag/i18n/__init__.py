"""The user's language: one message catalog (English, Bulgarian, Russian) for every text the app writes.

Messages live in `catalog/<language>.toml`, keyed by name, with `str.format` fields. The library
describes what happened as `Text` (a key and its values) rather than as an English sentence, so the
chat renders it in the reader's language, the API and the logs in English, and a test can check that
every language has every message with the same fields.
"""

from __future__ import annotations

import string
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Literal, cast, get_args

Language = Literal["en", "bg", "ru"]
LANGUAGES: tuple[Language, ...] = get_args(Language)
DEFAULT: Language = "en"
CATALOG_DIR = Path(__file__).with_name("catalog")


@cache
def catalog(language: Language) -> Mapping[str, str]:
    """The messages of one language, read once; nested tables become dotted keys ("answer.sources")."""
    with (CATALOG_DIR / f"{language}.toml").open("rb") as handle:
        return _flatten(tomllib.load(handle))


def _flatten(table: Mapping[str, object], prefix: str = "") -> dict[str, str]:
    flat: dict[str, str] = {}
    for key, value in table.items():
        name = f"{prefix}{key}"
        if isinstance(value, Mapping):
            flat.update(_flatten(cast(Mapping[str, object], value), f"{name}."))
        else:
            flat[name] = str(value)
    return flat


def fields(pattern: str) -> set[str]:
    """The named fields a message fills in (what the completeness test compares across languages)."""
    return {name for _, name, _, _ in string.Formatter().parse(pattern) if name}


def browser_language(accepted: str | None) -> Language:
    """The first language of an Accept-Language header (or a tag like "bg-BG") that the catalog has."""
    for part in (accepted or "").split(","):
        code = part.split(";")[0].strip().split("-")[0].lower()
        if code in LANGUAGES:
            return code
    return DEFAULT


def written_language(detected: str) -> Language:
    """A language code detected in a text (see `rag.answers.language`), or English for any other."""
    return detected if detected in LANGUAGES else DEFAULT


def tr(language: Language, key: str, **values: object) -> str:
    """The message `key` in `language`, its fields filled (values that are `Text` rendered in the same language)."""
    pattern = catalog(language).get(key) or catalog(DEFAULT)[key]
    rendered = {name: value.render(language) if isinstance(value, Text) else value for name, value in values.items()}
    return pattern.format(**rendered)


def say(message: str | Text | None, language: Language) -> str:
    """A message for a reader: `Text` rendered in their language; plain strings (names, server errors) as they are."""
    if isinstance(message, Text):
        return message.render(language)
    return message or ""


@dataclass(frozen=True)
class Text:
    """A message not yet put into words: rendered for each reader; `str()` gives English (logs, the API)."""

    key: str
    values: Mapping[str, object] = field(default_factory=dict)

    @classmethod
    def of(cls, key: str, **values: object) -> Text:
        return cls(key, values)

    def render(self, language: Language) -> str:
        return tr(language, self.key, **self.values)

    def __str__(self) -> str:
        return self.render(DEFAULT)


__all__ = [
    "DEFAULT",
    "LANGUAGES",
    "Language",
    "Text",
    "browser_language",
    "catalog",
    "fields",
    "say",
    "tr",
    "written_language",
]
