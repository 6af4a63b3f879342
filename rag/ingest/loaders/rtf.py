"""RTF: the text striprtf finds, in paragraphs, after defusing its two quadratic regexes.

striprtf's tokenizer is linear, but before it runs, two regexes scan to the end of the line for
each candidate: one for hyperlink fields, one for font table entries. A line of 1.4 MB of
`{\\field{\\*\\fldinst{` took 400 s, and 0.3 MB of `\\f1` in a font table 117 s (16 times as long
for 4 times the input). The input is rewritten first so that both stay linear: hyperlink fields
lose their URL (their text stays), and the font table is reduced to what striprtf reads from it,
each font's number and character set.
"""

from __future__ import annotations

import re

from striprtf.striprtf import font_table_group, rtf_to_text

from rag.ingest.loaders.base import BlockBuilder, LoadedDocument, SkipFile

_HEADER = re.compile(rb"\A(?:\xef\xbb\xbf)?\s*\{\\rtf")
_CODEPAGE = re.compile(rb"\\ansicpg(\d{1,5})")
_FONT = re.compile(r"\\f(\d{1,10})[^;{}]{0,80}?\\fcharset(\d{1,3})")
"""A font's number and its character set; the bounded gap keeps each attempt short."""
_FIELD = re.compile(r"\{(?=\\field)", re.IGNORECASE)
"""Where striprtf's hyperlink regex (case-insensitive too) would start; a line break there is ignored by RTF."""
_CORRUPT = (ValueError, TypeError, IndexError, OverflowError, LookupError)
"""What striprtf raises on numbers or code points out of range (`\\u99999999999`, `\\bin` with 5,000 digits)."""


def _decode(data: bytes) -> str:
    """RTF is ASCII with escapes; raw 8-bit bytes are in the declared code page (or UTF-8 from some writers)."""
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        pass
    declared = _CODEPAGE.search(data[:4096])
    encoding = f"cp{int(declared.group(1))}" if declared else "cp1252"
    try:
        return data.decode(encoding, errors="replace")
    except LookupError:
        return data.decode("cp1252", errors="replace")


def _defused(source: str) -> str:
    """The same document, with nothing left for striprtf's two backtracking regexes to scan far."""
    table = font_table_group(source)  # linear: one pass over the braces
    if table:
        fonts = "".join(f"{{\\f{number}\\fcharset{charset} F;}}" for number, charset in _FONT.findall(table))
        start = source.find(table)
        source = f"{source[:start]}{{\\fonttbl{fonts}}}{source[start + len(table) :]}"
    return _FIELD.sub("{\n", source)


def load_rtf(data: bytes) -> LoadedDocument:
    """Paragraphs of the text; RTF has no reliable headings (styles vary by writer), so the path stays empty."""
    if not _HEADER.match(data):
        raise SkipFile("corrupt RTF (no {\\rtf header)")
    try:
        text = rtf_to_text(_defused(_decode(data)), errors="replace")
    except _CORRUPT as exc:
        raise SkipFile(f"corrupt RTF ({type(exc).__name__})") from exc
    builder = BlockBuilder()
    builder.add_paragraphs(text.replace("\r\n", "\n").replace("\r", "\n"), ())
    return LoadedDocument(builder.blocks)
