"""Token counts and offsets from a transformers tokenizer: what the torch and ONNX encoders tell the chunker."""

from __future__ import annotations

from typing import Any


class HuggingFaceTokens:
    """Token counts and offsets from a transformers tokenizer (the torch and ONNX encoders')."""

    tokenizer: Any

    def count_many(self, texts: list[str]) -> list[int]:
        encoded = self.tokenizer(texts, add_special_tokens=False, truncation=False)["input_ids"]
        return [len(ids) for ids in encoded]

    def offsets(self, text: str) -> list[tuple[int, int]]:
        found = self.tokenizer(text, add_special_tokens=False, return_offsets_mapping=True, truncation=False)
        return [tuple(pair) for pair in found["offset_mapping"]]
