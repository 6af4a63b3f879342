"""Format-specific loaders behind one entry point: bytes and an extension in, text blocks out."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace

from rag.config import OcrSettings
from rag.ingest.loaders.base import Block, LoadedDocument, SkipFile
from rag.ingest.loaders.csv import load_csv
from rag.ingest.loaders.docx import load_docx
from rag.ingest.loaders.epub import load_epub
from rag.ingest.loaders.html import load_html
from rag.ingest.loaders.image import IMAGE_SUFFIXES, load_image
from rag.ingest.loaders.odt import load_odt
from rag.ingest.loaders.pdf import load_pdf
from rag.ingest.loaders.pptx import load_pptx
from rag.ingest.loaders.rtf import load_rtf
from rag.ingest.loaders.text import load_markdown, load_plain_text
from rag.ingest.loaders.xlsx import load_xlsx
from rag.ingest.ocr import Ocr

LOADER_VERSION = 6
"""Bump when extraction changes, so ingestion re-reads files indexed by an older loader."""

LOADERS: dict[str, Callable[[bytes], LoadedDocument]] = {
    ".txt": load_plain_text,
    ".md": load_markdown,
    ".markdown": load_markdown,
    ".html": load_html,
    ".htm": load_html,
    ".docx": load_docx,
    ".pptx": load_pptx,
    ".xlsx": load_xlsx,
    ".csv": load_csv,
    ".epub": load_epub,
    ".odt": load_odt,
    ".rtf": load_rtf,
}
OCR_LOADERS: dict[str, Callable[[bytes, Ocr], LoadedDocument]] = {
    ".pdf": load_pdf,
    **dict.fromkeys(IMAGE_SUFFIXES, load_image),
}
"""Formats that may hold text only as pixels: their loaders are handed the run's OCR engine."""
_NO_OCR = Ocr(OcrSettings(enabled=False))


def is_supported(suffix: str) -> bool:
    return suffix.lower() in LOADERS or suffix.lower() in OCR_LOADERS


def supported_suffixes() -> list[str]:
    """Every suffix a loader reads, sorted: what the app tells a user whose upload is refused."""
    return sorted({*LOADERS, *OCR_LOADERS})


def _loader(suffix: str, ocr: Ocr) -> Callable[[bytes], LoadedDocument]:
    name = suffix.lower()
    if name in OCR_LOADERS:
        read = OCR_LOADERS[name]
        return lambda data: read(data, ocr)
    if name in LOADERS:
        return LOADERS[name]
    raise SkipFile(f"unsupported file type '{suffix or '(none)'}'")


def load_bytes(data: bytes, suffix: str, ocr: Ocr = _NO_OCR) -> LoadedDocument:
    """Parse file content; raises SkipFile with a user-facing reason when it cannot be indexed.

    Without an OCR engine (the ingestion pipeline builds one from the settings), only text layers are read.
    """
    loader = _loader(suffix, ocr)
    if not data:
        raise SkipFile("empty file")
    document = without_nul(loader(data))
    if not document.blocks:
        raise SkipFile("no text found")
    return document


def without_nul(document: LoadedDocument) -> LoadedDocument:
    """NUL characters become spaces, in every block and heading, once for every store: PostgreSQL text cannot
    hold them (one would abort the whole COPY), and they mean nothing to a reader. One character for one,
    so offsets still point at the original text."""
    if not any("\0" in b.text or any("\0" in h for h in b.heading_path) for b in document.blocks):
        return document
    blocks = [
        replace(b, text=b.text.replace("\0", " "), heading_path=tuple(h.replace("\0", " ") for h in b.heading_path))
        for b in document.blocks
    ]
    return replace(document, blocks=[b for b in blocks if b.text.strip()])


__all__ = [
    "LOADER_VERSION",
    "Block",
    "LoadedDocument",
    "Ocr",
    "SkipFile",
    "is_supported",
    "load_bytes",
    "supported_suffixes",
]
