"""Text the chat shows, kept apart from the UI framework so it can be tested and reused."""

from __future__ import annotations

import re
import textwrap

from rag.answers.answer import Answer
from rag.answers.evidence import Evidence
from rag.i18n import Language, say, tr
from rag.index.retrieval import Hit
from rag.llm.backends import Backend
from rag.privacy.rules import Egress

_IMAGE = re.compile(r"!(?=\[)")
_LOCATED_BY_HEADING = (".xlsx", ".csv", ".epub")
"""Formats without pages whose heading path says where a passage is: sheet and rows, or chapter."""


def inert(markdown: str) -> str:
    """Markdown from documents or models, shown without images: an image would be fetched by the reader's
    browser, which tracks readers and lets injected text carry passages out in its URL. A character
    reference is not Markdown syntax, so "&#33;[" stays text whatever precedes it (even a backslash)."""
    return _IMAGE.sub("&#33;", markdown)


_FENCE = re.compile(r"^[ \t]{0,3}(```|~~~)", re.MULTILINE)


def fences_closed(markdown: str) -> str:
    """A model's answer with its last code block closed: an unclosed fence would turn everything after it, the
    notes, sources and figures under the answer included, into code."""
    fences = _FENCE.findall(markdown)
    return f"{markdown}\n{fences[-1]}" if len(fences) % 2 else markdown


def citation_name(number: int) -> str:
    """The element name the UI links: the answer's own citation marker."""
    return f"[{number}]"


def shown_label(hit: Hit, language: Language) -> str:
    """Where a passage is, for the reader: file, then page or slide, or (spreadsheets, books) its place."""
    if hit.page:
        kind = "source.slide" if hit.source.lower().endswith(".pptx") else "source.page"
        return f"{hit.source}, {tr(language, kind, page=hit.page)}"
    if hit.source.lower().endswith(_LOCATED_BY_HEADING) and hit.chunk.heading_path:
        return f"{hit.source}, {' > '.join(hit.chunk.heading_path)}"
    return hit.source


def retrieval_summary(hits: list[Hit], milliseconds: float, language: Language, english: str = "") -> str:
    """What the search found, and the question's English translation where it was searched too."""
    searched = [tr(language, "retrieval.translated", english=english)] if english else []
    if not hits:
        return inert("\n".join([*searched, tr(language, "retrieval.none", ms=milliseconds)]))
    lines = [*searched, tr(language, "retrieval.found", count=len(hits), ms=milliseconds)]
    for number, hit in enumerate(hits, start=1):
        text = textwrap.shorten(hit.text, 160, placeholder=" ...")
        score = tr(language, "retrieval.score", score=hit.score)
        lines.append(f"{number}. **{shown_label(hit, language)}** ({score}): {text}")
    return inert("\n".join(lines))


UNSUPPORTED_MARK = " ⚠️"


def passage_body(hit: Hit, language: Language, quoted: list[Evidence] | None = None) -> str:
    """A source as the side panel shows it: where it is, its heading path, and the passage, with the
    quoted evidence in bold."""
    heading = " > ".join(hit.chunk.heading_path)
    text = hit.text
    for quote in sorted(quoted or [], key=lambda q: -q.start):
        inner = text[quote.start : quote.end].replace("*", "\\*")
        text = f"{text[: quote.start]}**{inner}**{text[quote.end :]}"
    return inert(f"**{shown_label(hit, language)}**" + (f"\n\n_{heading}_" if heading else "") + f"\n\n{text}")


def evidence_block(answer: Answer, language: Language) -> str:
    """Under the answer: the sentences in the sources that best answer the question, with where they are
    (those the answer already quotes are not repeated)."""
    lines = []
    for quote in answer.evidence:
        if quote.text in answer.text:  # already quoted in the answer itself
            continue
        hit = answer.sources[quote.number - 1]
        lines.append(f"> “{quote.text}” {citation_name(quote.number)} {shown_label(hit, language)}")
    return f"\n\n**{tr(language, 'answer.evidence')}**\n" + "\n>\n".join(lines) if lines else ""


def grounding_notes(answer: Answer, language: Language) -> str:
    """What a reader should check: items no cited source holds, sentences no source supports, what was
    repaired before showing (citations of sources that do not exist, wording replaced by the evidence)."""
    notes = []
    if answer.weak_evidence and answer.text:
        notes.append(tr(language, "answer.weak_evidence"))
    unmatched = [item.text for check in answer.claims.failed for item in check.failed]
    if unmatched:
        notes.append(tr(language, "answer.unmatched", items=", ".join(dict.fromkeys(unmatched))))
    elif answer.grounding.unsupported:
        notes.append(tr(language, "answer.unsupported", mark=UNSUPPORTED_MARK.strip()))
    repair = answer.repair
    if repair is not None and repair.replaced:
        notes.append(tr(language, "answer.replaced"))
    if repair is not None and repair.dropped_citations:
        cited = ", ".join(citation_name(n) for n in sorted(set(repair.dropped_citations)))
        notes.append(tr(language, "answer.dropped_citations", cited=cited))
    missing = answer.grounding.missing_sources
    if missing:
        cited = ", ".join(citation_name(n) for n in missing)
        notes.append(tr(language, "answer.missing_sources", cited=cited, count=len(answer.sources)))
    return "".join(f"\n\n_{note}_" for note in notes)


def sources_block(answer: Answer, pdf_names: dict[int, str], language: Language) -> str:
    """The list under an answer: cited sources first, each with its file, page and a quote."""
    if not answer.sources:
        return ""
    order = answer.cited + [n for n in range(1, len(answer.sources) + 1) if n not in answer.cited]
    title = tr(language, "answer.sources" if answer.cited else "answer.sources_uncited")
    lines = ["", f"**{title}**"]
    for number in order:
        hit = answer.sources[number - 1]
        quote = textwrap.shorten(hit.text, 140, placeholder=" ...")
        pdf = " · " + tr(language, "answer.open_pdf", name=pdf_names[number]) if number in pdf_names else ""
        lines.append(f"- {citation_name(number)} {shown_label(hit, language)}: “{quote}”{pdf}")
    if answer.dropped_sources:
        lines.append("\n_" + tr(language, "answer.dropped_sources", count=answer.dropped_sources) + "_")
    return "\n".join(lines)


def metrics_line(answer: Answer, language: Language) -> str:
    """Compact figures under an answer; "≈" marks token counts the server did not report."""
    parts = [answer.backend.describe(language), tr(language, "metrics.retrieval", ms=answer.retrieval_ms)]
    if answer.first_token_ms is not None:
        parts.append(tr(language, "metrics.first_token", ms=answer.first_token_ms))
    parts.append(tr(language, "metrics.total", seconds=answer.total_ms / 1000))
    metrics = answer.metrics
    if metrics is not None:
        approx = "≈" if metrics.tokens_estimated else ""
        if metrics.tokens_per_s is not None:
            parts.append(tr(language, "metrics.tokens_per_s", rate=metrics.tokens_per_s))
        parts.append(tr(language, "metrics.tokens", approx=approx, prompt=metrics.prompt_tokens,
                        completion=metrics.completion_tokens))  # fmt: skip
        no_price = metrics.cost_usd is None
        parts.append(
            tr(language, "metrics.no_price") if no_price else tr(language, "metrics.cost", usd=metrics.cost_usd)
        )
    return "_" + " · ".join(parts) + "_"


def egress_line(egress: Egress | None, language: Language) -> str:
    """Under every answer: what left the machine for it."""
    if egress is None:
        return ""
    icon = "☁️" if egress.cloud and not egress.refused else "🔒"
    return f"{icon} {egress.summary(language)}"


def error_block(answer: Answer, language: Language) -> str:
    if answer.error is None:
        return "" if answer.text else "_" + tr(language, "answer.empty") + "_"
    state = tr(language, "answer.cut_off" if answer.cut else "answer.no_answer")
    error = answer.error
    what, todo = error.what.render(language), error.todo.render(language)
    return f"\n\n> **{state}** {answer.backend.describe(language)}: {what}. {todo}"


def welcome(local: Backend, cloud: Backend, chunks: int, files: int, language: Language) -> str:
    if local.available:
        local_line = tr(language, "welcome.local", backend=local.describe(language))
    else:
        local_line = tr(language, "welcome.local_unavailable", reason=say(local.reason, language))
    if cloud.available:
        cloud_line = tr(language, "welcome.cloud", backend=cloud.describe(language))
    else:
        cloud_line = tr(language, "welcome.cloud_unavailable", reason=say(cloud.reason, language))
    ready = tr(language, "welcome.ready", files=files, chunks=chunks)
    return f"{ready}\n\n{local_line}\n\n{cloud_line}\n\n{tr(language, 'welcome.choose')}"


def _cell(text: str) -> str:
    """Text that stays inside one Markdown table cell."""
    return " ".join(text.replace("|", "¦").split()) or "-"


def side_by_side(answers: list[Answer], language: Language) -> str:
    """Both answers to one question in two columns, headed by backend and model, their figures under each and
    the difference beneath: the comparison as it is read, after each answer streamed in its own message."""
    header = "| " + " | ".join(_cell(answer.backend.describe(language)) for answer in answers) + " |"
    rows = [
        header,
        "|" + " --- |" * len(answers),
        "| " + " | ".join(_cell(answer.text or str(answer.error or "")) for answer in answers) + " |",
        "| " + " | ".join(_cell(_figures(answer, language)) for answer in answers) + " |",
        "| " + " | ".join(_cell(egress_line(answer.egress, language)) for answer in answers) + " |",
    ]
    return f"**{tr(language, 'compare.side_title')}**\n\n" + "\n".join(rows) + _difference(answers, language)


def _figures(answer: Answer, language: Language) -> str:
    """The figures under an answer, without the backend the column is already headed with."""
    return metrics_line(answer, language).strip("_").split(" · ", 1)[-1]


SAME_MOMENT_S = 0.1
"""First tokens closer together than this came at the same moment, as a reader sees it."""


def _difference(answers: list[Answer], language: Language) -> str:
    """One line: how much sooner the first token came, how much faster tokens flowed, what it cost."""
    if len(answers) != 2 or any(answer.metrics is None for answer in answers):
        return ""
    (first, second), parts = answers, []
    a, b = first.metrics, second.metrics
    assert a is not None and b is not None
    if a.ttft_ms is not None and b.ttft_ms is not None:
        faster, slower = (first, second) if a.ttft_ms <= b.ttft_ms else (second, first)
        gap = abs(a.ttft_ms - b.ttft_ms) / 1000
        # the comparison is what the side-by-side is for: a tie is said too, not left out
        key, seconds = (
            ("compare.side_sooner", gap) if gap >= SAME_MOMENT_S else ("compare.side_same_moment", SAME_MOMENT_S)
        )
        parts.append(tr(language, key, backend=faster.backend.label, seconds=seconds, other=slower.backend.label))
    if a.tokens_per_s and b.tokens_per_s:
        ratio = max(a.tokens_per_s, b.tokens_per_s) / min(a.tokens_per_s, b.tokens_per_s)
        quicker = first if a.tokens_per_s >= b.tokens_per_s else second
        parts.append(tr(language, "compare.side_rate", backend=quicker.backend.label, ratio=ratio))
    costs = [f"${m.cost_usd:.5f}" if m.cost_usd is not None else tr(language, "compare.side_no_price") for m in (a, b)]
    parts.append(tr(language, "compare.side_cost", first=costs[0], second=costs[1]))
    return "\n\n_" + "; ".join(parts) + "._"
