"""Claim checks: every checkable item an answer states must be in a passage it cites.

A small model invents exactly the things a reader cannot spot: a port, a price, a version, a
weekday, a URL, a file name, a person. Those are easy to find in text and easy to look up in the
sources, so each answer sentence is checked item by item, in every language the app reads:
numbers (4,4 GB = 4.4 GB, with the unit when the passage gives one), versions (1.5+nmu1), weekdays, URLs, file names and
paths, commands in backticks, and proper names (capitalised words inside a sentence). An item is
supported when a passage the sentence cites holds it; an uncited sentence, or one citing the wrong
passage, is supported by any passage that holds all its items, which it then cites.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from rag.answers.sentences import Sentence, split_sentences

_CITATION = re.compile(r"\[(\d+)\]")
_URL = re.compile(r"(?:https?://|www\.)[^\s<>()\[\]\"'`]+", re.IGNORECASE)
_CODE = re.compile(r"`([^`\n]{2,200})`")
_FILE = re.compile(
    r"(?<![\w/.-])(?:[\w.-]*/)*[\w-]+(?:\.[\w-]+)*\.(?:py|md|txt|conf|cfg|ini|json|ya?ml|toml|sh|pdf|html?|deb|log|"
    r"xml|csv|docx?|xlsx?|pptx?|odt|epub|rtf|js|ts|c|h|cpp|rs|go|java|sql|service|list)(?![\w-])",
    re.IGNORECASE,
)
_PATH = re.compile(r"(?<![\w.-])(?:~|\.{1,2})?/(?:[\w.+-]+/)*[\w.+-]+")
_VERSION = re.compile(
    r"(?<![\w.+~-])\d+(?:[.:]\d+)*(?:[+~-][0-9A-Za-z.]*[0-9A-Za-z])*[+~-][0-9.]*[A-Za-z][0-9A-Za-z.]*"
)
"""A version with a suffix (1.5+nmu1, 2.36-9+deb12u1, 1.0-rc2): one item, or "1.5+nmu4" checks only as 1.5. A date
(2024-05-01) has no letter after its separators and stays numbers."""
_NUMBER = re.compile(r"(?<![\w.,])\d+(?:[.,]\d+)*(?:\s?(%|[^\W\d_]{1,5}\b)|(?![\w]))")
"""A number and its unit, written apart or not (4.4 GB, 4.4GB); "x86" and "nmu4" are no numbers."""
_WORD = re.compile(r"[^\W\d_][\w'’-]*")
_WEEKDAYS = [
    "monday",
    "tuesday",
    "wednesday",
    "thursday",
    "friday",
    "saturday",
    "sunday",
    "понедельник",
    "вторник",
    "сред",
    "четверг",
    "пятниц",
    "суббот",
    "воскресень",
    "понеделник",
    "вторник",
    "сряда",
    "четвъртък",
    "петък",
    "събота",
    "неделя",
]
_UNIT_WORDS = frozenset(
    [
        "b",
        "kb",
        "mb",
        "gb",
        "tb",
        "kib",
        "mib",
        "gib",
        "tib",
        "ms",
        "s",
        "sec",
        "min",
        "h",
        "hz",
        "khz",
        "mhz",
        "ghz",
        "px",
        "pt",
        "em",
        "mm",
        "cm",
        "m",
        "km",
        "kg",
        "g",
        "mg",
        "l",
        "ml",
        "w",
        "kw",
        "v",
        "a",
        "usd",
        "eur",
        "bgn",
        "rub",
        "lv",
        "лв",
        "руб",
        "гб",
        "мб",
        "кб",
        "мс",
        "с",
        "сек",
        "мин",
        "ч",
        "км",
        "м",
        "см",
        "мм",
        "кг",
        "г",
        "%",
        "gpu",
        "cpu",
        "tokens",
        "token",
        "bit",
        "bits",
        "byte",
        "bytes",
        "бит",
        "бита",
        "байт",
        "байта",
    ]
)
_NAME_STOP = frozenset(
    [
        "i",
        "the",
        "a",
        "an",
        "according",
        "this",
        "that",
        "these",
        "those",
        "it",
        "its",
        "in",
        "on",
        "at",
        "for",
        "to",
        "of",
        "and",
        "or",
        "but",
        "if",
        "when",
        "where",
        "which",
        "who",
        "what",
        "how",
        "why",
        "yes",
        "no",
        "source",
        "sources",
        "answer",
        "question",
        "note",
        "see",
        "also",
        "согласно",
        "според",
    ]
)


@dataclass(frozen=True)
class Item:
    """One checkable thing an answer states, and the forms a passage may give it in."""

    kind: str  # "number", "version", "url", "file", "code", "weekday", "name"
    text: str
    forms: tuple[str, ...]
    unit: str | None = None


@dataclass
class SentenceCheck:
    sentence: Sentence
    items: list[Item]
    failed: list[Item] = field(default_factory=list)
    supported_by: int | None = None  # the passage (1-based) holding its items, when the ones it cites do not
    idle: list[int] = field(default_factory=list)  # cited passages (1-based) holding none of its items, beside one that
    # holds them: a small model's extra or wrong number, which would send the reader to a file that does not say it

    @property
    def ok(self) -> bool:
        return not self.failed


@dataclass
class ClaimReport:
    sentences: list[SentenceCheck] = field(default_factory=list)

    @property
    def checked(self) -> int:
        return sum(len(s.items) for s in self.sentences)

    @property
    def failed(self) -> list[SentenceCheck]:
        return [s for s in self.sentences if not s.ok]

    def to_json(self) -> dict[str, object]:
        return {
            "checked": self.checked,
            "failed": [{"sentence": s.sentence.text, "unmatched": [i.text for i in s.failed]} for s in self.failed],
        }


def _number_forms(token: str) -> tuple[str, ...]:
    """4,4 and 4.4 are one number; 1,000 and 1000 too."""
    return tuple(dict.fromkeys((token.replace(",", "."), token.replace(",", ""), token.replace(".", ""))))


def _unit(raw: str | None) -> str | None:
    if raw is None:
        return None
    unit = raw.casefold()
    return unit if unit in _UNIT_WORDS else None


def _fold(text: str) -> str:
    return re.sub(r"\s+", " ", text).strip().casefold()


def items_in(text: str) -> list[Item]:
    """The checkable items of one piece of text (citation markers left out)."""
    text = _CITATION.sub(" ", text)
    items: list[Item] = []
    taken: list[tuple[int, int]] = []

    def add(match: re.Match[str], item: Item) -> None:
        if any(start < match.end() and match.start() < end for start, end in taken):
            return
        taken.append(match.span())
        items.append(item)

    for match in _URL.finditer(text):
        url = match.group().rstrip(".,;:!?")
        add(match, Item("url", url, (_fold(url).removeprefix("https://").removeprefix("http://").rstrip("/"),)))
    for match in _CODE.finditer(text):
        add(match, Item("code", match.group(1), (_fold(match.group(1)),)))
    for pattern in (_FILE, _PATH):
        for match in pattern.finditer(text):
            if len(match.group()) > 2:
                add(match, Item("file", match.group(), (_fold(match.group()),)))
    for match in _VERSION.finditer(text):
        version = match.group().rstrip(".")
        add(match, Item("version", version, (_fold(version),)))
    for match in _NUMBER.finditer(text):
        digits = re.match(r"\d+(?:[.,]\d+)*", match.group())
        if digits is None:
            continue
        unit = _unit(match.group(1))
        shown = digits.group() + (f" {match.group(1)}" if unit else "")
        add(match, Item("number", shown, _number_forms(digits.group()), unit))
    words = list(_WORD.finditer(text))
    for index, match in enumerate(words):
        word = match.group()
        folded = word.casefold()
        weekday = next((day for day in _WEEKDAYS if folded.startswith(day)), None)
        if weekday is not None:
            add(match, Item("weekday", word, (weekday,)))
            continue
        starts_sentence = index == 0 or re.search(r"[.!?:]\s*$", text[words[index - 1].end() : match.start()])
        if word[0].isupper() and not starts_sentence and folded not in _NAME_STOP and len(word) > 2:
            add(match, Item("name", word, (_stem(folded),)))
    return items


def _stem(word: str) -> str:
    """Names are inflected in Bulgarian and Russian (Мердок, Мердока): compare their first letters."""
    return word[: max(4, len(word) - 2)] if not word.isascii() else word


class PassageIndex:
    """What a passage holds, in the forms items are compared in."""

    def __init__(self, text: str) -> None:
        self.folded = _fold(text)
        self.compact = self.folded.replace("https://", "").replace("http://", "")
        self.numbers: dict[str, set[str | None]] = {}
        for match in _NUMBER.finditer(_CITATION.sub(" ", text)):
            digits = re.match(r"\d+(?:[.,]\d+)*", match.group())
            if digits is None:
                continue
            for form in _number_forms(digits.group()):
                self.numbers.setdefault(form, set()).add(_unit(match.group(1)))

    def holds(self, item: Item) -> bool:
        if item.kind == "number":
            units = set().union(*(self.numbers.get(form, set()) for form in item.forms))
            if not units:
                return False
            return item.unit is None or item.unit in units or None in units
        haystack = self.compact if item.kind == "url" else self.folded
        return any(form in haystack for form in item.forms)


def check_claims(answer: str, passages: list[str], question: str = "") -> ClaimReport:
    """Each answer sentence's items against the passages it cites; an item no cited passage holds must be in
    another passage (which the sentence should cite instead), else the sentence fails."""
    indexes = [PassageIndex(passage) for passage in passages]
    asked = PassageIndex(question)
    report = ClaimReport()
    for sentence in split_sentences(answer):
        items = [item for item in items_in(sentence.text) if not (item.kind == "name" and asked.holds(item))]
        check = SentenceCheck(sentence, items)
        report.sentences.append(check)
        if not items:
            continue
        cited = [int(n) - 1 for n in _CITATION.findall(sentence.text) if 0 < int(n) <= len(indexes)]
        idle = [i + 1 for i in cited if not any(indexes[i].holds(item) for item in items)]
        if cited and all(any(indexes[i].holds(item) for i in cited) for item in items):
            check.idle = idle
            continue
        check.failed = [item for item in items if not any(index.holds(item) for index in indexes)]
        if not check.failed:  # right, but not where it says: cite the passage holding most of it instead
            check.supported_by = 1 + max(range(len(indexes)), key=lambda i: sum(indexes[i].holds(t) for t in items))
            check.idle = idle
    return report
