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

from openpyxl import load_workbook
from openpyxl.utils.exceptions import InvalidFileException

from rag.ingest.loaders.archive import open_ooxml
from rag.ingest.loaders.base import BlockBuilder, LoadedDocument, SkipFile
from rag.ingest.loaders.table import add_rows, row_text

MAX_CELLS = 10_000_000
"""Cells read from one workbook, counting the empty ones openpyxl fills in. A sheet's row numbers and
widths come from the file, so a few kilobytes could otherwise ask for a billion empty rows."""
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


def load_xlsx(data: bytes) -> LoadedDocument:
    """One table per worksheet, in workbook order; chart sheets have no cells and are left out."""
    open_ooxml(data, "XLSX", parsed_whole=False).close()
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
