"""What is asked of a model: one chat's earlier turns and the prompt built for this question.

Shared by the layers that build a request (chat), filter it (privacy) and send it (llm), so it lives
with the sender, below them.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from rag.index.retrieval import Hit


@dataclass
class Turn:
    """One earlier exchange of this chat, kept without its sources.

    `local_only` marks a turn whose answer was made from local-only text (a local-only passage, or an
    earlier local-only turn in its prompt): it may quote that text, so it never goes to a cloud model.
    """

    question: str
    answer: str
    local_only: bool = False


@dataclass
class Prompt:
    """What is sent: chat messages or a completion prompt, and which sources it carries."""

    style: str
    messages: list[dict[str, str]] = field(default_factory=list)
    text: str = ""
    lead: str = ""
    stop: list[str] | None = None
    sources: list[Hit] = field(default_factory=list)
    dropped_sources: int = 0
    dropped_turns: int = 0
    turns_sent: int = 0  # the most recent earlier turns that fitted into the prompt

    def history_sent(self, history: list[Turn]) -> list[Turn]:
        """The earlier turns this prompt carries (the newest ones; completion prompts carry none)."""
        return history[len(history) - self.turns_sent :] if self.turns_sent else []
