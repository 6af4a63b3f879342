"""Format-specific loaders behind one entry point: bytes and an extension in, text blocks out."""

from __future__ import annotations

from collections.abc import Callable

from rag.ingest.loaders.base import Block, LoadedDocument, SkipFile
from rag.ingest.loaders.docx import load_docx
from rag.ingest.loaders.html import load_html
from rag.ingest.loaders.pdf import load_pdf
from rag.ingest.loaders.text import load_markdown, load_plain_text

LOADER_VERSION = 2
"""Bump when extraction changes, so ingestion re-reads files indexed by an older loader."""

LOADERS: dict[str, Callable[[bytes], LoadedDocument]] = {
    ".txt": load_plain_text,
    ".md": load_markdown,
    ".markdown": load_markdown,
    ".pdf": load_pdf,
    ".html": load_html,
    ".htm": load_html,
    ".docx": load_docx,
}


def is_supported(suffix: str) -> bool:
    return suffix.lower() in LOADERS


def load_bytes(data: bytes, suffix: str) -> LoadedDocument:
    """Parse file content; raises SkipFile with a user-facing reason when it cannot be indexed."""
    loader = LOADERS.get(suffix.lower())
    if loader is None:
        raise SkipFile(f"unsupported file type '{suffix or '(none)'}'")
    if not data:
        raise SkipFile("empty file")
    document = loader(data)
    if not document.blocks:
        raise SkipFile("no text found")
    return document


__all__ = ["LOADER_VERSION", "Block", "LoadedDocument", "SkipFile", "is_supported", "load_bytes"]
