"""The shape every loader returns: text blocks that remember where they came from."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field

MAX_HEADING_CHARS = 200
"""Longest heading kept in a block's heading path; a longer one is cut and ends in "…". The path rides
along with every chunk of its section (shown, embedded, keyword-indexed), and the chunker bounds it in
tokens only, where a 2 MB heading without spaces counts as one."""


class SkipFile(Exception):
    """A file that cannot be indexed; the message is the reason shown to the user.

    `ocr` marks a reason that depends on OCR (off, not installed, or what it found), so the file is
    read again once OCR can run or its languages change.
    """

    def __init__(self, reason: str, *, ocr: bool = False) -> None:
        super().__init__(reason)
        self.ocr = ocr


@dataclass(frozen=True)
class Block:
    """A paragraph-like run of text with its place in the document.

    `start`/`end` are character offsets into the document's extracted text; for PDFs, into
    the text of `page`, so a citation can point at the exact passage.
    """

    text: str
    heading_path: tuple[str, ...]
    page: int | None
    start: int
    end: int


@dataclass
class LoadedDocument:
    """Blocks in reading order, plus notes worth telling the user (such as a guessed encoding)."""

    blocks: list[Block]
    notes: list[str] = field(default_factory=list)
    ocr: bool = False  # some pages needed OCR (read or not): see SkipFile.ocr


class BlockBuilder:
    """Accumulates blocks for one text stream, tracking offsets as if they were joined by blank lines."""

    def __init__(self, page: int | None = None) -> None:
        self.page = page
        self.blocks: list[Block] = []
        self._offset = 0

    def add(self, text: str, heading_path: tuple[str, ...]) -> None:
        text = text.strip()
        if not text:
            return
        self.blocks.append(Block(text, _bounded(heading_path), self.page, self._offset, self._offset + len(text)))
        self._offset += len(text) + 2

    def add_paragraphs(self, text: str, heading_path: tuple[str, ...]) -> None:
        """Each run of non-blank lines of `text` becomes a block, its offset exact in `text`."""
        for start, end in _paragraph_spans(text):
            self.add_at(text[start:end], heading_path, start)

    def add_at(self, text: str, heading_path: tuple[str, ...], start: int) -> None:
        """Add a block whose offset in the source text is known exactly."""
        stripped = text.strip()
        if not stripped:
            return
        start += len(text) - len(text.lstrip())
        self.blocks.append(Block(stripped, _bounded(heading_path), self.page, start, start + len(stripped)))


def _bounded(heading_path: tuple[str, ...]) -> tuple[str, ...]:
    """`heading_path` with each heading cut to MAX_HEADING_CHARS; the same tuple when none is longer."""
    if all(len(heading) <= MAX_HEADING_CHARS for heading in heading_path):
        return heading_path
    return tuple(
        heading if len(heading) <= MAX_HEADING_CHARS else heading[: MAX_HEADING_CHARS - 1].rstrip() + "…"
        for heading in heading_path
    )


def _paragraph_spans(text: str) -> Iterator[tuple[int, int]]:
    """(start, end) of each run of non-blank lines: a paragraph of plain text, of a PDF page or of OCR output.

    Plain string methods in one pass: the regular expression used before backtracked from every
    position of a line of only white space, in time quadratic in its length.
    """
    first: int | None = None
    last = position = 0
    for line in text.split("\n"):
        if line and not line.isspace():
            first = position if first is None else first
            last = position + len(line)
        elif first is not None:
            yield first, last
            first = None
        position += len(line) + 1
    if first is not None:
        yield first, last


class HeadingStack:
    """Keeps the current heading path as headings of various levels arrive."""

    def __init__(self, root: tuple[str, ...] = ()) -> None:
        self._root = root
        self._levels: list[tuple[int, str]] = []

    def push(self, level: int, title: str) -> None:
        while self._levels and self._levels[-1][0] >= level:
            self._levels.pop()
        self._levels.append((level, title.strip()))

    @property
    def path(self) -> tuple[str, ...]:
        return self._root + tuple(title for _, title in self._levels)
