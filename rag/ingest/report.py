"""The human-readable summary printed after every ingestion run."""

from __future__ import annotations

import unicodedata

from rag.ingest.pipeline import IngestReport

_UNPRINTABLE = {"Cc", "Cf", "Cs", "Zl", "Zp"}
"""Control, format (bidi overrides), surrogate and line/paragraph separator characters."""


def printable(text: str) -> str:
    """`text` on one line as written, except control characters escaped as in repr (\\n, \\x1b, \\u202e).

    File names and reasons are shown to people: a name with a newline or an ANSI escape must not
    forge or hide lines of the summary, while Cyrillic or accented names stay readable.
    """
    return "".join(repr(char)[1:-1] if unicodedata.category(char) in _UNPRINTABLE else char for char in text)


def format_report(report: IngestReport) -> str:
    lines = []
    if report.rebuild_reason:
        lines.append(f"Full rebuild: {printable(report.rebuild_reason)}.")
    lines.append(
        f"added {len(report.added)}, updated {len(report.updated)}, removed {len(report.removed)}, "
        f"unchanged {len(report.unchanged)}, skipped {len(report.skipped)}; "
        f"{report.chunks} chunks ({report.embedded} embedded now) in {report.seconds:.1f} s"
    )
    for label, paths in (("added", report.added), ("updated", report.updated), ("removed", report.removed)):
        lines.extend(f"  {label}: {printable(path)}" for path in paths)
    lines.extend(f"  skipped: {printable(path)}: {printable(reason)}" for path, reason in report.skipped)
    lines.extend(f"  note: {printable(path)}: {printable(note)}" for path, note in report.notes)
    lines.extend(f"warning: {printable(warning)}" for warning in report.warnings)
    if report.written:
        lines.append(f"Index written: {report.generation}.")
    elif report.generation:
        lines.append(f"Nothing changed; index {report.generation} kept as it is.")
    else:
        lines.append("No documents to index yet.")
    return "\n".join(lines)
