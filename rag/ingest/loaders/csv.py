"""CSV: rows in blocks led by the header row, located by row range (the file is the sheet)."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator

from rag.ingest.loaders.base import BlockBuilder, LoadedDocument, SkipFile
from rag.ingest.loaders.table import add_rows, row_text
from rag.ingest.loaders.text import decode_nonempty

SNIFF_CHARS = 4096
"""csv.Sniffer's quote detection takes quadratic time in its sample (measured: 9 s on 48 KB of
`,"a` repeated), so it only sees the first few lines."""
_DELIMITERS = ",;\t|"


def _dialect(text: str) -> type[csv.Dialect]:
    sample = text[:SNIFF_CHARS]
    if len(text) > SNIFF_CHARS and "\n" in sample:
        sample = sample[: sample.rindex("\n")]
    try:
        return csv.Sniffer().sniff(sample, delimiters=_DELIMITERS)
    except csv.Error:
        return csv.excel  # one column, or too little to tell: commas


def _records(text: str, notes: list[str]) -> Iterator[tuple[int, str]]:
    """(record number, row text): a record is one row of the table even when a quoted cell spans lines.

    csv refuses a field over csv.field_size_limit() characters (128 KiB by default), which is what a
    stray quote does to the rest of a file: the rows before it are kept and a note in `notes` says
    where reading stopped, unless no row but the header was read, when the file is skipped with the reason.
    """
    reader = csv.reader(io.StringIO(text, newline=""), _dialect(text))
    number = 0
    try:
        for number, record in enumerate(reader, start=1):
            yield number, row_text(record)
    except csv.Error as exc:
        if number < 2:
            raise SkipFile(f"malformed CSV (record {number + 1}: {exc})") from exc
        notes.append(f"malformed CSV from record {number + 1} on ({exc}): the rest of the file was left out")


def load_csv(data: bytes) -> LoadedDocument:
    """Decoded like text files (charset detection), delimiter sniffed from the first lines."""
    text, notes = decode_nonempty(data)
    builder = BlockBuilder()
    add_rows(builder, (), _records(text, notes))
    return LoadedDocument(builder.blocks, notes)
