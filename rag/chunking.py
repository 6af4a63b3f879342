"""Structure-aware chunking sized in the embedding model's own tokens.

Blocks are grouped by heading and page, packed paragraph by paragraph, split into sentences
when a paragraph is too long, and into token windows when a sentence is. Every chunk fits
the model's input together with its heading path, so the encoder never truncates silently.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from itertools import groupby, pairwise
from typing import Protocol

from rag.loaders import Block

_SENTENCE_END = re.compile(r"[.!?…]+[\"'»”)\]]*\s+|\n\s*")
HEADING_SEPARATOR = " > "
CHUNKER_VERSION = 1
"""Bump when chunk boundaries change, so ingestion re-chunks every file."""


def searchable_text(heading_path: tuple[str, ...], text: str) -> str:
    """What is embedded and keyword-indexed: the heading path first, so a passage is found by its section."""
    return f"{HEADING_SEPARATOR.join(heading_path)}\n{text}" if heading_path else text


class TokenCounter(Protocol):
    """The tokenizer questions the chunker asks; an embedder answers them with its own tokenizer."""

    def count_many(self, texts: list[str]) -> list[int]: ...

    def token_spans(self, text: str, max_tokens: int) -> list[tuple[int, int]]: ...


@dataclass(frozen=True)
class Chunk:
    """A retrievable passage: its text, where it came from, and what gets embedded."""

    text: str
    heading_path: tuple[str, ...]
    page: int | None
    start: int
    end: int

    @property
    def heading(self) -> str:
        return HEADING_SEPARATOR.join(self.heading_path)

    @property
    def embed_text(self) -> str:
        return searchable_text(self.heading_path, self.text)


@dataclass(frozen=True)
class _Unit:
    text: str
    start: int
    end: int
    tokens: int
    block: int


def _sentences(block: Block) -> list[tuple[str, int, int]]:
    """Sentence spans of a block with offsets in the source."""
    pieces, cursor = [], 0
    for match in _SENTENCE_END.finditer(block.text):
        pieces.append((cursor, match.end()))
        cursor = match.end()
    if cursor < len(block.text):
        pieces.append((cursor, len(block.text)))
    spans = []
    for start, end in pieces:
        text = block.text[start:end].strip()
        if text:
            lead = len(block.text[start:end]) - len(block.text[start:end].lstrip())
            spans.append((text, block.start + start + lead, block.start + start + lead + len(text)))
    return spans


class Chunker:
    """Packs blocks into chunks of at most `max_tokens` tokens (heading path included), with overlap."""

    def __init__(self, counter: TokenCounter, max_tokens: int, overlap_tokens: int) -> None:
        if max_tokens < 32:
            raise ValueError("chunk size must be at least 32 tokens")
        self.counter = counter
        self.max_tokens = max_tokens
        self.overlap_tokens = max(0, min(overlap_tokens, max_tokens // 2))

    def chunk(self, blocks: list[Block]) -> list[Chunk]:
        chunks: list[Chunk] = []
        for (heading_path, page), group in groupby(blocks, key=lambda b: (b.heading_path, b.page)):
            heading_path = self._fit_heading(heading_path)
            prefix = HEADING_SEPARATOR.join(heading_path)
            budget = self.max_tokens - (self.counter.count_many([prefix])[0] + 1 if prefix else 0)
            units = self._units(list(group), budget)
            chunks.extend(self._pack(units, budget, heading_path, page))
        return chunks

    def _fit_heading(self, heading_path: tuple[str, ...]) -> tuple[str, ...]:
        """Keep the heading path to a quarter of the budget, dropping outer levels first."""
        limit = self.max_tokens // 4
        path = heading_path
        while path and self.counter.count_many([HEADING_SEPARATOR.join(path)])[0] > limit:
            if len(path) > 1:
                path = path[1:]
            else:
                start, end = self.counter.token_spans(path[0], limit)[0]
                path = (path[0][start:end],)
                break
        return path

    def _units(self, blocks: list[Block], budget: int) -> list[_Unit]:
        """Whole paragraphs where they fit, else sentences, else token windows."""
        units: list[_Unit] = []
        block_tokens = self.counter.count_many([b.text for b in blocks])
        for index, (block, tokens) in enumerate(zip(blocks, block_tokens, strict=True)):
            if tokens <= budget:
                units.append(_Unit(block.text, block.start, block.end, tokens, index))
                continue
            sentences = _sentences(block)
            for (text, start, end), count in zip(
                sentences, self.counter.count_many([s[0] for s in sentences]), strict=True
            ):
                if count <= budget:
                    units.append(_Unit(text, start, end, count, index))
                    continue
                for span_start, span_end in self.counter.token_spans(text, budget):
                    piece = text[span_start:span_end]
                    units.append(_Unit(piece, start + span_start, start + span_end, budget, index))
        return units

    def _pack(self, units: list[_Unit], budget: int, heading_path: tuple[str, ...], page: int | None) -> list[Chunk]:
        chunks: list[Chunk] = []
        current: list[_Unit] = []
        used = 0
        for unit in units:
            if current and used + unit.tokens > budget:
                chunks.append(self._make(current, heading_path, page))
                current = self._overlap(current, budget - unit.tokens)
                used = sum(u.tokens for u in current)
            current.append(unit)
            used += unit.tokens
        if current:
            chunks.append(self._make(current, heading_path, page))
        return chunks

    def _overlap(self, previous: list[_Unit], room: int) -> list[_Unit]:
        """Trailing units of the previous chunk, up to the overlap size and the room left."""
        carried: list[_Unit] = []
        total = 0
        limit = min(self.overlap_tokens, room)
        for unit in reversed(previous[1:]):
            if total + unit.tokens > limit:
                break
            carried.insert(0, unit)
            total += unit.tokens
        return carried

    @staticmethod
    def _make(units: list[_Unit], heading_path: tuple[str, ...], page: int | None) -> Chunk:
        parts = [units[0].text]
        for before, unit in pairwise(units):
            parts.append(("\n\n" if unit.block != before.block else " ") + unit.text)
        return Chunk("".join(parts), heading_path, page, units[0].start, units[-1].end)
