"""Which of the app's languages a text is written in, from its script and Bulgarian's own words."""

from __future__ import annotations

import re

from rag.index.bm25 import reads_as_bulgarian

_CYRILLIC = re.compile(r"[\u0400-\u04ff]")
_LETTER = re.compile(r"[^\W\d_]")


def language_of(text: str) -> str:
    """ "en" (any Latin-script text), "ru" or "bg"; "" when there are no letters."""
    letters = _LETTER.findall(text)
    if not letters:
        return ""
    if len(_CYRILLIC.findall(text)) < len(letters) / 2:
        return "en"
    return "bg" if reads_as_bulgarian(text) else "ru"
