"""The whole question-to-cited-answer path, shared by the chat app and `python -m rag.ask`."""

from __future__ import annotations

import asyncio
import os
import re
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field, replace

from rag.backends import Backend
from rag.embedding import Embedder
from rag.generation import BackendError, GenerationParams, StreamOutcome, stream_answer
from rag.metrics import AnswerMetrics, PriceTable, count_with_server, decode_rate
from rag.privacy import Egress, PrivacyRules, redact_prompt
from rag.prompts import DEFAULT_SYSTEM_PROMPT, Prompt, Turn, build_prompt, cited_numbers
from rag.redaction import Redactor
from rag.retrieval import Hit, Retriever
from rag.routing import Policy, fallback_reason

_LATIN = re.compile(r"[A-Za-z]")
_LETTER = re.compile(r"[^\W\d_]")
PROMPT_MARGIN_TOKENS = 64
"""Room left for the chat template's own tokens, which the prompt builder cannot see."""


def relevance_floor() -> float:
    return float(os.environ.get("RELEVANCE_FLOOR", "") or 0.25)


def is_relevant(question: str, hits: list[Hit], floor: float) -> bool:
    """Whether the hits are worth answering from.

    The bundled encoder only understands English, so a Latin-script question needs a dense
    similarity above `floor`; for other scripts (Bulgarian, Russian) dense scores mean little and a
    keyword (BM25) match is required instead.
    """
    if not hits:
        return False
    letters = _LETTER.findall(question)
    latin = sum(1 for c in letters if _LATIN.match(c))
    if letters and latin / len(letters) >= 0.5:
        return max((h.dense_score or 0.0) for h in hits) >= floor or all(h.dense_score is None for h in hits)
    return any(h.bm25_score for h in hits)


@dataclass
class Retrieval:
    hits: list[Hit]
    relevant: bool
    milliseconds: float


@dataclass
class Answer:
    """A finished answer: text, what it cited, where it came from, and how long it took."""

    text: str
    backend: Backend
    sources: list[Hit]
    cited: list[int] = field(default_factory=list)
    error: BackendError | None = None
    cut: bool = False
    retrieval_ms: float = 0.0
    first_token_ms: float | None = None
    total_ms: float = 0.0
    dropped_sources: int = 0
    no_context: bool = False
    metrics: AnswerMetrics | None = None
    egress: Egress | None = None
    route_note: str = ""  # which backend answered and why, under a routing policy
    local_only: bool = False  # made from local-only text: its turn never goes to a cloud model

    def turn(self, question: str) -> Turn:
        """This answer as an earlier turn of the chat, carrying its local-only mark."""
        return Turn(question, self.text, self.local_only)

    @property
    def ok(self) -> bool:
        """Text and no error: an answer worth keeping in the conversation history."""
        return bool(self.text) and self.error is None


@dataclass
class ChatOptions:
    """Per-chat choices from the settings panel (or the command line)."""

    top_k: int = 5
    mode: str = "hybrid"
    system_prompt: str = DEFAULT_SYSTEM_PROMPT
    params: GenerationParams = field(default_factory=GenerationParams)
    private_policy: str = "shareable"  # in cloud mode: send only shareable passages, or "refuse" the question
    restore_redacted: bool = True  # show masked values restored in the displayed answer
    latency_budget: float | None = None  # seconds to first token before a routing policy falls back


@dataclass(frozen=True)
class Asked:
    """One question of a chat and what every backend answering it shares (the same sources, history, options)."""

    message_id: str
    question: str
    retrieval: Retrieval
    history: list[Turn]
    options: ChatOptions


REFUSED_ANSWER = (
    "Not sent to the cloud: the passages that answer this are in local-only documents. "
    "Ask with the local model instead, or change the privacy setting to send only shareable passages."
)
NO_CONTEXT_ANSWER = (
    "I could not find anything about this in your documents, so I will not guess. "
    "Try other words, or add the document that covers it to the data folder."
)


class Assistant:
    """Retrieves, prompts and streams; keeps nothing per chat (history is passed in)."""

    def __init__(
        self,
        retriever: Retriever,
        embedder: Embedder,
        prices: PriceTable | None = None,
        privacy: PrivacyRules | None = None,
    ) -> None:
        self.retriever = retriever
        self.embedder = embedder
        self.prices = prices or PriceTable.load()
        self.privacy = privacy or PrivacyRules.from_env()

    def retrieve(self, question: str, options: ChatOptions) -> Retrieval:
        started = time.perf_counter()
        self.retriever.refresh()
        hits = self.retriever.search(question, k=options.top_k, mode=options.mode)
        milliseconds = (time.perf_counter() - started) * 1000
        return Retrieval(hits, is_relevant(question, hits, relevance_floor()), milliseconds)

    def count_tokens(self, text: str) -> int:
        return self.embedder.count_many([text])[0]

    def prompt(
        self, backend: Backend, question: str, hits: list[Hit], history: list[Turn], options: ChatOptions
    ) -> Prompt:
        budget = backend.context_tokens - options.params.max_tokens - PROMPT_MARGIN_TOKENS
        return build_prompt(
            backend.prompt_style, question, hits, history, options.system_prompt, self.count_tokens, budget
        )

    def prepare(
        self, backend: Backend, question: str, hits: list[Hit], history: list[Turn], options: ChatOptions
    ) -> tuple[Prompt | None, Egress]:
        """The prompt for this backend, and what it would send off the machine.

        A cloud backend never gets local-only passages, nor earlier turns made from local-only text,
        and everything it gets is masked; when only local-only passages answer the question, or the
        chat says "refuse" and local-only material is involved, nothing is sent.
        """
        if backend.is_local:
            return self.prompt(backend, question, hits, history, options), Egress(cloud=False)
        shareable, private = self.privacy.shareable(hits)
        turns = [turn for turn in history if not turn.local_only]
        held_turns = len(history) - len(turns)
        if not shareable or ((private or held_turns) and options.private_policy == "refuse"):
            return None, Egress(cloud=True, held_back=len(private), held_turns=held_turns, refused=True)
        redactor = Redactor.with_user_patterns(list(self.privacy.user_patterns))
        prompt = redact_prompt(self.prompt(backend, question, shareable, turns, options), redactor)
        files = len({hit.source for hit in prompt.sources})
        egress = Egress(True, len(prompt.sources), files, len(private), redactor.count, turns=prompt.turns_sent)
        egress.held_turns, egress.redactor = held_turns, redactor
        return prompt, egress

    def involves_local_only(self, hits: list[Hit], history: list[Turn]) -> bool:
        """Whether local-only text is at stake: then a failure never falls back to the cloud."""
        return self.privacy.has_private(hits) or any(turn.local_only for turn in history)

    def start(
        self, backend: Backend, question: str, retrieval: Retrieval, history: list[Turn], options: ChatOptions
    ) -> tuple[Answer, Prompt | None]:
        """The answer to fill for this backend and the prompt to stream it from (None: refused, nothing sent)."""
        prompt, egress = self.prepare(backend, question, retrieval.hits, history, options)
        if prompt is None:
            return Answer(REFUSED_ANSWER, backend, [], retrieval_ms=retrieval.milliseconds, egress=egress), None
        local_only = backend.is_local and self.involves_local_only(prompt.sources, prompt.history_sent(history))
        return Answer("", backend, prompt.sources, egress=egress, local_only=local_only), prompt

    async def stream(
        self, question: str, prompt: Prompt, retrieval: Retrieval, options: ChatOptions, answer: Answer
    ) -> AsyncIterator[str]:
        """Stream the answer's text; `answer` is complete (cited sources, timings, error) when this ends."""
        outcome = StreamOutcome()
        async for piece in stream_answer(answer.backend, prompt, options.params, outcome):
            yield piece
        answer.text = outcome.text.strip()
        if answer.egress and answer.egress.redactor and options.restore_redacted:
            answer.text = answer.egress.redactor.restore(answer.text)
        if prompt.lead and answer.text == prompt.lead.strip():
            answer.text = ""  # the model stopped at once: no answer, only the lead we wrote for it
        answer.error, answer.cut = outcome.error, outcome.cut
        answer.cited = cited_numbers(answer.text, len(prompt.sources))
        answer.retrieval_ms = retrieval.milliseconds
        answer.dropped_sources = prompt.dropped_sources
        if outcome.first_token_at is not None:
            answer.first_token_ms = (outcome.first_token_at - outcome.started) * 1000
        answer.total_ms = ((outcome.finished_at or time.perf_counter()) - outcome.started) * 1000
        answer.metrics = await asyncio.to_thread(self.measure, question, prompt, outcome, answer)

    def _tokens(self, backend: Backend, text: str) -> int:
        """The model's own count where its server can tokenize, else the embedding tokenizer's."""
        exact = count_with_server(backend.base_url, text) if backend.is_local else None
        return exact if exact is not None else self.count_tokens(text)

    def measure(self, question: str, prompt: Prompt, outcome: StreamOutcome, answer: Answer) -> AnswerMetrics:
        """The same measurements for every backend; token counts are estimates where the server sent no usage."""
        backend = answer.backend
        if outcome.usage is not None:
            prompt_tokens, completion_tokens = outcome.usage
        else:
            sent = prompt.text or "\n".join(m["content"] for m in prompt.messages)
            generated = outcome.text[len(prompt.lead) :] if outcome.text.startswith(prompt.lead) else outcome.text
            prompt_tokens, completion_tokens = self._tokens(backend, sent), self._tokens(backend, generated)
        cost = self.prices.cost(
            backend.is_local, backend.model, prompt_tokens, completion_tokens, answer.total_ms / 1000
        )
        return AnswerMetrics(
            question=question,
            backend=backend.key,
            label=backend.label,
            model=backend.model,
            retrieval_ms=answer.retrieval_ms,
            ttft_ms=answer.first_token_ms,
            total_ms=answer.total_ms,
            prompt_tokens=prompt_tokens,
            completion_tokens=completion_tokens,
            tokens_estimated=outcome.usage is None,
            tokens_per_s=decode_rate(completion_tokens, answer.first_token_ms, answer.total_ms),
            cost_usd=cost,
            error=str(answer.error) if answer.error else None,
        )

    async def answer(
        self,
        backend: Backend,
        question: str,
        history: list[Turn],
        options: ChatOptions,
        retrieval: Retrieval | None = None,
    ) -> Answer:
        """Retrieve (unless given) and answer in one call, for the terminal and for tests."""
        retrieval = retrieval or self.retrieve(question, options)
        if not retrieval.relevant:
            return Answer(NO_CONTEXT_ANSWER, backend, [], retrieval_ms=retrieval.milliseconds, no_context=True)
        answer, prompt = self.start(backend, question, retrieval, history, options)
        if prompt is None:
            return answer
        async for _ in self.stream(question, prompt, retrieval, options, answer):
            pass
        return answer

    async def answer_routed(
        self, policy: Policy, backends: dict[str, Backend], question: str, history: list[Turn], options: ChatOptions
    ) -> Answer:
        """Answer under a routing policy; the answer's `route_note` says which backend answered and why."""
        retrieval = self.retrieve(question, options)

        async def answer_with(key: str, chosen: ChatOptions, why: str) -> Answer:
            answer = await self.answer(backends[key], question, history, chosen, retrieval)
            answer.route_note = why
            return answer

        answers, refusal = await answer_under_policy(
            policy, options, self.involves_local_only(retrieval.hits, history), answer_with
        )
        answers[-1].route_note = refusal or answers[-1].route_note
        return answers[-1]


async def answer_under_policy(
    policy: Policy,
    options: ChatOptions,
    has_private: bool,
    answer_with: Callable[[str, ChatOptions, str], Awaitable[Answer]],
) -> tuple[list[Answer], str]:
    """The primary backend answers; if it failed before any text and the policy allows, the fallback does too.

    `answer_with(backend key, options, why)` produces one answer (streamed in the app, collected in the
    terminal). Returns the answers given and, when a fallback was refused, the sentence that says why.
    """
    budget = replace(options.params, first_token_budget=options.latency_budget if policy.latency_budget else None)
    why = f"answered by the {policy.primary} model (policy: {policy.label})"
    first = await answer_with(policy.primary, replace(options, params=budget), why)
    if first.error is None or first.text or first.no_context:
        return [first], ""
    allowed, note = fallback_reason(policy, first.error.what, has_private)
    if not allowed:
        return [first], note
    return [first, await answer_with(str(policy.fallback), options, note)], ""
