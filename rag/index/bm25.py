"""Keyword search with bm25s, tokenized for English, Bulgarian and Russian.

Words are case-folded (and ё folded to е), stop words dropped, and stemmed with Snowball:
English for Latin words, Russian for Cyrillic ones. Snowball has no Bulgarian stemmer, so in
text that reads as Bulgarian the definite article (-та, -то, -те, -ът, -ят) is removed first,
which lets "библиотеката" and "библиотека" meet on one stem.
"""

from __future__ import annotations

import json
import logging
import re
from functools import lru_cache
from pathlib import Path

import bm25s
import numpy as np
import Stemmer
from bm25s.stopwords import STOPWORDS_EN, STOPWORDS_RUSSIAN

logging.getLogger("bm25s").setLevel(logging.WARNING)  # a debug line for every index it loads

_WORD = re.compile(r"[^\W_]+", re.UNICODE)
_CYRILLIC = re.compile(r"[\u0400-\u04ff]")
_BULGARIAN_HARD_SIGN = re.compile(r"ъ(?![еёюя])")
_RUSSIAN_LETTERS = re.compile(r"[ыэё]")
_BULGARIAN_WORDS = frozenset(
    [
        "е",
        "са",
        "ще",
        "че",
        "да",
        "се",
        "това",
        "тази",
        "този",
        "които",
        "който",
        "която",
        "има",
        "няма",
        "във",
        "със",
        "към",
        "защото",
    ]
)
_RUSSIAN_WORDS = frozenset(
    [
        "что",
        "это",
        "как",
        "он",
        "она",
        "они",
        "если",
        "для",
        "его",
        "её",
        "чтобы",
        "который",
        "которые",
        "также",
        "можно",
    ]
)
_BULGARIAN_STOPWORDS = frozenset(
    [
        "и",
        "в",
        "на",
        "за",
        "от",
        "по",
        "с",
        "със",
        "се",
        "да",
        "не",
        "е",
        "са",
        "ще",
        "че",
        "това",
        "тази",
        "този",
        "тези",
        "които",
        "който",
        "която",
        "което",
        "как",
        "какво",
        "кога",
        "къде",
        "или",
        "но",
        "а",
        "при",
        "до",
        "към",
        "във",
        "след",
        "преди",
        "като",
        "има",
        "няма",
        "може",
        "трябва",
    ]
)
_ARTICLES = ("ът", "ят", "та", "то", "те")
STOPWORDS = frozenset(STOPWORDS_EN) | frozenset(STOPWORDS_RUSSIAN) | _BULGARIAN_STOPWORDS


@lru_cache(maxsize=2)
def _stemmer(language: str) -> Stemmer.Stemmer:
    return Stemmer.Stemmer(language)


def reads_as_bulgarian(text: str) -> bool:
    """Tell Bulgarian from Russian by letters and function words that only one of them uses."""
    lowered = text.casefold()
    words = _WORD.findall(lowered)
    bulgarian = len(_BULGARIAN_HARD_SIGN.findall(lowered)) + sum(w in _BULGARIAN_WORDS for w in words)
    russian = len(_RUSSIAN_LETTERS.findall(lowered)) + sum(w in _RUSSIAN_WORDS for w in words)
    return bulgarian > russian


def _strip_article(word: str) -> str:
    for article in _ARTICLES:
        if word.endswith(article) and len(word) - len(article) >= 4:
            return word[: -len(article)]
    return word


def tokenize(text: str) -> list[str]:
    """Search terms of `text`: folded, stop words removed, stemmed per script."""
    folded = text.casefold().replace("ё", "е")
    words = [w for w in _WORD.findall(folded) if (len(w) > 1 or w.isdigit()) and w not in STOPWORDS]
    cyrillic = [w for w in words if _CYRILLIC.match(w)]
    if cyrillic and reads_as_bulgarian(text):
        cyrillic = [_strip_article(w) for w in cyrillic]
    cyrillic_stems = iter(_stemmer("russian").stemWords(cyrillic))
    latin = [w for w in words if not _CYRILLIC.match(w)]
    latin_stems = iter(_stemmer("english").stemWords(latin))
    return [next(cyrillic_stems) if _CYRILLIC.match(w) else next(latin_stems) for w in words]


class Bm25Index:
    """bm25s over chunk texts, remembering which chunk id each row belongs to."""

    def __init__(self, retriever: bm25s.BM25 | None, ids: np.ndarray) -> None:
        self._retriever = retriever
        self.ids = ids

    @classmethod
    def build(cls, ids: list[int], texts: list[str]) -> Bm25Index:
        if not texts:
            return cls(None, np.zeros(0, dtype=np.int64))
        retriever = bm25s.BM25()
        retriever.index([tokenize(t) for t in texts], show_progress=False)
        return cls(retriever, np.asarray(ids, dtype=np.int64))

    def search(self, query: str, limit: int) -> list[tuple[int, float]]:
        """Best `limit` (chunk id, score) pairs with a positive score."""
        if self._retriever is None or limit <= 0:
            return []
        token_ids = self._retriever.get_tokens_ids(tokenize(query))
        if not token_ids:
            return []
        scores = self._retriever.get_scores_from_ids(token_ids)
        limit = min(limit, len(scores))
        top = np.argpartition(-scores, limit - 1)[:limit]
        top = top[np.argsort(-scores[top], kind="stable")]
        return [(int(self.ids[i]), float(scores[i])) for i in top if scores[i] > 0]

    def unknown(self, words: list[str]) -> list[str]:
        """The words with a search term that no chunk holds."""
        if self._retriever is None:
            return list(words)
        vocabulary = self._retriever.vocab_dict
        return [word for word in words if any(term not in vocabulary for term in tokenize(word))]

    def save(self, folder: Path) -> None:
        folder.mkdir(parents=True, exist_ok=True)
        np.save(folder / "ids.npy", self.ids)
        (folder / "meta.json").write_text(json.dumps({"empty": self._retriever is None}), encoding="utf-8")
        if self._retriever is not None:
            self._retriever.save(str(folder))

    @classmethod
    def load(cls, folder: Path) -> Bm25Index:
        ids = np.load(folder / "ids.npy")
        if json.loads((folder / "meta.json").read_text(encoding="utf-8"))["empty"]:
            return cls(None, ids)
        return cls(bm25s.BM25.load(str(folder)), ids)
