"""Spreadsheet rows as blocks: a few rows at a time, each block led by the header row and named by its rows.

A row is understandable alone only next to its column names, and a chunk holds one block, so
every block repeats the header and stays small enough to be one chunk: its heading path is the
sheet and the row range ("Sales > rows 2–14"), which is where a citation points.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from rag.ingest.loaders.base import BlockBuilder

MAX_BLOCK_COST = 400
"""Size of one block, header included, in UTF-8 bytes plus one per digit (see `cost`). A chunk is 200
tokens by default (chunking.py) less its heading path; measured with the embedding model's tokenizer,
table text runs at up to 0.42 tokens per unit of this cost (Cyrillic names, codes such as "ST-4821-B17",
numbers of 15 digits: digits split into pieces of two or three) and English words at 0.21, so a block
fits one chunk with room to spare."""
MAX_BLOCK_ROWS = 25
CELL_SEPARATOR = " | "


def row_text(values: Sequence[str]) -> str:
    """One line per row: cells joined by ' | ', trailing empty cells dropped, line breaks in a cell flattened."""
    end = len(values)
    while end and not values[end - 1].strip():
        end -= 1
    return CELL_SEPARATOR.join(" ".join(value.split()) for value in values[:end])


def cost(text: str) -> int:
    """Bytes plus digits: a rough token count in C-speed string operations."""
    return len(text.encode()) + sum(map(text.count, "0123456789")) + 1


def rows_label(first: int, last: int) -> str:
    return f"row {first}" if first == last else f"rows {first}–{last}"


def add_rows(builder: BlockBuilder, root: tuple[str, ...], rows: Iterable[tuple[int, str]]) -> None:
    """Add the rows of one table, given as (row number, text of the row) in order.

    The first non-empty row is taken as the header; empty rows are skipped but keep their numbers.
    Each block is the header plus as many following rows as fit MAX_BLOCK_COST and MAX_BLOCK_ROWS
    (at least one); memory and time are linear in the number of rows.
    """
    header: str | None = None
    header_row = header_cost = 0
    batch: list[str] = []
    first = last = size = 0

    def flush() -> None:
        builder.add("\n".join([header or "", *batch]), (*root, rows_label(first, last)))
        batch.clear()

    for number, text in rows:
        if not text.strip():
            continue
        row_cost = cost(text)
        if header is None:
            header, header_row, header_cost = text, number, row_cost
            continue
        if batch and (len(batch) >= MAX_BLOCK_ROWS or header_cost + size + row_cost > MAX_BLOCK_COST):
            flush()
            size = 0
        if not batch:
            first = number
        batch.append(text)
        last = number
        size += row_cost
    if batch:
        flush()
    elif header is not None:
        builder.add(header, (*root, rows_label(header_row, header_row)))
