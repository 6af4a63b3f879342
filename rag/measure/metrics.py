"""Measurements of one answer on one backend: latency, throughput, tokens and cost.

Every backend is measured the same way. Token counts come from the server's `usage` when it sends
one (asked for with `stream_options.include_usage`); llama.cpp's server does not, so they are then
counted with the model's own tokenizer through its `/extras/tokenize` endpoint when available, else
with the embedding model's tokenizer, and marked as estimates either way.
"""

from __future__ import annotations

import csv
import io
import tomllib
from collections.abc import Mapping
from dataclasses import asdict, dataclass, fields
from functools import lru_cache
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import requests

from rag.config import CostSettings

DEFAULT_PRICES = Path(__file__).resolve().parents[2] / "prices.toml"


@dataclass(frozen=True)
class Price:
    """US dollars per million tokens."""

    input: float
    output: float


@dataclass
class AnswerMetrics:
    """One row of the comparison: what a backend did with one question."""

    question: str
    backend: str
    label: str
    model: str
    retrieval_ms: float = 0.0
    ttft_ms: float | None = None
    total_ms: float = 0.0
    prompt_tokens: int = 0
    completion_tokens: int = 0
    tokens_estimated: bool = False
    tokens_per_s: float | None = None
    cost_usd: float | None = None
    error: str | None = None

    def as_row(self) -> dict[str, object]:
        return asdict(self)

    @classmethod
    def from_row(cls, row: Mapping[str, Any]) -> AnswerMetrics | None:
        """A stored row back; rows written before a metric existed still load (it takes its default),
        and fields this version does not know are ignored. None when it does not say what was measured."""
        known = {f.name: row[f.name] for f in fields(cls) if f.name in row}
        if not {"question", "backend", "label", "model"} <= known.keys():
            return None
        return cls(**known)


@dataclass(frozen=True)
class PriceTable:
    """Prices per model from a TOML file, plus the hourly cost of running local hardware."""

    models: dict[str, Price]
    local_hourly_usd: float

    @classmethod
    def load(cls, costs: CostSettings | None = None) -> PriceTable:
        costs = costs or CostSettings()
        path = costs.prices_file or DEFAULT_PRICES
        raw = tomllib.loads(path.read_text(encoding="utf-8")) if path.exists() else {}
        models = {name: Price(float(p["input"]), float(p["output"])) for name, p in raw.get("models", {}).items()}
        hourly = costs.local_hourly_usd
        return cls(models, hourly if hourly is not None else float(raw.get("local", {}).get("hourly_cost_usd", 0.0)))

    def cost(
        self, is_local: bool, model: str, prompt_tokens: int, completion_tokens: int, seconds: float
    ) -> float | None:
        """Local: the hardware's hourly cost for the seconds used (0 unless set). Cloud: tokens x price, None if unpriced."""
        if is_local:
            return self.local_hourly_usd * seconds / 3600
        price = self.models.get(model)
        if price is None:
            return None
        return prompt_tokens * price.input / 1e6 + completion_tokens * price.output / 1e6


def nearest_rank(ordered: list[float], share: float) -> float:
    """The value at `share` (0.95: p95) of an ascending, non-empty list, by nearest rank: one that was measured."""
    return ordered[min(len(ordered) - 1, round(share * (len(ordered) - 1)))]


def decode_rate(completion_tokens: int, ttft_ms: float | None, total_ms: float) -> float | None:
    """Tokens per second after the first token: the decoding speed, without the prompt's processing time."""
    if ttft_ms is None or completion_tokens < 2 or total_ms <= ttft_ms:
        return None
    return (completion_tokens - 1) / ((total_ms - ttft_ms) / 1000)


@lru_cache(maxsize=32)
def _llama_tokenize_url(base_url: str) -> str | None:
    parts = urlsplit(base_url)
    url = f"{parts.scheme}://{parts.netloc}/extras/tokenize"
    try:
        ok = requests.post(url, json={"input": "probe"}, timeout=2).status_code == 200
    except requests.RequestException:
        ok = False
    return url if ok else None


def count_with_server(base_url: str, text: str) -> int | None:
    """Exact token count from a llama-cpp-python server's own tokenizer, or None where it has none."""
    url = _llama_tokenize_url(base_url)
    if url is None or not text:
        return 0 if url and not text else None
    try:
        response = requests.post(url, json={"input": text}, timeout=10)
        response.raise_for_status()
        return len(response.json()["tokens"])
    except (requests.RequestException, KeyError, ValueError):
        return None


def to_csv(rows: list[AnswerMetrics]) -> str:
    out = io.StringIO()
    if rows:
        writer = csv.DictWriter(out, fieldnames=list(rows[0].as_row()))
        writer.writeheader()
        writer.writerows(r.as_row() for r in rows)
    return out.getvalue()
