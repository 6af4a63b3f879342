"""The privacy gate: every input of a cloud request is filtered and masked before the prompt is built.

Like a retrieval post-processor, it sits between what was found and what is asked: local-only
passages and turns are left out, and the question, each passage, each earlier turn and the system
prompt are masked one by one with one redactor (the same value gets the same placeholder everywhere).
Masking comes before anything cuts a passage to fit, so a value is never sent in part.

What the client sends is checked too: a turn that quotes local-only text the app has shown or answered
(`LocalOnlyText`) is held back like a local-only turn, and a question or system prompt that quotes it
is not sent at all: a client may carry the chat inside one message (Open WebUI's title and follow-up tasks).
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace

from rag.index.retrieval import Hit
from rag.llm.requests import Turn
from rag.privacy.local_only import LocalOnlyText
from rag.privacy.redaction import Redactor
from rag.privacy.rules import Egress, PrivacyRules


@dataclass
class Admitted:
    """What may be put into the prompt for one backend, and the egress line that goes with it."""

    question: str
    hits: list[Hit]
    history: list[Turn]
    system_prompt: str
    egress: Egress
    redactor: Redactor | None = field(default=None, repr=False)

    @property
    def refused(self) -> bool:
        return self.egress.refused

    def shown(self, sent: list[Hit]) -> list[Hit]:
        """The passages as the reader sees them: masked values put back for display."""
        if self.redactor is None or not self.redactor.count:
            return sent
        return [replace(hit, passage=self.redactor.restore(hit.text)) for hit in sent]


@dataclass(frozen=True)
class PrivacyGate:
    rules: PrivacyRules
    known: LocalOnlyText = field(default_factory=LocalOnlyText)

    def _quotes_local_only(self, turn: Turn) -> bool:
        return turn.local_only or self.known.quotes(turn.question) or self.known.quotes(turn.answer)

    def admit(
        self, cloud: bool, question: str, hits: list[Hit], history: list[Turn], system_prompt: str, refuse: bool
    ) -> Admitted:
        """The inputs a backend may get. A local backend gets everything as it is.

        A cloud backend never gets local-only passages, nor earlier turns made from local-only text;
        when only local-only passages answer the question, or `refuse` is set and local-only material
        is involved, it gets nothing (the egress says refused).
        """
        if not cloud:
            return Admitted(question, hits, history, system_prompt, Egress(cloud=False))
        shareable, private = self.rules.shareable(hits)
        turns = [turn for turn in history if not self._quotes_local_only(turn)]
        held = Egress(cloud=True, held_back=len(private), held_turns=len(history) - len(turns))
        held.quoted = self.known.quotes(question) or self.known.quotes(system_prompt)
        if held.quoted or not shareable or ((private or held.held_turns) and refuse):
            held.refused = True
            return Admitted(question, [], [], system_prompt, held)
        redactor = Redactor.with_user_patterns(list(self.rules.user_patterns))
        # in the order the prompt reads, so placeholders are numbered as the model meets them
        masked_system = redactor.redact(system_prompt)
        masked_turns = [
            replace(turn, question=redactor.redact(turn.question), answer=redactor.redact(turn.answer))
            for turn in turns
        ]
        masked_question = redactor.redact(question)
        masked_hits = [replace(hit, passage=redactor.redact(hit.text)) for hit in shareable]
        masked = Admitted(masked_question, masked_hits, masked_turns, masked_system, held, redactor)
        held.masked, held.redactor = redactor.count, redactor
        return masked
