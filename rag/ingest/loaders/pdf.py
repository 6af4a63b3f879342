"""PDF: text per page with 1-based page numbers; encrypted, empty, corrupt and image-only PDFs are skipped with a reason."""

from __future__ import annotations

import io
import logging
import re

from pypdf import PdfReader
from pypdf.errors import DependencyError, FileNotDecryptedError, LimitReachedError, PdfReadError

from rag.ingest.loaders.base import BlockBuilder, LoadedDocument, SkipFile

_PARAGRAPH = re.compile(r"(?:[^\n]*\S[^\n]*(?:\n|$))+")
_TOO_LARGE = "content too large when decompressed (possible decompression bomb)"
"""pypdf stops inflating a stream at its output limit (75 MB by default), which bounds memory."""
logging.getLogger("pypdf").setLevel(logging.ERROR)


def _open(data: bytes) -> PdfReader:
    try:
        reader = PdfReader(io.BytesIO(data), strict=False)
    except (PdfReadError, ValueError, TypeError, KeyError, OSError) as exc:
        raise SkipFile(f"corrupt PDF ({_short(exc)})") from exc
    except LimitReachedError as exc:
        raise SkipFile(f"PDF exceeds a safety limit ({_short(exc)})") from exc
    if reader.is_encrypted:
        try:
            if not reader.decrypt(""):
                raise SkipFile("encrypted PDF (needs a password)")
        except (FileNotDecryptedError, NotImplementedError) as exc:
            raise SkipFile("encrypted PDF (needs a password)") from exc
        except DependencyError as exc:
            raise SkipFile(f"encrypted PDF (cannot decrypt: {_short(exc)})") from exc
    return reader


def _short(exc: Exception) -> str:
    message = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
    return message[:120]


def _title(reader: PdfReader) -> tuple[str, ...]:
    try:
        metadata = reader.metadata
        title = metadata.get("/Title") if metadata is not None else None
    except (PdfReadError, ValueError, TypeError, KeyError):
        return ()
    return (str(title).strip(),) if title and str(title).strip() else ()


def load_pdf(data: bytes) -> LoadedDocument:
    """One stream of blocks per page; offsets are within that page's extracted text."""
    reader = _open(data)
    try:
        pages = list(reader.pages)
    except (PdfReadError, ValueError, TypeError, KeyError, RecursionError) as exc:
        raise SkipFile(f"corrupt PDF ({_short(exc)})") from exc
    except LimitReachedError as exc:
        raise SkipFile(f"PDF exceeds a safety limit ({_short(exc)})") from exc
    if not pages:
        raise SkipFile("PDF has no pages")
    root = _title(reader)
    blocks = []
    unreadable = too_large = 0
    for number, page in enumerate(pages, start=1):
        try:
            text = page.extract_text() or ""
        except LimitReachedError:
            too_large += 1
            continue
        except Exception:
            unreadable += 1
            continue
        builder = BlockBuilder(page=number)
        for match in _PARAGRAPH.finditer(text):
            builder.add_at(match.group(), root, match.start())
        blocks.extend(builder.blocks)
    if not blocks and too_large:
        raise SkipFile(f"page {_TOO_LARGE}" if len(pages) == 1 else f"{too_large} of {len(pages)} pages: {_TOO_LARGE}")
    if not blocks:
        raise SkipFile("no extractable text (scanned or image-only PDF; run OCR first)")
    notes = [f"{unreadable} of {len(pages)} pages could not be read"] if unreadable else []
    notes += [f"{too_large} of {len(pages)} pages skipped: {_TOO_LARGE}"] if too_large else []
    return LoadedDocument(blocks, notes)
