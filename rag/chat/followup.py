"""Follow-up questions searched with the conversation's context.

"And which file lists the known aliases?" says nothing of what it follows: searched alone, it finds
shell aliases instead of the MIME database the chat is about. A question that reads as a follow-up
(short, opening with "and"/"what about"/"а"/"и", or leaning on "it"/"that"/"это"/"това") is searched
together with the previous question's words. The bundled local model is too small to rewrite a question
reliably, so no model is asked; the retrieval step shows what was searched.
"""

from __future__ import annotations

import re

from rag.llm.requests import Turn

_OPENERS = re.compile(
    r"^\s*(and|but|also|so|what about|how about|and what|и|а|но|също|ами|още|а также|также|тогда|ещё|еще)\b",
    re.IGNORECASE,
)
_ANAPHORA = re.compile(
    r"\b(it|its|that|this|those|these|they|them|there|he|she|the same|"
    r"это|этого|этом|эти|этих|он|она|они|оно|его|её|ее|их|там|тот|та|то|"
    r"това|този|тази|тези|той|тя|те|него|нея|тях|там)\b",
    re.IGNORECASE,
)
_WORD = re.compile(r"\w+")
SHORT_QUESTION_WORDS = 12


def is_follow_up(question: str) -> bool:
    """Whether the question leans on what came before: short, and opening with a link word or a pronoun."""
    words = _WORD.findall(question)
    return 0 < len(words) <= SHORT_QUESTION_WORDS and bool(_OPENERS.search(question) or _ANAPHORA.search(question))


def search_query(question: str, turns: list[Turn]) -> str:
    """What to search for: the question, with the previous question prepended when this one is a follow-up."""
    if not turns or not is_follow_up(question):
        return question
    return f"{turns[-1].question} {question}"
