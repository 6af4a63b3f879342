"""The human-readable summary printed after every ingestion run."""

from __future__ import annotations

from ingest.pipeline import IngestReport


def format_report(report: IngestReport) -> str:
    lines = []
    if report.rebuild_reason:
        lines.append(f"Full rebuild: {report.rebuild_reason}.")
    lines.append(
        f"added {len(report.added)}, updated {len(report.updated)}, removed {len(report.removed)}, "
        f"unchanged {len(report.unchanged)}, skipped {len(report.skipped)}; "
        f"{report.chunks} chunks ({report.embedded} embedded now) in {report.seconds:.1f} s"
    )
    for label, paths in (("added", report.added), ("updated", report.updated), ("removed", report.removed)):
        lines.extend(f"  {label}: {path}" for path in paths)
    lines.extend(f"  skipped: {path}: {reason}" for path, reason in report.skipped)
    lines.extend(f"  note: {path}: {note}" for path, note in report.notes)
    if report.written:
        lines.append(f"Index written: {report.generation}.")
    elif report.generation:
        lines.append(f"Nothing changed; index {report.generation} kept as it is.")
    else:
        lines.append("No documents to index yet.")
    return "\n".join(lines)
