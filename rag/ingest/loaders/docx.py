"""DOCX: paragraphs and tables in body order; Title and Heading N styles become the heading path."""

from __future__ import annotations

import io
import re
import zipfile

import docx
from docx.document import Document as DocxDocument
from docx.enum.style import WD_STYLE_TYPE
from docx.oxml.ns import qn
from docx.oxml.text.paragraph import CT_P
from docx.table import Table
from lxml.etree import XMLSyntaxError

from rag.ingest.loaders.archive import open_ooxml
from rag.ingest.loaders.base import BlockBuilder, HeadingStack, LoadedDocument, SkipFile

_HEADING_STYLE = re.compile(r"^(?:heading|заглавие|заголовок)\s*(\d)$", re.IGNORECASE)


def _heading_level(name: str) -> int | None:
    if name.strip().lower() == "title":
        return 0
    match = _HEADING_STYLE.match(name.strip())
    return int(match.group(1)) if match else None


class _HeadingStyles:
    """Heading level of each paragraph style, resolved once per document.

    python-docx resolves `paragraph.style` with a search of the styles part on every call, which
    made a document of many paragraphs take quadratic time; here each paragraph costs a dict lookup.
    """

    def __init__(self, document: DocxDocument) -> None:
        styles = [s for s in document.styles.element.style_lst if s.type == WD_STYLE_TYPE.PARAGRAPH and s.styleId]
        self.levels = {s.styleId: _heading_level(s.name_val or "") for s in styles}
        self.fallback = next((self.levels[s.styleId] for s in styles if s.default), None)

    def level(self, paragraph: CT_P) -> int | None:
        """Like Word (and python-docx): no style, or an unknown one, means the default paragraph style."""
        return self.levels.get(paragraph.style, self.fallback) if paragraph.style else self.fallback


def load_docx(data: bytes) -> LoadedDocument:
    """Tables become one block each, rows joined with ' | ', so their text is searchable too."""
    open_ooxml(data, "DOCX").close()
    try:
        document = docx.Document(io.BytesIO(data))
    except (zipfile.BadZipFile, KeyError, ValueError, XMLSyntaxError) as exc:
        raise SkipFile(f"corrupt DOCX ({type(exc).__name__})") from exc
    styles = _HeadingStyles(document)
    headings = HeadingStack()
    builder = BlockBuilder()
    for element in document.element.body.iterchildren():
        if element.tag == qn("w:p"):
            level, text = styles.level(element), element.text
            if level is not None and text.strip():
                headings.push(level, text)
            else:
                builder.add(text, headings.path)
        elif element.tag == qn("w:tbl"):
            rows = [" | ".join(cell.text.strip() for cell in row.cells) for row in Table(element, document).rows]
            builder.add("\n".join(rows), headings.path)
    return LoadedDocument(builder.blocks)
