"""The names a question asks about: the words that, if no document holds them, no document can answer it.

A question about "QUIC", "pyproject.toml" or "Tetris" cannot be answered by documents that never
use the word, however close their topic sounds; a small model would still write an answer from
them. Names are what a reader would recognise as one: words with inner dots, slashes or pluses
(files, packages, paths), words in capitals, capitalised words inside a sentence, and Latin words in
a Cyrillic question. Sizes and versions ("7B", "3.11") are not: a document may write them otherwise.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

_TERM = re.compile(r"[^\W_](?:[\w'’+#-]|[./](?=\w))*")
_SENTENCE_START = re.compile(r"(?:^|[.!?:;]\s+|[«“\"(\[]\s*)$")
_CYRILLIC = re.compile(r"[\u0400-\u04ff]")
_LATIN_START = re.compile(r"[A-Za-z]")
_DIGIT = re.compile(r"\d")
_LETTER = re.compile(r"[^\W\d_]")
_INNER_MARK = re.compile(r"\w[./_+#]\w")


@dataclass(frozen=True)
class Name:
    text: str
    technical: bool  # a file, package, path or acronym: written the same in every language and document
    # ("7B" is not: a document may say "7 billion")


QUESTION_WORDS = 40
"""A longer message is not a question about names (a pasted text, a client's task prompt with its "JSON" and
"USER"): it has none."""


def names_in(question: str) -> list[Name]:
    """The names in a question, in order, each once."""
    if len(question.split()) > QUESTION_WORDS:
        return []
    cyrillic = bool(_CYRILLIC.search(question))
    found: dict[str, Name] = {}
    for match in _TERM.finditer(question):
        word = match.group()
        if len(word) < 2 or not _LETTER.search(word):  # "I", a variable, a number
            continue
        technical = bool(_INNER_MARK.search(word)) or (word.isupper() and not _DIGIT.search(word))
        capitalised = word[0].isupper() and not _SENTENCE_START.search(question[: match.start()])
        latin_among_cyrillic = cyrillic and bool(_LATIN_START.match(word))
        if technical or capitalised or latin_among_cyrillic:
            found.setdefault(word.casefold(), Name(word, technical))
    return list(found.values())


_TO_CYRILLIC = (
    ("shch", "щ"), ("sht", "щ"), ("zh", "ж"), ("kh", "х"), ("ts", "ц"), ("tz", "ц"), ("ch", "ч"), ("sh", "ш"),
    ("yu", "ю"), ("ya", "я"), ("ph", "ф"), ("th", "т"), ("a", "а"), ("b", "б"), ("c", "к"), ("d", "д"), ("e", "е"),
    ("f", "ф"), ("g", "г"), ("h", "х"), ("i", "и"), ("j", "й"), ("k", "к"), ("l", "л"), ("m", "м"), ("n", "н"),
    ("o", "о"), ("p", "п"), ("q", "к"), ("r", "р"), ("s", "с"), ("t", "т"), ("u", "у"), ("v", "в"), ("w", "в"),
    ("x", "кс"), ("y", "и"), ("z", "з"),
)  # fmt: skip
_TRANSLITERABLE = re.compile(r"[A-Za-z]+")


def cyrillic_spelling(name: str) -> str:
    """How a Bulgarian or Russian document likely spells a Latin name ("Samuil" -> "самуил", "Tsar" -> "цар"), or ""
    for anything but plain letters: a question in English about a Bulgarian history page names the people as English
    does, the page as Bulgarian does. A miss ("Sofia" -> "софиа", not "София") only leaves the name missing."""
    word = name.casefold()
    if not _TRANSLITERABLE.fullmatch(word):
        return ""
    spelled, at = [], 0
    while at < len(word):
        latin, cyrillic = next(pair for pair in _TO_CYRILLIC if word.startswith(pair[0], at))
        spelled.append(cyrillic)
        at += len(latin)
    return "".join(spelled)
