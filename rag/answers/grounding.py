"""Grounding marks: answer sentences no source supports, and citations of sources that do not exist.

A sentence is supported when one passage holds at least half of its keywords (BM25's stemmed
tokens, stop words and citation markers left out); a sentence citing only passages in another script
is not judged by words. This is lexical on purpose: it is cheap, works
in every language the keyword index reads, and flags what a reader should check, not what is false.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from rag.answers.citations import cited_numbers, missing_sources
from rag.answers.sentences import Sentence, split_sentences
from rag.index.bm25 import tokenize
from rag.index.retrieval import mostly_latin

SUPPORT_SHARE = 0.5
MIN_KEYWORDS = 3
"""Sentences with fewer keywords ("I don't know.", "See [2].") are not judged."""
_MARKERS = re.compile(r"\[\d+\]")


@dataclass
class Grounding:
    unsupported: list[Sentence] = field(default_factory=list)  # spans of the answer's text
    missing_sources: list[int] = field(default_factory=list)  # cited numbers with no such source

    def to_json(self) -> dict[str, object]:
        return {"unsupported": [s.text for s in self.unsupported], "missing_sources": self.missing_sources}

    def add_unsupported(self, sentences: list[Sentence]) -> None:
        """Sentences another check failed, marked like the rest (each once, in text order)."""
        known = {s.end for s in self.unsupported}  # one mark per sentence end
        self.unsupported = sorted(
            [*self.unsupported, *(s for s in sentences if s.end not in known)], key=lambda s: s.start
        )

    def marked(self, answer: str, mark: str) -> str:
        """The answer with `mark` after every unsupported sentence."""
        for sentence in reversed(self.unsupported):
            answer = answer[: sentence.end] + mark + answer[sentence.end :]
        return answer


def check(answer: str, passages: list[str]) -> Grounding:
    known = [set(tokenize(passage)) for passage in passages]
    latin = [mostly_latin(passage) for passage in passages]
    unsupported = []
    for sentence in split_sentences(answer):
        terms = set(tokenize(_MARKERS.sub(" ", sentence.text)))
        if len(terms) < MIN_KEYWORDS or _cites_another_script(sentence.text, latin):
            continue
        support = max((len(terms & passage) / len(terms) for passage in known), default=0.0)
        if support < SUPPORT_SHARE:
            unsupported.append(sentence)
    return Grounding(unsupported, missing_sources(answer, len(passages)))


def _cites_another_script(sentence: str, latin: list[bool]) -> bool:
    """A Russian sentence citing an English passage shares no keyword with it: words cannot judge it (its
    numbers, names and commands are still checked item by item)."""
    cited = cited_numbers(sentence, len(latin))
    return bool(cited) and all(latin[n - 1] != mostly_latin(sentence) for n in cited)
