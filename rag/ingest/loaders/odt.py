"""ODT: paragraphs, headings (text:h and its outline level) and tables of content.xml, in document order.

content.xml is read with lxml rather than odfpy: lxml is already here (python-docx needs it), parses
in C with entity expansion off and libxml2's depth limit, and shares the zip-bomb check with EPUB;
odfpy builds a pure-Python object for every node and has had no release since 2020.
"""

from __future__ import annotations

from collections.abc import Iterator

from lxml import etree

from rag.ingest.loaders.archive import open_zip, read_xml
from rag.ingest.loaders.base import BlockBuilder, HeadingStack, LoadedDocument, SkipFile

KIND = "ODT"
TEXT = "urn:oasis:names:tc:opendocument:xmlns:text:1.0"
TABLE = "urn:oasis:names:tc:opendocument:xmlns:table:1.0"
OFFICE = "urn:oasis:names:tc:opendocument:xmlns:office:1.0"
STYLE = "urn:oasis:names:tc:opendocument:xmlns:style:1.0"
_P, _H, _TABLE = f"{{{TEXT}}}p", f"{{{TEXT}}}h", f"{{{TABLE}}}table"
_ROW, _CELL = f"{{{TABLE}}}table-row", f"{{{TABLE}}}table-cell"
_NOT_BODY_TEXT = {
    f"{{{TEXT}}}{name}"
    for name in (
        "tracked-changes", "table-of-content", "illustration-index", "table-index", "object-index",
        "user-index", "alphabetical-index", "bibliography", "note-citation", "sequence-decls",
    )
} | {f"{{{OFFICE}}}annotation", f"{{{OFFICE}}}forms"}  # fmt: skip
"""Deleted text kept for change tracking, generated indexes (copies of the headings), comments."""
_MAX_SPACES = 100
"""text:s stands for text:c spaces; a hostile count of a billion must not become a string that long."""


def _count(value: str | None) -> int:
    """A count or level from an attribute: 1 when absent or not a small whole number."""
    return int(value) if value and len(value) < 7 and value.isdecimal() else 1


def _inline(element: etree._Element) -> Iterator[str]:
    """The text of a paragraph or heading, with spaces, tabs and line breaks; comments are left out.

    Recursion is bounded by libxml2's depth limit (256) on the parsed document.
    """
    yield element.text or ""
    for child in element:
        tag = child.tag
        if not isinstance(tag, str):  # an XML comment or processing instruction
            pass
        elif tag == f"{{{TEXT}}}s":
            yield " " * min(_MAX_SPACES, _count(child.get(f"{{{TEXT}}}c")))
        elif tag == f"{{{TEXT}}}tab":
            yield "\t"
        elif tag == f"{{{TEXT}}}line-break":
            yield "\n"
        elif tag in (_P, _H):  # inside a text box or a note: a paragraph of its own
            yield " "
            yield from _inline(child)
            yield " "
        elif tag not in _NOT_BODY_TEXT:
            yield from _inline(child)
        yield child.tail or ""


def _text(element: etree._Element) -> str:
    return "".join(_inline(element)).strip()


def _outermost(element: etree._Element, tags: set[str]) -> Iterator[etree._Element]:
    """Descendants of `element` with one of `tags`, in document order, without looking inside the ones
    found (nor inside comments, tracked changes and indexes): each element is visited once."""
    stack = list(reversed(element))
    while stack:
        child = stack.pop()
        if child.tag in tags:
            yield child
        elif isinstance(child.tag, str) and child.tag not in _NOT_BODY_TEXT:
            stack.extend(reversed(child))


def _table(element: etree._Element) -> str:
    """Rows one per line, cells joined by ' | '. Repeated rows and cells are written once: their counts
    come from the file (a hostile one asks for millions) and a copy adds nothing to search.

    A table inside a cell is part of that cell's text, each paragraph once: the rows of the table are
    its own, not those of the tables inside it, which were written again for every enclosing table.
    """
    rows = []
    for row in _outermost(element, {_ROW}):
        cells = [" ".join(_text(p) for p in _outermost(cell, {_P, _H})) for cell in row.iterchildren(_CELL)]
        while cells and not cells[-1].strip():
            cells.pop()
        if cells:
            rows.append(" | ".join(cells))
    return "\n".join(rows)


def _title_styles(root: etree._Element) -> set[str]:
    """Paragraph styles that are the Title style or derive from it (automatic styles such as "P1")."""
    names = {"Title"}
    for style in root.iterfind(f".//{{{OFFICE}}}automatic-styles/{{{STYLE}}}style"):
        if style.get(f"{{{STYLE}}}parent-style-name") == "Title":
            names.add(style.get(f"{{{STYLE}}}name", ""))
    return names


def load_odt(data: bytes) -> LoadedDocument:
    """Headings of outline level N nest like Heading N in DOCX; a Title paragraph is the root."""
    archive = open_zip(data, KIND)
    if "META-INF/manifest.xml" in archive.namelist():
        manifest = read_xml(archive, "META-INF/manifest.xml", KIND)
        if manifest.find(".//{*}encryption-data") is not None:  # content.xml is encrypted with the password
            raise SkipFile("encrypted ODT (needs a password)")
    root = read_xml(archive, "content.xml", KIND)
    body = root.find(f"{{{OFFICE}}}body/{{{OFFICE}}}text")
    if body is None:
        raise SkipFile("corrupt ODT (no text body; a spreadsheet or drawing saved as .odt?)")
    titles = _title_styles(root)
    headings = HeadingStack()
    builder = BlockBuilder()
    stack = list(reversed(body))
    while stack:
        element = stack.pop()
        tag = element.tag
        if tag == _H:
            text = _text(element)
            if text:
                headings.push(_count(element.get(f"{{{TEXT}}}outline-level")), text)
        elif tag == _P:
            if element.get(f"{{{TEXT}}}style-name") in titles and _text(element):
                headings.push(0, _text(element))
            else:
                builder.add(_text(element), headings.path)
        elif tag == _TABLE:
            builder.add(_table(element), headings.path)
        elif isinstance(tag, str) and tag not in _NOT_BODY_TEXT:
            stack.extend(reversed(element))  # sections, lists, frames: what they hold is body text
    return LoadedDocument(builder.blocks)
