"""A Bulgarian or Russian question put into English by the local model, to search the English documents with too.

Keywords cannot match across scripts, and the small multilingual encoder alone finds the English page that
answers a Bulgarian or Russian question about half the time. The embedded Gemma 3 270M translates a short
question well enough for retrieval in about 0.3 s (the other direction, into Russian or Bulgarian, it does
badly: searching with those translations lost English questions their pages). Only a model on this machine is
asked: a question is never sent anywhere to be searched.
"""

from __future__ import annotations

import logging
import re
import threading
import time
from collections import OrderedDict
from collections.abc import Callable

import openai

from rag.answers.language import language_of
from rag.index.retrieval import mostly_latin
from rag.llm.backends import Backend

log = logging.getLogger(__name__)

LANGUAGE_NAMES = {"bg": "Bulgarian", "ru": "Russian"}
EXAMPLES = (
    ("Bulgarian", "Колко памет е нужна за инсталацията?", "How much memory is needed for the installation?"),
    ("Russian", "Как изменить размер шрифта в терминале?", "How do I change the font size in the terminal?"),
)
"""The few-shot pairs a base model continues (and a chat model reads as earlier turns)."""
MAX_TOKENS = 48
"""A question's translation; longer output is a model rambling on."""
MAX_QUESTION_CHARS = 400
"""A longer text is not a question to translate for a search (a pasted paragraph): it is searched as it is."""
TIMEOUT = 8.0
"""Seconds to wait for the translation: the local server answers one request at a time, and a question
waiting behind another user's long answer is searched untranslated rather than late."""
RETRY_UNAVAILABLE_AFTER = 300.0
"""Seconds before a local model that could not be found or started is asked again (each try may take seconds)."""
MEMORY = 64
"""Recent translations kept: the comparison view and a repeated question search twice with one translation."""


class QuestionTranslator:
    """English versions of non-Latin questions, from the local backend (`local` may start the embedded model)."""

    def __init__(self, local: Callable[[], Backend], timeout: float = TIMEOUT) -> None:
        self.local = local
        self.timeout = timeout
        self._lock = threading.Lock()
        self._recent: OrderedDict[str, str] = OrderedDict()
        self._unavailable_until = 0.0

    def english(self, question: str) -> str:
        """The question in English; "" when it is in Latin script already, too long, or no local model
        on this machine answered (the question is then searched as it is)."""
        question = " ".join(question.split())
        language = language_of(question)
        if language not in LANGUAGE_NAMES or len(question) > MAX_QUESTION_CHARS:
            return ""
        with self._lock:
            known = self._recent.get(question)
        if known is not None:
            return known
        translated = self._ask(question, LANGUAGE_NAMES[language])
        if translated is None:  # asked again next time: the local model may be back, or less busy
            return ""
        with self._lock:
            self._recent[question] = translated
            while len(self._recent) > MEMORY:
                self._recent.popitem(last=False)
        return translated

    def _ask(self, question: str, language: str) -> str | None:
        """The model's translation ("" if it did not read as English), or None if no model on this machine answered."""
        if time.monotonic() < self._unavailable_until:
            return None
        backend = self.local()
        if not backend.available:  # not tried again for a while: starting a model that cannot start takes seconds
            self._unavailable_until = time.monotonic() + RETRY_UNAVAILABLE_AFTER
            return None
        if backend.leaves_machine:
            return None
        client = openai.OpenAI(base_url=backend.base_url, api_key=backend.api_key, timeout=self.timeout, max_retries=0)
        try:
            if backend.prompt_style == "completion":
                done = client.completions.create(
                    model=backend.model,
                    prompt=completion_prompt(question, language),
                    max_tokens=MAX_TOKENS,
                    temperature=0.0,
                    stop=["\n"],
                )
                text = done.choices[0].text if done.choices else ""
            else:
                chat = client.chat.completions.create(
                    model=backend.model,
                    messages=chat_messages(question, language),  # type: ignore[arg-type]
                    max_tokens=MAX_TOKENS,
                    temperature=0.0,
                )
                text = (chat.choices[0].message.content or "") if chat.choices else ""
        except openai.OpenAIError as exc:
            log.warning(
                "the question was searched untranslated: the local model did not translate it (%s)", type(exc).__name__
            )
            return None
        finally:
            client.close()
        return usable(text)


def completion_prompt(question: str, language: str) -> str:
    shots = "".join(f"{source}: {asked}\nEnglish: {english}\n\n" for source, asked, english in EXAMPLES)
    return f"{shots}{language}: {question}\nEnglish:"


def chat_messages(question: str, language: str) -> list[dict[str, str]]:
    messages = [{"role": "system", "content": "Translate the question into English. Reply with the translation only."}]
    for source, asked, english in EXAMPLES:
        messages += [{"role": "user", "content": f"{source}: {asked}"}, {"role": "assistant", "content": english}]
    return [*messages, {"role": "user", "content": f"{language}: {question}"}]


_LABEL = re.compile(r"^(?:english|translation)\s*:\s*", re.IGNORECASE)


def usable(text: str) -> str:
    """The first line of a model's reply, if it reads as English, without a label or quotes a chat model may add
    ("English: ...", "“...”"): anything else would only add noise to the search."""
    line = _LABEL.sub("", text.strip().split("\n", 1)[0].strip()).strip("\"'“”«» ")
    return line if line and mostly_latin(line) else ""
