"""The sentence encoder run by ONNX Runtime, optionally with int8 weights: faster on a CPU, no torch at query time.

sentence-transformers has an ONNX backend, but it needs `optimum`, whose only release for ONNX
(`optimum-onnx` 0.1) requires transformers below 4.58 while sentence-transformers 6 requires 5.x. So
the model on disk is exported here once with `torch.onnx`, its weights quantized per channel by
ONNX Runtime's dynamic quantizer, and the result cached under a name made from the weights' hash;
nothing is downloaded. Only models made of a Transformer, mean or CLS pooling and (optionally)
normalization are supported, which covers the MiniLM/MPNet/E5/BGE families.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import tempfile
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from rag.index.hf_tokens import HuggingFaceTokens

if TYPE_CHECKING:
    from onnxruntime import InferenceSession

INPUTS = ("input_ids", "attention_mask", "token_type_ids")
WEIGHT_FILES = ("config.json", "model.safetensors", "pytorch_model.bin")


class UnsupportedEncoder(ValueError):
    """The model's sentence-transformers pipeline has a step the ONNX runner does not reproduce."""


@dataclass(frozen=True)
class Pipeline:
    """What sentence-transformers does after the transformer: how tokens become one vector."""

    pooling: str  # "mean" or "cls"
    normalize: bool
    max_seq_length: int

    @classmethod
    def read(cls, model_dir: Path) -> Pipeline:
        modules = json.loads((model_dir / "modules.json").read_text(encoding="utf-8"))
        kinds = [str(module["type"]).rsplit(".", 1)[-1] for module in modules]
        extra = [kind for kind in kinds if kind not in ("Transformer", "Pooling", "Normalize")]
        if extra or kinds[:2] != ["Transformer", "Pooling"]:
            raise UnsupportedEncoder(f"the ONNX backend supports Transformer + Pooling (+ Normalize), not {kinds}")
        pooling_dir = model_dir / modules[1]["path"]
        pooling = json.loads((pooling_dir / "config.json").read_text(encoding="utf-8"))
        modes = [name for name in ("mean_tokens", "cls_token") if pooling.get(f"pooling_mode_{name}")]
        others = [k for k, v in pooling.items() if k.startswith("pooling_mode_") and v and k[13:] not in modes]
        if len(modes) != 1 or others:
            raise UnsupportedEncoder(f"the ONNX backend supports mean or CLS pooling, not {pooling}")
        config_file = model_dir / "sentence_bert_config.json"
        config = json.loads(config_file.read_text(encoding="utf-8")) if config_file.is_file() else {}
        return cls(
            pooling="mean" if modes == ["mean_tokens"] else "cls",
            normalize="Normalize" in kinds,
            max_seq_length=int(config.get("max_seq_length") or 512),
        )

    def pool(self, hidden: np.ndarray, mask: np.ndarray) -> np.ndarray:
        if self.pooling == "cls":
            vectors = hidden[:, 0]
        else:
            weights = mask[..., None].astype(np.float32)
            vectors = (hidden * weights).sum(axis=1) / np.clip(weights.sum(axis=1), 1e-9, None)
        if self.normalize:
            vectors = vectors / np.clip(np.linalg.norm(vectors, axis=1, keepdims=True), 1e-12, None)
        return vectors.astype(np.float32)


def weights_digest(model_dir: Path) -> str:
    """A short hash of the model's configuration and weights: the cache name of its export."""
    digest = hashlib.sha256()
    for name in WEIGHT_FILES:
        path = model_dir / name
        if path.is_file():
            with path.open("rb") as handle:
                for block in iter(lambda: handle.read(1 << 20), b""):
                    digest.update(block)
    return digest.hexdigest()[:16]


def exported_model(model_dir: Path, cache_dir: Path, quantized: bool) -> Path:
    """The ONNX file for this model, exported (and quantized) on first use, then reused."""
    name = f"{weights_digest(model_dir)}{'-int8' if quantized else ''}.onnx"
    target = cache_dir / name
    if target.is_file():
        return target
    cache_dir.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=cache_dir) as work:
        plain = Path(work) / "model.onnx"
        _export(model_dir, plain)
        if quantized:
            from onnxruntime.quantization import QuantType, quantize_dynamic

            final = Path(work) / "model-int8.onnx"
            logging.disable(logging.WARNING)  # the quantizer advises on image models through the root logger
            try:
                quantize_dynamic(plain, final, weight_type=QuantType.QInt8, per_channel=True)
            finally:
                logging.disable(logging.NOTSET)
        else:
            final = plain
        os.replace(final, target)
    return target


def _export(model_dir: Path, target: Path) -> None:
    """Trace the transformer (token embeddings out) with torch; pooling stays in numpy."""
    import torch
    from transformers import AutoModel, AutoTokenizer

    model = AutoModel.from_pretrained(model_dir).eval()
    tokenizer = AutoTokenizer.from_pretrained(model_dir)
    sample = tokenizer(["an example", "a slightly longer example sentence"], padding=True, return_tensors="pt")
    names = [name for name in INPUTS if name in sample]

    class TokenEmbeddings(torch.nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.model = model

        def forward(self, *inputs: torch.Tensor) -> torch.Tensor:
            return self.model(**dict(zip(names, inputs, strict=True))).last_hidden_state

    axes = {name: {0: "batch", 1: "tokens"} for name in [*names, "token_embeddings"]}
    # The tracer warns about branches on shapes (causal masks, padding) that an encoder never takes.
    with torch.no_grad(), warnings.catch_warnings():
        warnings.simplefilter("ignore")
        torch.onnx.export(
            TokenEmbeddings(),
            tuple(sample[name] for name in names),
            str(target),
            input_names=names,
            output_names=["token_embeddings"],
            dynamic_axes=axes,
            opset_version=17,
            dynamo=False,
        )


class OnnxEncoder(HuggingFaceTokens):
    """Encodes like the model's sentence-transformers pipeline, with ONNX Runtime doing the transformer."""

    def __init__(self, model_dir: Path, cache_dir: Path, quantized: bool) -> None:
        from onnxruntime import InferenceSession, SessionOptions
        from transformers import AutoTokenizer

        self.pipeline = Pipeline.read(model_dir)
        self.tokenizer: Any = AutoTokenizer.from_pretrained(model_dir)
        options = SessionOptions()
        options.log_severity_level = 3
        path = exported_model(model_dir, cache_dir, quantized)
        self.session: InferenceSession = InferenceSession(str(path), options, providers=["CPUExecutionProvider"])
        self.input_names = [node.name for node in self.session.get_inputs()]
        self.max_seq_length = self.pipeline.max_seq_length
        self.dimension = int(self.encode(["dimension"], 1).shape[1])

    def encode(self, texts: list[str], batch_size: int, query: bool = False) -> np.ndarray:
        """Batches of similar lengths (as sentence-transformers does), so little time goes into padding."""
        order = sorted(range(len(texts)), key=lambda i: -len(texts[i]))
        vectors: list[np.ndarray] = []
        for start in range(0, len(order), batch_size):
            batch = [texts[i] for i in order[start : start + batch_size]]
            encoded = self.tokenizer(
                batch, padding=True, truncation=True, max_length=self.max_seq_length, return_tensors="np"
            )
            feed = {name: np.asarray(encoded[name], dtype=np.int64) for name in self.input_names}
            hidden = self.session.run(None, feed)[0]
            vectors.append(self.pipeline.pool(hidden, encoded["attention_mask"]))
        stacked = np.vstack(vectors)
        result = np.empty_like(stacked)
        result[order] = stacked
        return result
