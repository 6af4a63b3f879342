"""Comparing backends over many answers: percentiles per backend, a table, and charts."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from rag.i18n import DEFAULT, Language, tr
from rag.measure.metrics import AnswerMetrics


@dataclass(frozen=True)
class Column:
    """One figure of the comparison: a statistic of one `AnswerMetrics` field over a backend's good answers.

    The table, the chat's chart, the PNG chart and the terminal all read this one list, so a new metric
    is a field on `AnswerMetrics` (with a default, so stored chats without it still load), the line that
    measures it, and a line here.
    """

    key: str  # names it in the message catalog: "compare.<key>", and "compare.chart_<key>" for its chart
    field: str
    statistic: str  # "p50", "p95", "mean" or "total" (None when any answer has no value, e.g. an unpriced model)
    pattern: str
    chart: bool = False  # a figure worth a chart
    estimated: bool = False  # token counts: marked "≈" when a tokenizer counted them


COLUMNS = (
    Column("ttft_p50", "ttft_ms", "p50", "{:.0f} ms", chart=True),
    Column("ttft_p95", "ttft_ms", "p95", "{:.0f} ms"),
    Column("total_p50", "total_ms", "p50", "{:.0f} ms"),
    Column("total_p95", "total_ms", "p95", "{:.0f} ms"),
    Column("tokens_per_s_p50", "tokens_per_s", "p50", "{:.1f}", chart=True),
    Column("tokens_in", "prompt_tokens", "mean", "{:.0f}", estimated=True),
    Column("tokens_out", "completion_tokens", "mean", "{:.0f}", estimated=True),
    Column("cost", "cost_usd", "total", "${:.5f}", chart=True),
)
CHARTS = [column for column in COLUMNS if column.chart]


def _statistic(values: list[float | None], statistic: str) -> float | None:
    if statistic == "total":
        return None if not values or any(v is None for v in values) else float(sum(v for v in values if v is not None))
    present = [v for v in values if v is not None]
    if not present:
        return None
    if statistic == "mean":
        return float(np.mean(present))
    return float(np.percentile(present, float(statistic.removeprefix("p"))))


@dataclass(frozen=True)
class BackendSummary:
    """Per-backend figures over a set of answers (errors counted, not averaged in)."""

    label: str
    answers: int
    errors: int
    tokens_estimated: bool
    values: dict[str, float | None]  # by column key

    def value(self, key: str) -> float | None:
        return self.values[key]


def backend_name(row: AnswerMetrics) -> str:
    return f"{row.label} ({row.model})"


def summarize(rows: list[AnswerMetrics]) -> list[BackendSummary]:
    summaries = []
    for name in dict.fromkeys(backend_name(r) for r in rows):
        mine = [r for r in rows if backend_name(r) == name]
        ok = [r for r in mine if r.error is None]
        values = {c.key: _statistic([getattr(r, c.field) for r in ok], c.statistic) for c in COLUMNS}
        estimated = any(r.tokens_estimated for r in ok)
        summaries.append(BackendSummary(name, len(mine), len(mine) - len(ok), estimated, values))
    return summaries


def _cell(summary: BackendSummary, column: Column) -> str:
    value = summary.value(column.key)
    if value is None:
        return "-"
    return ("≈" if column.estimated and summary.tokens_estimated else "") + column.pattern.format(value)


def headers(language: Language) -> list[str]:
    keys = ["backend", "answers", "errors", *(c.key for c in COLUMNS)]
    return [tr(language, f"compare.{key}") for key in keys]


def table_rows(summaries: list[BackendSummary]) -> list[list[str]]:
    return [[s.label, str(s.answers), str(s.errors), *(_cell(s, c) for c in COLUMNS)] for s in summaries]


def markdown_table(summaries: list[BackendSummary], language: Language = DEFAULT) -> str:
    titles = headers(language)
    lines = ["| " + " | ".join(titles) + " |", "|" + " --- |" * len(titles)]
    lines += ["| " + " | ".join(row) + " |" for row in table_rows(summaries)]
    note = "\n\n" + tr(language, "compare.estimated_note") if any(s.tokens_estimated for s in summaries) else ""
    return "\n".join(lines) + note


def text_table(summaries: list[BackendSummary]) -> str:
    rows = [headers(DEFAULT), *table_rows(summaries)]
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    return "\n".join("  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True)) for row in rows)


def chart_title(column: Column, language: Language) -> str:
    return tr(language, f"compare.chart_{column.key}")


def plotly_figure(summaries: list[BackendSummary], language: Language = DEFAULT):
    """Three bar charts side by side: TTFT, decode speed and cost per backend."""
    from plotly.subplots import make_subplots

    titles = [chart_title(c, language) for c in CHARTS]
    figure = make_subplots(rows=1, cols=len(CHARTS), subplot_titles=titles)
    for number, column in enumerate(CHARTS, start=1):
        figure.add_bar(
            x=[s.label for s in summaries],
            y=[s.value(column.key) or 0 for s in summaries],
            row=1,
            col=number,
            showlegend=False,
        )
    figure.update_layout(height=380, margin={"t": 40, "b": 10, "l": 10, "r": 10})
    return figure


def save_chart(summaries: list[BackendSummary], path: Path) -> None:
    """The same three charts as a PNG, for reports (matplotlib, no browser needed)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    figure, axes = plt.subplots(1, len(CHARTS), figsize=(13, 4))
    for axis, column in zip(axes, CHARTS, strict=True):
        axis.bar(
            [s.label for s in summaries],
            [s.value(column.key) or 0 for s in summaries],
            color=["#2a9d8f", "#e76f51", "#457b9d"][: len(summaries)],
        )
        axis.set_title(chart_title(column, DEFAULT))
        axis.tick_params(axis="x", labelrotation=15, labelsize=8)
    figure.tight_layout()
    figure.savefig(path, dpi=110)
    plt.close(figure)
