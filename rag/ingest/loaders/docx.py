"""DOCX: paragraphs and tables in body order; Title and Heading N styles become the heading path."""

from __future__ import annotations

import io
import re
import zipfile
from collections.abc import Iterator

import docx
from docx.document import Document as DocxDocument
from docx.enum.style import WD_STYLE_TYPE
from docx.oxml.ns import nsmap, qn
from docx.oxml.simpletypes import ST_Merge
from docx.oxml.table import CT_Tbl, CT_Tc
from docx.oxml.text.paragraph import CT_P
from lxml.etree import XMLSyntaxError, XPath

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
    for element in _body_elements(document.element.body):
        if element.tag == _P:
            level, text = styles.level(element), _paragraph_text(element)
            if level is not None and text.strip():
                headings.push(level, text)
            else:
                builder.add(text, headings.path)
        else:
            builder.add(_table_text(element), headings.path)
    return LoadedDocument(builder.blocks)


_P, _TBL, _SDT, _SDT_CONTENT = qn("w:p"), qn("w:tbl"), qn("w:sdt"), qn("w:sdtContent")
_TEXT = {qn("w:t"): None, qn("w:tab"): "\t", qn("w:br"): "\n", qn("w:cr"): "\n"}
_RUN_TEXT = XPath(
    "(.//w:r/w:t | .//w:r/w:tab | .//w:r/w:br | .//w:r/w:cr)[not(ancestor::mc:Fallback)]",
    namespaces={"w": nsmap["w"], "mc": "http://schemas.openxmlformats.org/markup-compatibility/2006"},
)
"""Text, tabs and breaks of runs (not a paragraph's tab stops), once: a text box's old-style copy is skipped."""
MAX_NESTED_TABLES = 8
"""Tables inside table cells read this deep; a deeper one is read as plain text (no recursion without end)."""


def _body_elements(parent: object) -> Iterator[CT_P | CT_Tbl]:
    """Paragraphs and tables in reading order, those inside content controls (`w:sdt`) included: python-docx
    sees only the body's direct children, so a form's filled-in fields were dropped without a word."""
    pending = list(reversed(list(parent.iterchildren())))  # type: ignore[attr-defined]
    while pending:
        element = pending.pop()
        if element.tag in (_P, _TBL):
            yield element
        elif element.tag == _SDT:
            for content in element.iterchildren(_SDT_CONTENT):
                pending.extend(reversed(list(content.iterchildren())))


def _paragraph_text(paragraph: CT_P) -> str:
    """All of a paragraph's text, runs inside inline content controls, fields and text boxes included
    (python-docx reads only its direct runs and hyperlinks)."""
    return "".join(
        (element.text or "") if (mark := _TEXT[element.tag]) is None else mark for element in _RUN_TEXT(paragraph)
    )


def _table_text(table: CT_Tbl, depth: int = 0) -> str:
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
            text, span = top or (_cell_text(cell, depth), min(cell.grid_span, MAX_SPAN))
            tops[column] = text, span
            cells.extend([text] * span)
            column += cell.grid_span
        lines.append(" | ".join(cells))
        above = tops
    return "\n".join(lines)


def _cell_text(cell: CT_Tc, depth: int) -> str:
    """The cell's paragraphs, and the text of a table inside it (python-docx's `_Cell.text` leaves it out)."""
    parts = []
    for element in _body_elements(cell):
        if element.tag == _P:
            parts.append(_paragraph_text(element))
        elif depth < MAX_NESTED_TABLES:
            parts.append(_table_text(element, depth + 1))
        else:
            parts.append(" ".join(" ".join(element.itertext()).split()))
    return "\n".join(parts).strip()
