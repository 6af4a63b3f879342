"""DOCX: paragraphs and tables in body order; Title and Heading N styles become the heading path."""

from __future__ import annotations

import io
import re
import zipfile

import docx
from docx.document import Document as DocxDocument
from docx.enum.style import WD_STYLE_TYPE
from docx.oxml.ns import qn
from docx.oxml.simpletypes import ST_Merge
from docx.oxml.table import CT_Tbl, CT_Tc
from docx.oxml.text.paragraph import CT_P
from lxml.etree import XMLSyntaxError

from rag.ingest.loaders.archive import open_ooxml
from rag.ingest.loaders.base import BlockBuilder, HeadingStack, LoadedDocument, SkipFile

MAX_SPAN = 64
"""Columns one cell may span: Word allows 63 in a table, and a hostile span of a billion must not
become a billion copies of the cell's text."""
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
            builder.add(_table_text(element), headings.path)
    return LoadedDocument(builder.blocks)


def _table_text(table: CT_Tbl) -> str:
    """Rows one per line, cells joined by ' | ', as python-docx's `Row.cells` gives them: a cell spanning
    columns once per column, a cell merged with the one above with the text of the top cell.

    One pass, each row remembering the top cell of each of its columns: python-docx looks for the top
    cell up the rows again for every merged cell, in quadratic time and recursing once per row, so a
    long merged column ended in RecursionError.
    """
    above: dict[int, tuple[str, int]] = {}
    lines = []
    for row in table.tr_lst:
        cells: list[str] = []
        tops: dict[int, tuple[str, int]] = {}
        column = row.grid_before
        for cell in row.tc_lst:
            top = above.get(column) if cell.vMerge == ST_Merge.CONTINUE else None
            text, span = top or (_cell_text(cell), min(cell.grid_span, MAX_SPAN))
            tops[column] = text, span
            cells.extend([text] * span)
            column += cell.grid_span
        lines.append(" | ".join(cells))
        above = tops
    return "\n".join(lines)


def _cell_text(cell: CT_Tc) -> str:
    """The cell's own paragraphs, as `_Cell.text` reads them (a table inside the cell is left out)."""
    return "\n".join(paragraph.text for paragraph in cell.p_lst).strip()
