"""A finished answer and everything the app shows under it: shared by the pipeline that makes it, the checks and
the evaluation that judge it, and every client that renders it."""

from __future__ import annotations

from dataclasses import dataclass, field

from rag.answers.claims import ClaimReport
from rag.answers.evidence import Evidence
from rag.answers.grounding import Grounding
from rag.answers.repair import Repair
from rag.i18n import Text
from rag.index.retrieval import Hit
from rag.llm.backends import Backend
from rag.llm.generation import BackendError
from rag.llm.requests import Turn
from rag.measure.metrics import AnswerMetrics
from rag.privacy.rules import Egress


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
    scope: tuple[str, ...] = ()  # the documents it was asked to answer from (none: all)
    route_note: Text | None = None  # which backend answered and why, under a routing policy
    local_only: bool = False  # made from local-only text: its turn never goes to a cloud model
    evidence: list[Evidence] = field(default_factory=list)  # the sentences in its sources that best answer
    grounding: Grounding = field(default_factory=Grounding)  # unsupported sentences, citations of no source
    weak_evidence: bool = False  # no sentence of the sources matches the question well: maybe not in them
    claims: ClaimReport = field(default_factory=ClaimReport)  # numbers, names, URLs... checked against sources
    repair: Repair | None = None  # what was changed before showing: citations, links, sentences replaced

    def turn(self, question: str) -> Turn:
        """This answer as an earlier turn of the chat, carrying its local-only mark."""
        return Turn(question, self.text, self.local_only)

    @property
    def ok(self) -> bool:
        """Text and no error: an answer worth keeping in the conversation history."""
        return bool(self.text) and self.error is None
