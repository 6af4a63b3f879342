"""XLSX: each sheet's rows in blocks led by the header row, located by sheet and row range.

openpyxl in read-only mode streams each sheet's XML row by row (memory stays bounded whatever the
sheet's size) and, with data_only, gives the values Excel cached for formulas: nothing is computed.
"""

from __future__ import annotations

import datetime
import io
import warnings
import zipfile
from collections.abc import Iterator
from typing import Any

from lxml import etree
from openpyxl import load_workbook
from openpyxl.utils.exceptions import InvalidFileException
from openpyxl.xml.constants import ARC_CONTENT_TYPES, ARC_STYLE, CONTYPES_NS, SHARED_STRINGS

from rag.ingest.loaders.archive import MAX_PARSED_PART_BYTES, open_ooxml, read_member
from rag.ingest.loaders.base import BlockBuilder, LoadedDocument, SkipFile
from rag.ingest.loaders.table import add_rows, row_text

MAX_CELLS = 10_000_000
"""Cells read from one workbook, counting the empty ones openpyxl fills in. A sheet's row numbers and
widths come from the file, so a few kilobytes could otherwise ask for a billion empty rows."""
MAX_ELEMENTS = {"content types": 100_000, "styles": 400_000, "shared strings": 2_500_000}
"""XML elements of the parts openpyxl reads whole, keeping every element or string. Measured: a million
shared strings (two elements each) took 170 MB and 9 s, one string of a million runs (three elements
each) 460 MB, 300,000 style elements 160 MB. Excel allows 64,000 cell formats, so real styles stay far
below their limit."""
_KIND = "XLSX"
_OVERRIDE = f"{{{CONTYPES_NS}}}Override"
_CORRUPT = (zipfile.BadZipFile, OSError, KeyError, ValueError, TypeError, AttributeError, IndexError, SyntaxError)
"""What openpyxl raises on damaged parts (OSError: no workbook part); SyntaxError covers the XML parsers' errors."""
warnings.filterwarnings("ignore", module="openpyxl")  # unsupported extensions, data validation: not our business


def _text(value: Any) -> str:
    """A cell value as the sheet shows it, near enough: dates without a midnight time, floats to 15 digits."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "TRUE" if value else "FALSE"
    if isinstance(value, float):
        return f"{value:.15g}"
    if isinstance(value, datetime.datetime):
        return value.date().isoformat() if value.time() == datetime.time() else value.isoformat(" ", "seconds")
    if isinstance(value, datetime.date | datetime.time):
        return value.isoformat()
    return str(value)


class _Budget:
    def __init__(self) -> None:
        self.left = MAX_CELLS
        self.cut: str | None = None


def _rows(sheet: Any, budget: _Budget) -> Iterator[tuple[int, str]]:
    sheet.reset_dimensions()  # the declared size could pad every row to 16,384 columns
    for number, values in enumerate(sheet.iter_rows(values_only=True), start=1):
        budget.left -= max(1, len(values))
        if budget.left < 0:
            budget.cut = f"sheet '{sheet.title}' read up to row {number - 1}: over {MAX_CELLS:,} cells in the workbook"
            return
        if values:
            yield number, row_text([_text(value) for value in values])


class _ElementCount:
    """lxml parser target that counts the elements of one part and builds no tree."""

    def __init__(self, label: str) -> None:
        self.label = label
        self.left = MAX_ELEMENTS[label]

    def start(self, tag: str, attrib: dict[str, str]) -> None:
        self.left -= 1
        if self.left < 0:
            raise SkipFile(
                f"{_KIND} {self.label} hold over {MAX_ELEMENTS[self.label]:,} XML elements (possible memory bomb)"
            )

    def close(self) -> None:
        return None


class _ContentTypes(_ElementCount):
    """Counts the content types' elements and finds the shared strings part as openpyxl does (the first
    part declared with its content type)."""

    def __init__(self) -> None:
        super().__init__("content types")
        self.shared_strings: str | None = None

    def start(self, tag: str, attrib: dict[str, str]) -> None:
        super().start(tag, attrib)
        if self.shared_strings is None and tag == _OVERRIDE and attrib.get("ContentType") == SHARED_STRINGS:
            self.shared_strings = attrib.get("PartName", "")[1:]


def _check_parsed_parts(archive: zipfile.ZipFile) -> None:
    """Hold the parts openpyxl reads whole to the size limit for one part and to MAX_ELEMENTS.

    An XLSX is exempt from that limit because openpyxl streams its sheets; but it reads these parts
    whole, keeping every shared string and style element (hundreds of bytes each): 616 KB of zip took 2.2 GB.
    """
    content_types = _ContentTypes()
    _scan(archive, ARC_CONTENT_TYPES, content_types)
    _scan(archive, ARC_STYLE, _ElementCount("styles"))
    if content_types.shared_strings is not None:
        _scan(archive, content_types.shared_strings, _ElementCount("shared strings"))


def _scan(archive: zipfile.ZipFile, name: str, target: _ElementCount) -> None:
    """Feed one part to `target`."""
    try:
        size = archive.getinfo(name).file_size
    except KeyError:
        return  # left for openpyxl to report
    if size > MAX_PARSED_PART_BYTES:
        raise SkipFile(
            f"{_KIND} {target.label} inflate to {size / 2**20:,.0f} MB, over the "
            f"{MAX_PARSED_PART_BYTES / 2**20:,.0f} MB limit for one part (possible zip bomb)"
        )
    parser = etree.XMLParser(target=target, resolve_entities=False, no_network=True, load_dtd=False)
    try:
        etree.fromstring(read_member(archive, name, _KIND), parser)
    except etree.XMLSyntaxError as exc:
        raise SkipFile(f"corrupt {_KIND} (malformed XML in {name[:80]})") from exc


def load_xlsx(data: bytes) -> LoadedDocument:
    """One table per worksheet, in workbook order; chart sheets have no cells and are left out."""
    with open_ooxml(data, _KIND, parsed_whole=False) as archive:
        _check_parsed_parts(archive)
    builder = BlockBuilder()
    budget = _Budget()
    try:
        workbook = load_workbook(io.BytesIO(data), read_only=True, data_only=True, keep_links=False)
    except (InvalidFileException, *_CORRUPT) as exc:
        raise SkipFile(f"corrupt XLSX ({type(exc).__name__})") from exc
    try:
        for sheet in workbook.worksheets:
            add_rows(builder, (sheet.title,), _rows(sheet, budget))
            if budget.cut:
                break
    except _CORRUPT as exc:
        raise SkipFile(f"corrupt XLSX ({type(exc).__name__})") from exc
    finally:
        workbook.close()
    return LoadedDocument(builder.blocks, [budget.cut] if budget.cut else [])
