"""Text the chat shows, kept apart from the UI framework so it can be tested and reused."""

from __future__ import annotations

import re
import textwrap

from rag.answers.evidence import Evidence
from rag.chat.pipeline import Answer
from rag.chat.prompts import source_label
from rag.index.retrieval import Hit
from rag.ingest.pipeline import IngestReport
from rag.ingest.report import printable
from rag.llm.backends import Backend
from rag.privacy.rules import Egress

_IMAGE = re.compile(r"!(?=\[)")


def inert(markdown: str) -> str:
    """Markdown from documents or models, shown without images: an image would be fetched by the reader's
    browser, which tracks readers and lets injected text carry passages out in its URL. A character
    reference is not Markdown syntax, so "&#33;[" stays text whatever precedes it (even a backslash)."""
    return _IMAGE.sub("&#33;", markdown)


def citation_name(number: int) -> str:
    """The element name the UI links: the answer's own citation marker."""
    return f"[{number}]"


def retrieval_summary(hits: list[Hit], milliseconds: float) -> str:
    if not hits:
        return f"No matching passages ({milliseconds:.0f} ms)."
    lines = [f"{len(hits)} passages in {milliseconds:.0f} ms:"]
    for number, hit in enumerate(hits, start=1):
        lines.append(
            f"{number}. **{source_label(hit)}** (score {hit.score:.3f}): {textwrap.shorten(hit.text, 160, placeholder=' ...')}"
        )
    return inert("\n".join(lines))


UNSUPPORTED_MARK = " ⚠️"


def passage_body(hit: Hit, quoted: list[Evidence] | None = None) -> str:
    """A source as the side panel shows it: where it is, its heading path, and the passage, with the
    quoted evidence in bold."""
    heading = " > ".join(hit.chunk.heading_path)
    text = hit.text
    for quote in sorted(quoted or [], key=lambda q: -q.start):
        inner = text[quote.start : quote.end].replace("*", "\\*")
        text = f"{text[: quote.start]}**{inner}**{text[quote.end :]}"
    return inert(f"**{source_label(hit)}**" + (f"\n\n_{heading}_" if heading else "") + f"\n\n{text}")


def evidence_block(answer: Answer) -> str:
    """Under the answer: the sentences in the sources that best answer the question, with where they are."""
    lines = []
    for quote in answer.evidence:
        hit = answer.sources[quote.number - 1]
        lines.append(f"> “{quote.text}” {citation_name(quote.number)} {source_label(hit)}")
    return "\n\n**Evidence**\n" + "\n>\n".join(lines) if lines else ""


def grounding_notes(answer: Answer) -> str:
    """What a reader should check: sentences no source supports, and citations of sources that do not exist."""
    notes = []
    if answer.weak_evidence and answer.text:
        notes.append("The sources barely match this question: the answer may not be in your documents.")
    if answer.grounding.unsupported:
        notes.append(f"{UNSUPPORTED_MARK.strip()} no source supports the marked sentence(s): check them.")
    missing = answer.grounding.missing_sources
    if missing:
        cited = ", ".join(citation_name(n) for n in missing)
        notes.append(f"The answer cites {cited}, but there are only {len(answer.sources)} sources.")
    return "".join(f"\n\n_{note}_" for note in notes)


def upload_summary(saved: list[str], report: IngestReport) -> str:
    """What became of the files attached to a message, with the reason for each one that was not indexed."""
    skipped = [
        f"\n- skipped {printable(path)}: {printable(why)}"
        for path, why in report.skipped
        if path.startswith("uploads/")
    ]
    warnings = [f"\n- warning: {printable(warning)}" for warning in report.warnings]
    lines = "\n- ".join(printable(line) for line in saved)
    indexed = f"Indexed: {len(report.added)} new, {len(report.updated)} updated."
    return inert(f"Saved:\n- {lines}\n\n{indexed}{''.join(skipped + warnings)}")


def answer_block(answer: Answer, pdf_names: dict[int, str]) -> str:
    """The finished message: the answer, its sources, its measurements, what left the machine and why this backend."""
    if answer.egress is not None and answer.egress.refused:
        return inert(f"{answer.text}\n\n{egress_line(answer.egress)}")
    text = answer.grounding.marked(answer.text, UNSUPPORTED_MARK)
    body = text + error_block(answer) + grounding_notes(answer) + evidence_block(answer)
    parts = [body, sources_block(answer, pdf_names), "", metrics_line(answer)]
    return inert("\n".join([*parts, f"{egress_line(answer.egress)} · _{answer.route_note}_"]))


def sources_block(answer: Answer, pdf_names: dict[int, str]) -> str:
    """The list under an answer: cited sources first, each with its file, page and a quote."""
    if not answer.sources:
        return ""
    order = answer.cited + [n for n in range(1, len(answer.sources) + 1) if n not in answer.cited]
    lines = ["", "**Sources**" + ("" if answer.cited else " (the answer cites none; these were retrieved)")]
    for number in order:
        hit = answer.sources[number - 1]
        quote = textwrap.shorten(hit.text, 140, placeholder=" ...")
        pdf = f" · open {pdf_names[number]}" if number in pdf_names else ""
        lines.append(f"- {citation_name(number)} {source_label(hit)}: “{quote}”{pdf}")
    if answer.dropped_sources:
        lines.append(f"\n_{answer.dropped_sources} lower-ranked source(s) left out to fit the model's context window._")
    return "\n".join(lines)


def metrics_line(answer: Answer) -> str:
    """Compact figures under an answer; "≈" marks token counts the server did not report."""
    parts = [answer.backend.describe(), f"retrieval {answer.retrieval_ms:.0f} ms"]
    if answer.first_token_ms is not None:
        parts.append(f"first token {answer.first_token_ms:.0f} ms")
    parts.append(f"total {answer.total_ms / 1000:.1f} s")
    metrics = answer.metrics
    if metrics is not None:
        approx = "≈" if metrics.tokens_estimated else ""
        if metrics.tokens_per_s is not None:
            parts.append(f"{metrics.tokens_per_s:.1f} tokens/s")
        parts.append(f"{approx}{metrics.prompt_tokens} in / {approx}{metrics.completion_tokens} out tokens")
        parts.append("cost: no price for this model" if metrics.cost_usd is None else f"cost ${metrics.cost_usd:.5f}")
    return "_" + " · ".join(parts) + "_"


def egress_line(egress: Egress | None) -> str:
    """Under every answer: what left the machine for it."""
    if egress is None:
        return ""
    icon = "☁️" if egress.cloud and not egress.refused else "🔒"
    return f"{icon} {egress.summary()}"


def error_block(answer: Answer) -> str:
    if answer.error is None:
        return "" if answer.text else "_The model gave no answer this time; the sources below are what was found._"
    state = "The answer was cut off here." if answer.cut else "No answer came back."
    return f"\n\n> **{state}** {answer.error.backend_label}: {answer.error.what}. {answer.error.todo}"


def welcome(local: Backend, cloud: Backend, chunks: int, files: int) -> str:
    local_line = (
        f"**Local model:** {local.describe()}"
        if local.available
        else f"**Local model:** not available: the local model could not be started ({local.reason})"
    )
    cloud_line = (
        f"**Cloud model:** {cloud.describe()}" if cloud.available else f"**Cloud model:** unavailable: {cloud.reason}"
    )
    return (
        f"Ready to answer from **{files} documents** ({chunks} passages).\n\n{local_line}\n\n{cloud_line}\n\n"
        "Choose local or cloud for this chat in the settings (the sliders icon). With local, nothing leaves this machine."
    )
