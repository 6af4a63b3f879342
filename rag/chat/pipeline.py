"""The whole question-to-cited-answer path, shared by the chat app and `python -m rag.ask`."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping
from dataclasses import dataclass, field, replace

from rag.answers.answer import Answer
from rag.answers.citations import cited_numbers
from rag.answers.claims import check_claims
from rag.answers.evidence import WEAK_EVIDENCE, EvidenceFinder, focused, in_other_script
from rag.answers.grounding import check
from rag.answers.language import language_of
from rag.answers.repair import repaired, without_lead
from rag.chat.followup import search_query
from rag.chat.options import (
    LATENCY_BUDGET,
    MAX_TOKENS,
    PRIVATE_POLICIES,
    REPEAT_PENALTY,
    SAMPLER_TOP_K,
    SYSTEM_PROMPT_MAX_CHARS,
    TEMPERATURE,
    TOP_K,
    TOP_P,
    choice,
)
from rag.chat.prompts import DEFAULT_SYSTEM_PROMPT, build_evidence_prompt, build_prompt
from rag.chat.routing import POLICIES, Policy, fallback_reason
from rag.chat.translation import QuestionTranslator
from rag.config import RetrievalSettings
from rag.i18n import Text, written_language
from rag.index.embedding import Embedder
from rag.index.names import Name, cyrillic_spelling, names_in
from rag.index.retrieval import MODES, Hit, Retriever, fuse_hits, mostly_latin
from rag.llm.backends import Backend
from rag.llm.generation import GenerationParams, StreamOutcome, stream_answer
from rag.llm.requests import Prompt, Turn
from rag.measure.metrics import AnswerMetrics, PriceTable, count_with_server, decode_rate
from rag.privacy.gate import PrivacyGate
from rag.privacy.local_only import LOCAL_ONLY_FILE, LocalOnlyText
from rag.privacy.rules import PrivacyRules

PROMPT_MARGIN_TOKENS = 64
"""Room left for the chat template's own tokens, which the prompt builder cannot see."""


def is_relevant(question: str, hits: list[Hit], floor: float, multilingual: bool) -> bool:
    """Whether the hits are worth answering from.

    A question needs a dense similarity above `floor` (a multilingual encoder's, less `CROSS_SCRIPT_GAP` for a
    passage in another script). With an English-only encoder that holds for Latin-script questions only; for
    other scripts (Bulgarian, Russian) its dense scores mean little and a keyword (BM25) match is required instead.
    """
    if not hits:
        return False
    latin = mostly_latin(question)
    if not (multilingual or latin):
        return any(h.bm25_score for h in hits)
    if all(h.dense_score is None for h in hits):
        return True
    return any(
        (h.dense_score or 0.0) >= floor - (CROSS_SCRIPT_GAP if multilingual and in_other_script(h.text, latin) else 0)
        for h in hits
    )


CROSS_SCRIPT_GAP = 0.03
"""How much lower e5 rates a passage in another script than the question: a Bulgarian question scores unrelated
Bulgarian passages about 0.03 above the English passage that answers it (docs/retrieval.md). Such a passage is
relevant from the floor less this gap."""


@dataclass
class Retrieval:
    hits: list[Hit]
    relevant: bool
    milliseconds: float
    query: str  # what was searched: the question, or a follow-up with the previous question's words
    evidence_score: float = 1.0  # how well the best sentence of the passages answers the question
    unmentioned: tuple[str, ...] = ()  # names the question asks about that no readable document holds
    english: str = ""  # the question in English, searched too (a Bulgarian or Russian question), or ""

    @property
    def answerable(self) -> bool:
        """Worth asking a model: relevant passages, a sentence in them that answers the question, and
        every name the question asks about in the documents."""
        return self.relevant and self.evidence_score >= DECLINE_BELOW and not self.unmentioned


DECLINE_BELOW = 0.3
"""Below this best-sentence score the documents are taken not to answer the question, and nothing is
generated. Chosen on the dev half of eval/real (`python -m bench.decline`) and the samples: at 0.35 the dev half
declines 5 of its 17 unanswerable questions and 2 of its 121 answerable ones, but paraphrased questions about
the samples score lower ("When can I meet the lecturer outside class?", answered by the office hours, 0.32;
a Russian question about the English greenhouse page, 0.36). A wrong decline hides an answer."""


PLAIN_NAME_DECLINE_BELOW = 0.45
"""A name that is not technical ("Tarnovo", "Australia") and no document holds declines the question only when the
best sentence scores below this: a document may spell it in its own language. The same value as the weak-evidence
mark (`WEAK_EVIDENCE`), chosen with it on the dev half of eval/real, but a setting of its own: moving the mark must
not move this decline."""


def unmentioned(names: list[Name], absent: list[str], evidence_score: float) -> tuple[str, ...]:
    """The names that decline a question: a technical one (a file, package, path or acronym: written alike in
    every language) no document holds; any other name only when the passages barely match, since a document may
    spell it in its own language (Tarnovo, Търново)."""
    return tuple(
        name.text
        for name in names
        if name.text in absent and (name.technical or evidence_score < PLAIN_NAME_DECLINE_BELOW)
    )


def distinct(hits: list[Hit]) -> list[Hit]:
    """Each passage once: a widened passage can hold another hit's whole text."""
    kept: list[Hit] = []
    texts: list[str] = []
    for hit in hits:
        text = " ".join(hit.text.split()).casefold()
        if any(text in other for other in texts):
            continue
        kept.append(hit)
        texts.append(text)
    return kept


@dataclass
class ChatOptions:
    """Per-chat choices from the settings panel (or the command line); defaults from `rag.chat.options`."""

    passages: int = int(TOP_K.default)  # passages retrieved for each question
    mode: str = "hybrid"
    system_prompt: str = DEFAULT_SYSTEM_PROMPT
    params: GenerationParams = field(default_factory=GenerationParams)
    private_policy: str = "shareable"  # in cloud mode: send only shareable passages, or "refuse" the question
    restore_redacted: bool = True  # show masked values restored in the displayed answer
    latency_budget: float | None = None  # seconds to first token before a routing policy falls back
    scope: tuple[str, ...] = ()  # answer from these documents only (files, or folders ending in "/")
    owner: str = ""  # the signed-in user whose own uploads may be searched (none: no one's)

    @classmethod
    def from_values(cls, values: Mapping[str, object], retrieval: RetrievalSettings, timeout: float) -> ChatOptions:
        """Validated options for the next answer, from whatever the settings panel (or a client) sent."""
        params = GenerationParams(
            temperature=TEMPERATURE.read(values),
            top_p=TOP_P.read(values),
            max_tokens=int(MAX_TOKENS.read(values)),
            sampler_top_k=int(SAMPLER_TOP_K.read(values)) or None,
            repeat_penalty=REPEAT_PENALTY.read(values) or None,
            timeout=timeout,
        )
        prompt = values.get("system_prompt")
        return cls(
            passages=int(TOP_K.read(values, retrieval.passages)),
            mode=choice(values.get("mode"), list(MODES), retrieval.mode),
            system_prompt=prompt[:SYSTEM_PROMPT_MAX_CHARS]
            if isinstance(prompt, str) and prompt.strip()
            else DEFAULT_SYSTEM_PROMPT,
            params=params,
            private_policy=choice(values.get("private_policy"), PRIVATE_POLICIES, "shareable"),
            restore_redacted=values.get("restore_redacted", True) is not False,
            latency_budget=LATENCY_BUDGET.read(values),
            scope=scope_from(values.get("scope")),
        )


MAX_SCOPE = 100


def scope_from(value: object) -> tuple[str, ...]:
    """Documents to answer from, as a client sent them: names of files or folders ("notes/"), at most MAX_SCOPE."""
    if isinstance(value, str):
        value = [value]
    if not isinstance(value, list | tuple):
        return ()
    return tuple(dict.fromkeys(v.strip().lstrip("/") for v in value if isinstance(v, str) and v.strip()))[:MAX_SCOPE]


@dataclass(frozen=True)
class Asked:
    """One question of a chat and what every backend answering it shares (the same sources, history, options)."""

    question: str
    retrieval: Retrieval
    history: list[Turn]
    options: ChatOptions


REFUSED_ANSWER = Text.of("answer.refused")
QUOTED_ANSWER = Text.of("answer.refused_quote")
NO_CONTEXT_ANSWER = Text.of("answer.no_context")
CLOSEST_NAMED = 3


def declined(retrieval: Retrieval) -> Text:
    """Nothing in the documents answers: say so, with the closest files, and generate nothing."""
    if not retrieval.hits:
        return NO_CONTEXT_ANSWER
    closest = ", ".join(list(dict.fromkeys(hit.source for hit in retrieval.hits))[:CLOSEST_NAMED])
    if retrieval.unmentioned:
        return Text.of("answer.declined_unmentioned", names=", ".join(retrieval.unmentioned), closest=closest)
    return Text.of("answer.declined", closest=closest)


def in_language_of(question: str, message: Text) -> str:
    """A message that stands in for an answer, written in the question's language like an answer would be."""
    return message.render(written_language(language_of(question)))


class Assistant:
    """Retrieves, prompts and streams; keeps nothing per chat (history is passed in)."""

    def __init__(
        self,
        retriever: Retriever,
        embedder: Embedder,
        prices: PriceTable | None = None,
        privacy: PrivacyRules | None = None,
        translator: QuestionTranslator | None = None,
    ) -> None:
        self.retriever = retriever
        self.translator = translator if retriever.settings.retrieval.translate_questions else None
        self.embedder = embedder
        settings = retriever.settings
        self.prices = prices or PriceTable.load(settings.costs)
        self.privacy = privacy or PrivacyRules.from_settings(settings.privacy)
        self.local_only = LocalOnlyText(settings.audit_dir / LOCAL_ONLY_FILE)
        self.gate = PrivacyGate(self.privacy, self.local_only)
        self.evidence = EvidenceFinder(embedder)

    def retrieve(self, question: str, options: ChatOptions, turns: list[Turn] | None = None) -> Retrieval:
        """The passages for a question; a follow-up is searched with the previous question's words."""
        started = time.perf_counter()
        self.retriever.refresh()
        query = search_query(question, turns or [])
        english = self.translator.english(query) if self.translator else ""
        found = self._search(query, english, options)
        hits = distinct(found)
        encoder = self.retriever.embedder
        configured = self.retriever.settings.retrieval.relevance_floor
        floor = encoder.relevance_floor if configured is None else configured
        relevant = is_relevant(query, hits, floor, encoder.multilingual)
        best = self.evidence.candidates(query, hits, english)[:1] if relevant else []
        score = best[0].score if best else 0.0
        names = names_in(question)
        absent = self._absent(names, options, score) if names else []
        milliseconds = (time.perf_counter() - started) * 1000
        return Retrieval(hits, relevant, milliseconds, query, score, unmentioned(names, absent, score), english)

    def _absent(self, names: list[Name], options: ChatOptions, evidence_score: float) -> list[str]:
        """The names no readable document holds; a plain Latin name counts as held when its Cyrillic spelling is
        ("Hitler", "Хитлер"): an English question about a Bulgarian page names people as English does. Each
        spelling is a keyword search, so it is looked up only where a plain name could decline (`unmentioned`)."""
        absent = self.retriever.absent([name.text for name in names], options.scope, options.owner)
        if evidence_score >= PLAIN_NAME_DECLINE_BELOW:
            return absent
        spellings = {
            name.text: cyrillic_spelling(name.text) for name in names if name.text in absent and not name.technical
        }
        wanted = [spelling for spelling in spellings.values() if spelling]
        missing = set(self.retriever.absent(wanted, options.scope, options.owner)) if wanted else set()
        return [word for word in absent if not spellings.get(word) or spellings[word] in missing]

    def _search(self, query: str, english: str, options: ChatOptions) -> list[Hit]:
        """The passages for the question as asked, fused with those for its English translation when it has one
        (each search reads twice as deep, so that a passage only one of them finds can still make the cut)."""
        search = self.retriever.search
        if not english:
            return search(query, options.passages, options.mode, options.scope, options.owner)
        depth = 2 * options.passages
        rankings = [search(text, depth, options.mode, options.scope, options.owner) for text in (query, english)]
        return fuse_hits(rankings, options.passages, self.retriever.settings.retrieval.rrf_k)

    def _count_tokens(self, text: str) -> int:
        return self.embedder.count_many([text])[0]

    def prompt(
        self, backend: Backend, question: str, hits: list[Hit], history: list[Turn], options: ChatOptions
    ) -> Prompt:
        budget = backend.context_tokens - options.params.max_tokens - PROMPT_MARGIN_TOKENS
        if backend.passage_chars:
            hits = [focused(question, hit, backend.passage_chars) for hit in hits]
        return build_prompt(
            backend.prompt_style, question, hits, history, options.system_prompt, self._count_tokens, budget
        )

    def start(
        self, backend: Backend, question: str, retrieval: Retrieval, history: list[Turn], options: ChatOptions
    ) -> tuple[Answer, Prompt | None]:
        """The answer to fill for this backend and the prompt to stream it from (None: refused, nothing sent).

        The prompt is built from what the privacy gate admits: for a cloud backend, shareable passages and
        turns only, each masked; the answer's sources are those passages as the reader sees them.
        """
        refuse = options.private_policy == "refuse"
        admitted = self.gate.admit(
            not backend.is_local, question, retrieval.hits, history, options.system_prompt, refuse
        )
        egress = admitted.egress
        if admitted.refused:
            refused = in_language_of(question, QUOTED_ANSWER if egress.quoted else REFUSED_ANSWER)
            return Answer(refused, backend, [], retrieval_ms=retrieval.milliseconds, egress=egress), None
        if backend.answer_from == "evidence":
            # scored with what was searched (a follow-up with the question before it), as when it was decided
            evidence = self.evidence.select(retrieval.query, admitted.hits, retrieval.english)
            prompt = build_evidence_prompt(backend.prompt_style, admitted.question, evidence, admitted.hits)
        else:
            with_system = replace(options, system_prompt=admitted.system_prompt)
            prompt = self.prompt(backend, admitted.question, admitted.hits, admitted.history, with_system)
        if egress.cloud:
            egress.chunks, egress.files = len(prompt.sources), len({hit.source for hit in prompt.sources})
            egress.turns = prompt.turns_sent
        local_only = backend.is_local and self.involves_local_only(prompt.sources, prompt.history_sent(history))
        answer = Answer("", backend, admitted.shown(prompt.sources), egress=egress, local_only=local_only)
        answer.scope = options.scope
        return answer, prompt

    def involves_local_only(self, hits: list[Hit], history: list[Turn]) -> bool:
        """Whether local-only text is at stake: then a failure never falls back to the cloud."""
        return self.privacy.has_private(hits) or any(turn.local_only for turn in history)

    async def stream(
        self, question: str, prompt: Prompt, retrieval: Retrieval, options: ChatOptions, answer: Answer
    ) -> AsyncIterator[str]:
        """Stream the answer's text as the reader sees it; `answer` is complete (cited sources, timings,
        error) when this ends.

        The one place the model's text is shaped for every client: the lead written for a base model comes
        with its first real token (never before: if the model fails, nothing was said), and masked values
        are restored as they stream when the chat asks for it.
        """
        outcome = StreamOutcome()
        redactor = answer.egress.redactor if answer.egress and options.restore_redacted else None
        restorer = redactor.stream_restorer() if redactor else None
        shown, lead = [], prompt.lead
        async for piece in stream_answer(answer.backend, prompt, options.params, outcome):
            text = restorer.feed(lead + piece) if restorer else lead + piece
            lead = ""
            if text:
                shown.append(text)
                yield text
        tail = restorer.flush() if restorer else ""
        if tail:
            shown.append(tail)
            yield tail
        answer.text = "".join(shown).strip() if outcome.text.strip() else ""
        answer.error, answer.cut = outcome.error, outcome.cut
        if answer.egress is not None:
            answer.egress.records = outcome.audit_records
        answer.cited = cited_numbers(answer.text, len(prompt.sources))
        answer.retrieval_ms = retrieval.milliseconds
        answer.dropped_sources = prompt.dropped_sources
        if outcome.first_token_at is not None:
            answer.first_token_ms = (outcome.first_token_at - outcome.started) * 1000
        answer.total_ms = ((outcome.finished_at or time.perf_counter()) - outcome.started) * 1000
        answer.metrics = await asyncio.to_thread(self._measure, question, prompt, outcome, answer)
        await asyncio.to_thread(self._check, retrieval.query, answer, retrieval.english)
        await asyncio.to_thread(self._remember_local_only, question, answer)

    def _remember_local_only(self, question: str, answer: Answer) -> None:
        """What a client may quote back to a cloud model: the local-only passages shown with a local answer, and
        an answer made from local-only text (file I/O shared with other workers: off the event loop)."""
        if not answer.backend.is_local:
            return
        for hit in answer.sources:
            if self.privacy.is_private(hit.source):
                self.local_only.remember(hit.text)
        if answer.local_only and answer.text:
            self.local_only.remember(answer.text, question)

    def _check(self, asked: str, answer: Answer, english: str = "") -> None:
        """Check every claim against the sources and show what a reader can trust: citations that exist, no
        unsupported fact unmarked (or, answering from evidence, replaced by the evidence), the evidence quoted.
        `asked` is what was searched: the question, or a follow-up with the question before it, and `english` its
        translation, as when it was decided whether to answer (the evidence is scored once)."""
        passages = [hit.text for hit in answer.sources]
        from_evidence = answer.backend.answer_from == "evidence"
        # a small model's citation is a guess among the evidence it was given: what was asked chooses the quote
        answer.evidence = self.evidence.quote(asked, answer.sources, [] if from_evidence else answer.cited, english)
        if answer.text:
            answer.text = without_lead(answer.text)
            first = check_claims(answer.text, passages, asked)
            answer.repair = repaired(
                answer.text, first, answer.evidence, len(passages), from_evidence, language_of(asked)
            )
            answer.text = answer.repair.text
            answer.cited = cited_numbers(answer.text, len(passages))
        answer.claims = check_claims(answer.text, passages, asked)
        answer.weak_evidence = (
            bool(answer.sources) and max((q.score for q in answer.evidence), default=0) < WEAK_EVIDENCE
        )
        answer.grounding = check(answer.text, passages)
        answer.grounding.add_unsupported([s.sentence for s in answer.claims.failed])

    def _tokens(self, backend: Backend, text: str) -> int:
        """The model's own count where its server can tokenize, else the embedding tokenizer's."""
        exact = count_with_server(backend.base_url, text) if backend.is_local else None
        return exact if exact is not None else self._count_tokens(text)

    def _measure(self, question: str, prompt: Prompt, outcome: StreamOutcome, answer: Answer) -> AnswerMetrics:
        """The same measurements for every backend; token counts are estimates where the server sent no usage."""
        backend = answer.backend
        if outcome.usage is not None:
            prompt_tokens, completion_tokens = outcome.usage
        else:
            sent = prompt.text or "\n".join(m["content"] for m in prompt.messages)
            prompt_tokens, completion_tokens = self._tokens(backend, sent), self._tokens(backend, outcome.text)
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

    async def ask(
        self,
        question: str,
        conversation: Conversation,
        options: ChatOptions,
        policy: Policy,
        backend_for: Callable[[str], Backend],
        deliver: Deliver | None = None,
        shown: Callable[[Retrieval], Awaitable[None]] | None = None,
    ) -> Exchange:
        """The whole path for one question of a chat: retrieve, answer under the routing policy, remember.

        `backend_for(key)` gives the "local" or "cloud" backend (it may start the embedded model, so it is
        called off the event loop); `deliver(reply)` iterates each reply (the app streams it into a message,
        the terminal collects it); `shown(retrieval)` lets the caller show what was found before any answer.
        """
        retrieval = await asyncio.to_thread(self.retrieve, question, options, conversation.turns)
        if shown is not None:
            await shown(retrieval)
        if not retrieval.answerable:
            return Exchange(question, retrieval, [], declined(retrieval))
        asked = Asked(question, retrieval, list(conversation.turns), options)
        answers, note = await route(self, policy, asked, backend_for, deliver or Reply.collect_into)
        conversation.record(question, answers)
        return Exchange(question, retrieval, answers, note)


Deliver = Callable[["Reply"], Awaitable[None]]


async def answer_with(
    assistant: Assistant, backend: Backend, question: str, history: list[Turn], options: ChatOptions
) -> Answer:
    """One backend's whole answer through the one answer path (`Assistant.ask` with that backend alone),
    for measurements and scripts that pick the backend themselves."""
    policy = POLICIES[backend.key]
    exchange = await assistant.ask(question, Conversation(turns=list(history)), options, policy, lambda _: backend)
    if exchange.answers:
        return exchange.answers[0]
    text = exchange.note_text
    return Answer(text, backend, [], retrieval_ms=exchange.retrieval.milliseconds, no_context=True)


class Reply:
    """One backend's answer to one question: iterate it for the text as it streams; once iteration ends,
    `answer` is complete (text, sources, citations, metrics, egress, route note)."""

    def __init__(self, assistant: Assistant, backend: Backend, asked: Asked, why: Text | None) -> None:
        self.assistant = assistant
        self.backend = backend
        self.asked = asked
        self.why = why
        self.answer = Answer("", backend, [], route_note=why)

    async def __aiter__(self) -> AsyncIterator[str]:
        asked = self.asked
        # off the event loop: counting tokens and masking cost CPU in proportion to the text
        answer, prompt = await asyncio.to_thread(
            self.assistant.start, self.backend, asked.question, asked.retrieval, asked.history, asked.options
        )
        answer.route_note = self.why
        self.answer = answer
        if prompt is None:
            return
        async for piece in self.assistant.stream(asked.question, prompt, asked.retrieval, asked.options, answer):
            yield piece

    @property
    def refused(self) -> bool:
        """Nothing was sent: the privacy rules kept this question from the cloud."""
        return self.answer.egress is not None and self.answer.egress.refused

    async def collect(self) -> Answer:
        async for _ in self:
            pass
        return self.answer

    @staticmethod
    async def collect_into(reply: Reply) -> None:
        """The delivery of a caller that only wants the finished answers."""
        await reply.collect()


@dataclass
class Exchange:
    """One question of a chat, answered: what was found, every answer given, and a note said once
    (nothing relevant was found, or a fallback to the cloud was refused)."""

    question: str
    retrieval: Retrieval
    answers: list[Answer]
    note: Text | None = None

    @property
    def declined(self) -> bool:
        """The documents do not answer this question: nothing was generated."""
        return not self.retrieval.answerable

    @property
    def note_text(self) -> str:
        """The note for clients without a reader's language (the API, the terminal): in the question's language."""
        return "" if self.note is None else in_language_of(self.question, self.note)


@dataclass
class Conversation:
    """One chat's memory: the earlier turns sent with the next question, and every answer's measurements."""

    turns: list[Turn] = field(default_factory=list)
    measurements: list[AnswerMetrics] = field(default_factory=list)

    def record(self, question: str, answers: list[Answer]) -> None:
        """Measure every answer; the first good one becomes the turn the next question carries."""
        self.measurements.extend(a.metrics for a in answers if a.metrics is not None)
        first_good = next((a for a in answers if a.ok), None)
        if first_good is not None:
            self.turns.append(first_good.turn(question))


BOTH_NOTE = Text.of("route.both")


async def route(
    assistant: Assistant, policy: Policy, asked: Asked, backend_for: Callable[[str], Backend], deliver: Deliver
) -> tuple[list[Answer], Text | None]:
    """Every routing policy in one place: both side by side, or the primary backend and, if it failed before
    any text and the policy and the privacy rules allow it, the fallback.

    Returns the answers given and, when a fallback was refused, the sentence that says why.
    """

    async def reply(key: str, options: ChatOptions, why: Text | None) -> Reply:
        backend = await asyncio.to_thread(backend_for, key)
        return Reply(assistant, backend, replace(asked, options=options), why)

    if policy.key == "both":
        pair = [await reply(key, asked.options, BOTH_NOTE) for key in ("local", "cloud")]
        await asyncio.gather(*(deliver(r) for r in pair))
        return [r.answer for r in pair], None
    options = asked.options
    budget = replace(options.params, first_token_budget=options.latency_budget if policy.latency_budget else None)
    first = await reply(
        policy.primary,
        replace(options, params=budget),
        Text.of(f"route.answered_by_{policy.primary}", policy=policy.label),
    )
    await deliver(first)
    failure = first.answer.error
    if failure is None or first.answer.text or first.refused:
        return [first.answer], None
    local_only = assistant.involves_local_only(asked.retrieval.hits, asked.history)
    allowed, note = fallback_reason(policy, failure.what, local_only)
    if not allowed:
        return [first.answer], note
    second = await reply(str(policy.fallback), options, note)
    await deliver(second)
    return [first.answer, second.answer], None
