"""Structure-aware chunking sized in the embedding model's own tokens.

Blocks are grouped by heading and page, packed paragraph by paragraph, split into sentences
when a paragraph is too long, and into token windows when a sentence is. Every chunk fits
the model's input together with its heading path, so the encoder never truncates silently,
and is bounded in characters too (see CHARS_PER_TOKEN).
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from itertools import groupby, pairwise
from typing import Protocol

from rag.ingest.loaders import Block

_SENTENCE_END = re.compile(r"(?<![.!?…])[.!?…]++[\"'»”)\]]*+\s+|\n\s*")
"""A run of end marks is tried once, from its first mark, and never given back: tried from every mark
of a run (40 KB of dots), the pattern took quadratic time."""
HEADING_SEPARATOR = " > "
CHUNKER_VERSION = 2
"""Bump when chunk boundaries change, so ingestion re-chunks every file."""
CHARS_PER_TOKEN = 6
"""A chunk has at most this many characters per token of its size. The tokenizer reads a run
without spaces (a line of base64, a megabyte of one letter) as one unknown word of one token,
so a bound in tokens alone would let such a run become a single chunk of any length."""
TOKENIZE_CHARS = 16_384
"""Longest text given to the tokenizer in one call when cutting a sentence into windows."""


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


def _char_spans(text: str, start: int, end: int, limit: int) -> Iterator[tuple[int, int]]:
    """Cut text[start:end] into pieces of at most `limit` characters, at a space where there is one."""
    while end - start > limit:
        lowest, highest = start + limit // 2, start + limit
        cut = max(text.rfind(" ", lowest, highest), text.rfind("\t", lowest, highest))
        cut = cut if cut > start else start + limit
        yield start, cut
        start = cut
    yield start, end


def _join(units: list[_Unit]) -> str:
    """The text of a chunk made of `units`: blank lines between paragraphs, spaces within one."""
    parts = [units[0].text]
    for before, unit in pairwise(units):
        parts.append(("\n\n" if unit.block != before.block else " ") + unit.text)
    return "".join(parts)


class Chunker:
    """Packs blocks into chunks of at most `max_tokens` tokens (heading path included), with overlap."""

    def __init__(self, counter: TokenCounter, max_tokens: int, overlap_tokens: int) -> None:
        if max_tokens < 32:
            raise ValueError("chunk size must be at least 32 tokens")
        self.counter = counter
        self.max_tokens = max_tokens
        self.overlap_tokens = max(0, min(overlap_tokens, max_tokens // 2))
        self.max_chars = CHARS_PER_TOKEN * max_tokens

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
        for index, (block, tokens) in enumerate(zip(blocks, self._tokens([b.text for b in blocks]), strict=True)):
            if tokens is not None and tokens <= budget:
                units.append(_Unit(block.text, block.start, block.end, tokens, index))
                continue
            sentences = _sentences(block)
            for (text, start, end), count in zip(sentences, self._tokens([s[0] for s in sentences]), strict=True):
                if count is not None and count <= budget:
                    units.append(_Unit(text, start, end, count, index))
                    continue
                for span_start, span_end in self._windows(text, budget):
                    piece = text[span_start:span_end]
                    units.append(_Unit(piece, start + span_start, start + span_end, budget, index))
        return units

    def _tokens(self, texts: list[str]) -> list[int | None]:
        """Token counts, or None for a text over `max_chars`: it is split anyway, so it is not tokenized twice."""
        counts = iter(self.counter.count_many([t for t in texts if len(t) <= self.max_chars]))
        return [next(counts) if len(t) <= self.max_chars else None for t in texts]

    def _windows(self, text: str, budget: int) -> list[tuple[int, int]]:
        """Spans of at most `budget` tokens and `max_chars` characters.

        The text is tokenized in parts of at most TOKENIZE_CHARS characters (the tokenizer slows down
        more than linearly on one huge word), and a token window too long in characters (a run
        without spaces is one token) is windowed again piece by piece.
        """
        spans = []
        for part in _char_spans(text, 0, len(text), TOKENIZE_CHARS):
            for window in self._token_windows(text, *part, budget):
                if window[1] - window[0] <= self.max_chars:
                    spans.append(window)
                    continue
                for piece in _char_spans(text, *window, self.max_chars):
                    spans.extend(self._token_windows(text, *piece, budget))
        return spans

    def _token_windows(self, text: str, start: int, end: int, budget: int) -> list[tuple[int, int]]:
        """Token windows of text[start:end], as spans of `text`."""
        return [(start + first, start + last) for first, last in self.counter.token_spans(text[start:end], budget)]

    def _pack(self, units: list[_Unit], budget: int, heading_path: tuple[str, ...], page: int | None) -> list[Chunk]:
        chunks: list[Chunk] = []
        current: list[_Unit] = []
        for unit in units:
            if current and not self._fits([*current, unit], budget):
                chunks.append(self._make(current, heading_path, page))
                current = self._overlap(current, unit, budget)
            current.append(unit)
        if current:
            chunks.append(self._make(current, heading_path, page))
        return chunks

    def _fits(self, units: list[_Unit], budget: int) -> bool:
        return sum(u.tokens for u in units) <= budget and len(_join(units)) <= self.max_chars

    def _overlap(self, previous: list[_Unit], following: _Unit, budget: int) -> list[_Unit]:
        """Trailing units of the previous chunk, up to the overlap size and the room `following` leaves."""
        carried: list[_Unit] = []
        for unit in reversed(previous[1:]):
            trial = [unit, *carried]
            if sum(u.tokens for u in trial) > self.overlap_tokens or not self._fits([*trial, following], budget):
                break
            carried = trial
        return carried

    @staticmethod
    def _make(units: list[_Unit], heading_path: tuple[str, ...], page: int | None) -> Chunk:
        return Chunk(_join(units), heading_path, page, units[0].start, units[-1].end)
