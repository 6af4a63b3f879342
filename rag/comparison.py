"""Comparing backends over many answers: percentiles per backend, a table, and charts."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from rag.metrics import AnswerMetrics


@dataclass(frozen=True)
class BackendSummary:
    """Per-backend figures over a set of answers (errors counted, not averaged in)."""

    label: str
    answers: int
    errors: int
    ttft_p50_ms: float | None
    ttft_p95_ms: float | None
    total_p50_ms: float | None
    total_p95_ms: float | None
    tokens_per_s_p50: float | None
    prompt_tokens_mean: float | None
    completion_tokens_mean: float | None
    tokens_estimated: bool
    cost_total_usd: float | None


def _pct(values: list[float], q: float) -> float | None:
    return float(np.percentile(values, q)) if values else None


def backend_name(row: AnswerMetrics) -> str:
    return f"{row.label} ({row.model})"


def summarize(rows: list[AnswerMetrics]) -> list[BackendSummary]:
    names = list(dict.fromkeys(backend_name(r) for r in rows))
    summaries = []
    for name in names:
        mine = [r for r in rows if backend_name(r) == name]
        ok = [r for r in mine if r.error is None]
        ttft = [r.ttft_ms for r in ok if r.ttft_ms is not None]
        rates = [r.tokens_per_s for r in ok if r.tokens_per_s is not None]
        costs = [r.cost_usd for r in ok]
        summaries.append(
            BackendSummary(
                label=name,
                answers=len(mine),
                errors=len(mine) - len(ok),
                ttft_p50_ms=_pct(ttft, 50),
                ttft_p95_ms=_pct(ttft, 95),
                total_p50_ms=_pct([r.total_ms for r in ok], 50),
                total_p95_ms=_pct([r.total_ms for r in ok], 95),
                tokens_per_s_p50=_pct(rates, 50),
                prompt_tokens_mean=float(np.mean([r.prompt_tokens for r in ok])) if ok else None,
                completion_tokens_mean=float(np.mean([r.completion_tokens for r in ok])) if ok else None,
                tokens_estimated=any(r.tokens_estimated for r in ok),
                cost_total_usd=None if any(c is None for c in costs) else float(sum(c for c in costs if c is not None)),
            )
        )
    return summaries


def _fmt(value: float | None, pattern: str) -> str:
    return "-" if value is None else pattern.format(value)


COLUMNS = (
    "backend",
    "answers",
    "errors",
    "TTFT p50",
    "TTFT p95",
    "end-to-end p50",
    "end-to-end p95",
    "tokens/s p50",
    "tokens in/out",
    "cost",
)


def table_rows(summaries: list[BackendSummary]) -> list[list[str]]:
    rows = []
    for s in summaries:
        approx = "≈" if s.tokens_estimated else ""
        tokens = f"{approx}{_fmt(s.prompt_tokens_mean, '{:.0f}')} / {approx}{_fmt(s.completion_tokens_mean, '{:.0f}')}"
        rows.append(
            [
                s.label,
                str(s.answers),
                str(s.errors),
                _fmt(s.ttft_p50_ms, "{:.0f} ms"),
                _fmt(s.ttft_p95_ms, "{:.0f} ms"),
                _fmt(s.total_p50_ms, "{:.0f} ms"),
                _fmt(s.total_p95_ms, "{:.0f} ms"),
                _fmt(s.tokens_per_s_p50, "{:.1f}"),
                tokens,
                _fmt(s.cost_total_usd, "${:.5f}"),
            ]
        )
    return rows


def markdown_table(summaries: list[BackendSummary]) -> str:
    lines = ["| " + " | ".join(COLUMNS) + " |", "|" + " --- |" * len(COLUMNS)]
    lines += ["| " + " | ".join(row) + " |" for row in table_rows(summaries)]
    note = (
        "\n\n≈: counted with a tokenizer because the server reported no usage."
        if any(s.tokens_estimated for s in summaries)
        else ""
    )
    return "\n".join(lines) + note


def text_table(summaries: list[BackendSummary]) -> str:
    rows = [list(COLUMNS), *table_rows(summaries)]
    widths = [max(len(row[i]) for row in rows) for i in range(len(COLUMNS))]
    return "\n".join("  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True)) for row in rows)


CHARTS = (
    ("ttft_p50_ms", "Time to first token, p50 (ms)"),
    ("tokens_per_s_p50", "Output tokens/s, p50"),
    ("cost_total_usd", "Cost (USD)"),
)


def plotly_figure(summaries: list[BackendSummary]):
    """Three bar charts side by side: TTFT, decode speed and cost per backend."""
    from plotly.subplots import make_subplots

    figure = make_subplots(rows=1, cols=3, subplot_titles=[title for _, title in CHARTS])
    for column, (field, _) in enumerate(CHARTS, start=1):
        figure.add_bar(
            x=[s.label for s in summaries],
            y=[getattr(s, field) or 0 for s in summaries],
            row=1,
            col=column,
            showlegend=False,
        )
    figure.update_layout(height=380, margin={"t": 40, "b": 10, "l": 10, "r": 10})
    return figure


def save_chart(summaries: list[BackendSummary], path: Path) -> None:
    """The same three charts as a PNG, for reports (matplotlib, no browser needed)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    figure, axes = plt.subplots(1, 3, figsize=(13, 4))
    for axis, (field, title) in zip(axes, CHARTS, strict=True):
        axis.bar(
            [s.label for s in summaries],
            [getattr(s, field) or 0 for s in summaries],
            color=["#2a9d8f", "#e76f51", "#457b9d"][: len(summaries)],
        )
        axis.set_title(title)
        axis.tick_params(axis="x", labelrotation=15, labelsize=8)
    figure.tight_layout()
    figure.savefig(path, dpi=110)
    plt.close(figure)
