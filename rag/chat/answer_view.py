"""One answer, one view: the text under an answer and the JSON shape, for the chat, /v1 and `rag.ask`.

The wording comes from the catalog (the chat in the reader's language, the API and the terminal in
English); the JSON is the same for `rag.ask --json` and the `rag` field of an API completion.
"""

from __future__ import annotations

from typing import Any

from rag.answers.answer import Answer
from rag.chat.presentation import (
    UNSUPPORTED_MARK,
    egress_line,
    error_block,
    evidence_block,
    fences_closed,
    grounding_notes,
    inert,
    metrics_line,
    sources_block,
)
from rag.i18n import Language, say, tr


def answer_notes(answer: Answer, pdf_names: dict[int, str], language: Language) -> str:
    """Everything under the answer's text: what to check, the evidence, the sources, the measurements,
    what left the machine and why this backend answered."""
    if answer.egress is not None and answer.egress.refused:
        return "\n\n" + egress_line(answer.egress, language)
    notes = error_block(answer, language) + grounding_notes(answer, language) + evidence_block(answer, language)
    scope = ["", f"_{tr(language, 'answer.scope', documents=', '.join(answer.scope))}_"] if answer.scope else []
    parts = [notes, *scope, sources_block(answer, pdf_names, language), "", metrics_line(answer, language)]
    route = f" · _{say(answer.route_note, language)}_" if answer.route_note else ""
    return inert("\n".join([*parts, egress_line(answer.egress, language) + route]))


def answer_block(answer: Answer, pdf_names: dict[int, str], language: Language) -> str:
    """The finished answer as the chat shows it: its text with unsupported sentences marked, then the notes."""
    refused = answer.egress is not None and answer.egress.refused
    text = answer.text if refused else answer.grounding.marked(answer.text, UNSUPPORTED_MARK)
    return inert(fences_closed(text)) + answer_notes(answer, pdf_names, language)


def answer_json(answer: Answer) -> dict[str, Any]:
    """Every fact about one answer a program may want, in one shape."""
    metrics = answer.metrics
    return {
        "answer": answer.text,
        "sources": [
            {
                "number": number,
                "source": hit.source,
                "page": hit.page,
                "heading": list(hit.chunk.heading_path),
                "cited": number in answer.cited,
                "score": round(hit.score, 4),
                "text": hit.text,
            }
            for number, hit in enumerate(answer.sources, start=1)
        ],
        "evidence": [quote.to_json() for quote in answer.evidence],
        "grounding": {**answer.grounding.to_json(), "weak_evidence": answer.weak_evidence},
        "claims": answer.claims.to_json(),
        "repaired": None
        if answer.repair is None
        else {
            "replaced": answer.repair.replaced,
            "dropped_citations": answer.repair.dropped_citations,
            "moved_citations": answer.repair.moved_citations,
        },
        "declined": False,
        "scope": list(answer.scope),
        "backend": answer.backend.key,
        "backend_label": answer.backend.label,
        "model": answer.backend.model,
        "local": answer.backend.is_local,
        "route_note": str(answer.route_note or ""),
        "egress": answer.egress.summary() if answer.egress else "nothing left this machine",
        "egress_records": list(answer.egress.records) if answer.egress else [],  # ids in `python -m rag.egress`
        "error": str(answer.error) if answer.error else None,
        "cut": answer.cut,
        "retrieval_ms": round(answer.retrieval_ms, 1),
        "first_token_ms": None if answer.first_token_ms is None else round(answer.first_token_ms, 1),
        "total_ms": round(answer.total_ms, 1),
        "prompt_tokens": None if metrics is None else metrics.prompt_tokens,
        "completion_tokens": None if metrics is None else metrics.completion_tokens,
        "tokens_estimated": None if metrics is None else metrics.tokens_estimated,
        "cost_usd": None if metrics is None else metrics.cost_usd,
    }
