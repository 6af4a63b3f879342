"""Plain text and Markdown: paragraphs split on blank lines; Markdown headings become the heading path."""

from __future__ import annotations

import re

from rag.ingest.loaders.base import BlockBuilder, HeadingStack, LoadedDocument, SkipFile
from rag.ingest.loaders.decoding import decode_text

_ATX_HEADING = re.compile(r"(#{1,6})[ \t]+(.*)")
"""The marks and the rest of a stripped line; its closing marks are cut off by `_heading`."""
_SETEXT_UNDERLINE = re.compile(r"^(=+|-+)[ \t]*$")
_FENCE = re.compile(r"^[ \t]*(```|~~~)")


def decode_nonempty(data: bytes) -> tuple[str, list[str]]:
    """Decoded text with newlines normalised; whitespace-only content is skipped."""
    text, note = decode_text(data)
    if not text.strip():
        raise SkipFile("no text (only whitespace)")
    return text.replace("\r\n", "\n").replace("\r", "\n"), [note] if note else []


def load_plain_text(data: bytes) -> LoadedDocument:
    """Paragraphs separated by blank lines, offsets exact in the decoded text."""
    text, notes = decode_nonempty(data)
    builder = BlockBuilder()
    builder.add_paragraphs(text, ())
    return LoadedDocument(builder.blocks, notes)


def _heading(line: str) -> tuple[int, str] | None:
    """Level and title of an ATX heading (`## Title ##`), the closing run of spaces, tabs and #s left out,
    though never the title's first character. String methods, not a lazy pattern: trying each
    title length against the closing run took quadratic time on a long line of ` #`."""
    match = _ATX_HEADING.fullmatch(line)
    if not match:
        return None
    rest = match.group(2)
    return len(match.group(1)), rest[: max(1, len(rest.rstrip(" \t#")))]


def load_markdown(data: bytes) -> LoadedDocument:
    """Paragraphs under their ATX/setext headings; code fences are kept whole and never read as headings."""
    text, notes = decode_nonempty(data)
    lines = text.splitlines(keepends=True)
    builder = BlockBuilder()
    headings = HeadingStack()
    paragraph: list[str] = []
    paragraph_start = 0
    offset = 0
    in_fence = False

    def flush() -> None:
        if paragraph:
            builder.add_at("".join(paragraph), headings.path, paragraph_start)
            paragraph.clear()

    for index, line in enumerate(lines):
        stripped = line.strip()
        if _FENCE.match(line):
            in_fence = not in_fence
        heading = None if in_fence else _heading(stripped)
        next_line = lines[index + 1] if index + 1 < len(lines) else ""
        if heading:
            flush()
            headings.push(*heading)
        elif not in_fence and stripped and not paragraph and _SETEXT_UNDERLINE.match(next_line.strip()):
            flush()
            headings.push(1 if next_line.strip().startswith("=") else 2, stripped)
        elif not in_fence and _SETEXT_UNDERLINE.match(stripped) and index > 0 and not paragraph:
            pass  # underline of a setext heading already taken
        elif not stripped and not in_fence:
            flush()
        else:
            if not paragraph:
                paragraph_start = offset
            paragraph.append(line)
        offset += len(line)
    flush()
    return LoadedDocument(builder.blocks, notes)
