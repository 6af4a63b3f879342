"""DOCX: paragraphs and tables in body order; Title and Heading N styles become the heading path."""

from __future__ import annotations

import io
import re
import zipfile

import docx
from docx.oxml.ns import qn
from docx.table import Table
from docx.text.paragraph import Paragraph
from lxml.etree import XMLSyntaxError

from rag.loaders.base import BlockBuilder, HeadingStack, LoadedDocument, SkipFile

_HEADING_STYLE = re.compile(r"^(?:heading|заглавие|заголовок)\s*(\d)$", re.IGNORECASE)


def _heading_level(paragraph: Paragraph) -> int | None:
    name = (paragraph.style.name if paragraph.style is not None else "") or ""
    if name.lower() == "title":
        return 0
    match = _HEADING_STYLE.match(name.strip())
    return int(match.group(1)) if match else None


def load_docx(data: bytes) -> LoadedDocument:
    """Tables become one block each, rows joined with ' | ', so their text is searchable too."""
    try:
        document = docx.Document(io.BytesIO(data))
    except (zipfile.BadZipFile, KeyError, ValueError, XMLSyntaxError) as exc:
        raise SkipFile(f"corrupt DOCX ({type(exc).__name__})") from exc
    headings = HeadingStack()
    builder = BlockBuilder()
    for element in document.element.body.iterchildren():
        if element.tag == qn("w:p"):
            paragraph = Paragraph(element, document)
            level = _heading_level(paragraph)
            if level is not None and paragraph.text.strip():
                headings.push(level, paragraph.text)
            else:
                builder.add(paragraph.text, headings.path)
        elif element.tag == qn("w:tbl"):
            rows = [" | ".join(cell.text.strip() for cell in row.cells) for row in Table(element, document).rows]
            builder.add("\n".join(rows), headings.path)
    return LoadedDocument(builder.blocks)
