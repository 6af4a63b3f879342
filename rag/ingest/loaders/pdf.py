"""PDF: text per page with 1-based page numbers; pages without a text layer are read by OCR.

Encrypted, empty and corrupt PDFs are skipped with a reason, and so are scans when OCR cannot run.
pypdf opens and checks the file (encryption, page tree, each page's content inflated under its
output limit, so a decompression bomb is refused before anything renders it); PDFium (pypdfium2,
Chrome's PDF engine) extracts the text: it places spaces from the glyphs' positions, where pypdf
loses them in many TeX-made PDFs ("Anicevalueisused"), and is about ten times faster.
"""

from __future__ import annotations

import io
import logging
from functools import partial

import pypdfium2 as pdfium
from pypdf import PageObject, PdfReader
from pypdf.errors import DependencyError, FileNotDecryptedError, LimitReachedError, PdfReadError

from rag.ingest.loaders.base import BlockBuilder, LoadedDocument, SkipFile
from rag.ingest.ocr import Ocr, OcrRun, pages_label

_NEAR_EMPTY = 16
"""Fewer letters and digits than this on a page is no text layer (a page number, a scanner's stamp): it is a scan."""
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


def _size(page: PageObject) -> tuple[float, float] | None:
    """The visible (crop box) size in points, which sets the resolution a page is rendered at."""
    try:
        box = page.cropbox
        return abs(float(box.width)), abs(float(box.height))
    except Exception:
        return None


def _pdfium(data: bytes) -> pdfium.PdfDocument | None:
    """PDFium's view of the file, or None where it cannot open what pypdf could (pypdf then extracts)."""
    try:
        return pdfium.PdfDocument(data)
    except pdfium.PdfiumError:
        return None


def _page_text(page: PageObject, document: pdfium.PdfDocument | None, number: int) -> str:
    """The page's text. The content is inflated by pypdf first, under its limit (LimitReachedError)."""
    if document is None:
        return page.extract_text() or ""
    contents = page.get_contents()
    if contents is not None:
        contents.get_data()
    text = document[number - 1].get_textpage().get_text_bounded()
    # PDFium marks a word hyphenated at a line end with U+0002 and drops the line break after it.
    return text.replace("\x02", "").replace("\r\n", "\n").replace("\r", "\n")


def _letters(text: str) -> int:
    return sum(char.isalnum() for char in text)


def load_pdf(data: bytes, ocr: Ocr) -> LoadedDocument:
    """One stream of blocks per page; offsets are within that page's text, extracted or read by OCR.

    A page whose text layer is (nearly) empty is a scan: only those pages are rendered and read by OCR.
    """
    reader = _open(data)
    try:
        pages = list(reader.pages)
    except (PdfReadError, ValueError, TypeError, KeyError, RecursionError) as exc:
        raise SkipFile(f"corrupt PDF ({_short(exc)})") from exc
    except LimitReachedError as exc:
        raise SkipFile(f"PDF exceeds a safety limit ({_short(exc)})") from exc
    if not pages:
        raise SkipFile("PDF has no pages")
    texts: dict[int, str] = {}
    scans: list[int] = []
    unreadable = too_large = 0
    document = _pdfium(data)
    for number, page in enumerate(pages, start=1):
        try:
            texts[number] = _page_text(page, document, number)
        except LimitReachedError:
            too_large += 1  # never rendered either: the renderer would inflate the same streams
            continue
        except Exception:
            unreadable += 1
            continue
        if _letters(texts[number]) < _NEAR_EMPTY:
            scans.append(number)
    notes = [f"{unreadable} of {len(pages)} pages could not be read"] if unreadable else []
    notes += [f"{too_large} of {len(pages)} pages skipped: {_TOO_LARGE}"] if too_large else []
    run = OcrRun(ocr.settings.file_budget)
    if scans and ocr.problem is None:
        for number in scans:
            text = run.page(number, partial(ocr.read_pdf_page, data, number, _size(pages[number - 1])))
            texts[number] = text or texts[number]
        notes += run.notes
    elif scans:
        have = "has" if len(scans) == 1 else "have"
        notes.append(f"{pages_label(scans)} {have} no text layer; {ocr.problem}")
    root = _title(reader)
    blocks = []
    for number, text in sorted(texts.items()):
        builder = BlockBuilder(page=number)
        builder.add_paragraphs(text, root)
        blocks.extend(builder.blocks)
    if not blocks and too_large:
        raise SkipFile(f"page {_TOO_LARGE}" if len(pages) == 1 else f"{too_large} of {len(pages)} pages: {_TOO_LARGE}")
    if not blocks and scans:
        found = "; ".join(run.notes) if run.failed else "OCR found no text"
        raise SkipFile(f"no text layer; {ocr.problem or found}", ocr=True)
    if not blocks:
        raise SkipFile(f"no extractable text ({notes[0]})" if notes else "no extractable text")
    return LoadedDocument(blocks, notes, ocr=bool(scans))
