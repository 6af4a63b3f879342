"""Sentences of a passage or an answer, with their character spans, in one linear pass."""

from __future__ import annotations

import re
from dataclasses import dataclass

# A sentence ends at . ! ? … (with closing quotes or brackets) before white space, or at a blank line.
_BOUNDARY = re.compile(r"(?<=[.!?…])[\"'»”)\]]*\s+|\n[ \t]*\n\s*")
_LINE = re.compile(r"\n\s*")
MAX_SENTENCE_CHARS = 320
"""Longer pieces (tables, lists, text without punctuation) are cut at line breaks instead."""


@dataclass(frozen=True)
class Sentence:
    text: str
    start: int
    end: int


def split_sentences(text: str) -> list[Sentence]:
    """Sentences in order; single line breaks inside a sentence are read as spaces."""
    sentences: list[Sentence] = []
    start = 0
    for match in _BOUNDARY.finditer(text):
        _add(text, start, match.start(), sentences)
        start = match.end()
    _add(text, start, len(text), sentences)
    return sentences


def _add(text: str, start: int, end: int, sentences: list[Sentence]) -> None:
    if end - start > MAX_SENTENCE_CHARS:
        for match in _LINE.finditer(text, start, end):
            _keep(text, start, match.start(), sentences)
            start = match.end()
    _keep(text, start, end, sentences)


def _keep(text: str, start: int, end: int, sentences: list[Sentence]) -> None:
    piece = text[start:end]
    stripped = piece.strip()
    if stripped:
        start += len(piece) - len(piece.lstrip())
        sentences.append(Sentence(" ".join(stripped.split()), start, start + len(stripped)))
