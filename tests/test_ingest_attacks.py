"""Hostile inputs: each is indexed correctly or skipped with a one-line reason, in linear time, and
no local-only text is ever indexed under a shareable name."""

from __future__ import annotations

import io
import json
import re
import subprocess
import time
import zipfile
from itertools import pairwise
from pathlib import Path

import docx
import pytest

from rag.config import Settings
from rag.index.embedding import Embedder
from rag.index.records import ChunkRecord
from rag.index.retrieval import Retriever
from rag.index.store import load_snapshot
from rag.ingest.chunking import CHARS_PER_TOKEN, Chunker
from rag.ingest.loaders import SkipFile, load_bytes
from rag.ingest.loaders.base import MAX_HEADING_CHARS
from rag.ingest.loaders.docx import MAX_SPAN
from rag.ingest.pipeline import IngestReport, ingest
from rag.ingest.report import format_report, printable
from rag.privacy.rules import PrivacyRules
from tests import hostile_documents as hostile
from tests.documents import docx_bytes, odt_bytes, pdf_bytes, pptx_bytes, write, xlsx_bytes
from tests.helpers import run_cli


def _ingest(data: Path, embedder: Embedder) -> tuple[Settings, IngestReport]:
    settings = Settings(data_dir=data, index_dir=data.parent / "index")
    return settings, ingest(settings, embedder=embedder, privacy=PrivacyRules())


def _chunks(settings: Settings) -> list[ChunkRecord]:
    return list(load_snapshot(settings.index_dir).chunks.values())


def _summary_lines(report: IngestReport, kind: str, name: str) -> list[str]:
    return [line for line in format_report(report).splitlines() if line.startswith(f"  {kind}: {printable(name)}: ")]


@pytest.mark.slow  # every hostile file of the suite, OCR included: about 100 s
def test_whole_hostile_folder_in_one_run(tmp_path: Path, embedder: Embedder) -> None:
    expected = hostile.build_all(tmp_path / "data")
    settings, report = _ingest(tmp_path / "data", embedder)
    assert report.written
    chunks = _chunks(settings)
    texts: dict[str, str] = {}
    for chunk in chunks:
        texts[chunk.source] = texts.get(chunk.source, "") + chunk.text
    assert set(texts) == set(expected.indexed), format_report(report)
    for source, phrase in expected.indexed.items():
        assert phrase in texts[source], source
    for source, reason in expected.skipped.items():
        lines = _summary_lines(report, "skipped", source)
        assert len(lines) == 1 and reason in lines[0], format_report(report)
    assert {path for path, _ in report.skipped} == set(expected.skipped)
    rules = PrivacyRules()
    leaks = [c.source for c in chunks if any(p in c.text for p in expected.private) and not rules.is_private(c.source)]
    assert leaks == []
    limit = CHARS_PER_TOKEN * settings.chunk_tokens
    assert max(len(c.text) for c in chunks) <= limit


def test_links_into_private_are_indexed_as_the_private_files(tmp_path: Path, embedder: Embedder) -> None:
    data = tmp_path / "data"
    hostile.symlinks_into_private(data)
    settings, report = _ingest(data, embedder)
    assert report.skipped == []
    assert sorted(report.added) == ["private/deep/merger.md", "private/secret.md"]
    notes = dict(report.notes)
    assert "private/deep" in notes["aa-link"] and "private/secret.md" in notes["notes.md"]
    rules = PrivacyRules()
    for phrase in (hostile.MERGER, hostile.SECRET):
        hits = [h for h in Retriever(settings, embedder).search(phrase, k=5) if phrase in h.text]
        assert hits and all(rules.is_private(h.source) for h in hits), [h.source for h in hits]


def test_name_that_is_not_utf8_is_indexed_and_stays_unchanged(tmp_path: Path, embedder: Embedder) -> None:
    data = tmp_path / "data"
    expected = hostile.non_utf8_name(data)
    write(data, "plain.txt", "A plain file about tulips.\n")
    settings, report = _ingest(data, embedder)
    assert report.written and sorted(report.added) == ["caf\\xe9.txt", "plain.txt"]
    assert "not valid UTF-8" in dict(report.notes)["caf\\xe9.txt"]
    hits = Retriever(settings, embedder).search(expected.indexed["caf\\xe9.txt"], k=1)
    assert hits[0].source == "caf\\xe9.txt"
    again = ingest(settings, embedder=embedder, privacy=PrivacyRules())
    assert not again.written and not (again.added or again.updated or again.removed)
    assert sorted(again.unchanged) == ["caf\\xe9.txt", "plain.txt"]


def test_names_with_control_characters_cannot_forge_summary_lines(tmp_path: Path, embedder: Embedder) -> None:
    data = tmp_path / "data"
    hostile.newline_name(data)
    write(data, "таблица\nskipped: forged.md: nothing.xlsx", b"PK\x03\x04")
    write(data, "отчёт.md", "# Отчёт\n\nКвартальный отчёт о продажах.\n")
    _, report = _ingest(data, embedder)
    summary = format_report(report)
    assert "\x1b" not in summary
    assert not [
        line for line in summary.splitlines() if line.lstrip().startswith(("skipped: every-other", "skipped: forged"))
    ]
    assert "  added: lighthouse\\n  skipped: every-other-file.md: forged\\x1b[2K.md" in summary.splitlines()
    assert "  added: отчёт.md" in summary.splitlines()
    assert _summary_lines(report, "skipped", "таблица\nskipped: forged.md: nothing.xlsx")
    assert len(summary.splitlines()) == 2 + len(report.added) + len(report.skipped) + len(report.notes)


def test_docx_of_many_paragraphs_loads_in_linear_time(tmp_path: Path) -> None:
    expected = hostile.many_paragraphs_docx(tmp_path, paragraphs=20_000)
    started = time.process_time()
    document = load_bytes((tmp_path / "many-paragraphs.docx").read_bytes(), ".docx")
    print(f"DOCX of 20,000 paragraphs: {time.process_time() - started:.2f} s CPU")
    assert len(document.blocks) == 20_000
    assert document.blocks[-1].text.startswith(expected.indexed["many-paragraphs.docx"])
    assert document.blocks[-1].heading_path == ("Inventory",)


@pytest.mark.parametrize("depth", [10_000, 100_000])
def test_deeply_nested_html_loads_without_recursion_errors(tmp_path: Path, depth: int) -> None:
    hostile.nested_html(tmp_path, depth)
    started = time.process_time()
    document = load_bytes((tmp_path / "nested.html").read_bytes(), ".html")
    print(f"HTML nested {depth} deep: {time.process_time() - started:.2f} s CPU")
    assert [block.text for block in document.blocks] == [hostile.DEEP]
    assert document.blocks[0].heading_path == ("Deep",)


def test_a_long_line_without_spaces_becomes_bounded_chunks(tmp_path: Path, embedder: Embedder) -> None:
    hostile.long_line(tmp_path, size=2 * 2**20)
    text = (tmp_path / "long-line.txt").read_text()
    started = time.process_time()
    chunks = Chunker(embedder, 200, 40).chunk(load_bytes(text.encode(), ".txt").blocks)
    print(f"2 MB line: {len(chunks)} chunks in {time.process_time() - started:.2f} s CPU")
    assert max(len(c.text) for c in chunks) <= CHARS_PER_TOKEN * 200
    assert all(text[c.start : c.end] == c.text for c in chunks)
    assert chunks[0].start == 0 and chunks[-1].end == len(text)
    assert all(after.start <= before.end for before, after in pairwise(chunks))


def test_flate_bomb_is_skipped_with_what_happened(tmp_path: Path, embedder: Embedder) -> None:
    data = tmp_path / "data"
    hostile.flate_bomb_pdf(data, megabytes=200)
    write(data, "fine.txt", "A fine file about herons.\n")
    settings, report = _ingest(data, embedder)
    assert report.skipped == [("bomb.pdf", "page content too large when decompressed (possible decompression bomb)")]
    assert {c.source for c in _chunks(settings)} == {"fine.txt"}


def test_flate_bomb_memory_stays_bounded(tmp_path: Path) -> None:
    """A 600 MB bomb is read in a fresh process whose peak memory must stay far below 600 MB."""
    hostile.flate_bomb_pdf(tmp_path, megabytes=600)
    code = (  # VmHWM, unlike ru_maxrss, is not inherited from the (large) test process across fork and exec
        "import json, re, sys; from rag.ingest.loaders import SkipFile, load_bytes\n"
        "data = open(sys.argv[1], 'rb').read()\n"
        "try:\n    load_bytes(data, '.pdf'); reason = None\nexcept SkipFile as exc:\n    reason = str(exc)\n"
        "peak = int(re.search(r'VmHWM:\\s*(\\d+)', open('/proc/self/status').read()).group(1)) // 1024\n"
        "print(json.dumps([reason, peak]))"
    )
    result = run_cli("-c", code, str(tmp_path / "bomb.pdf"))
    reason, peak_mb = json.loads(result.stdout)
    print(f"peak memory reading a 600 MB Flate bomb: {peak_mb} MB")
    assert "decompression bomb" in reason
    assert peak_mb < 400


_READER = """
import json, sys
from pathlib import Path
from rag.ingest.chunking import Chunker
from rag.ingest.loaders import load_bytes

class FourCharactersAToken:
    def count_many(self, texts):
        return [len(text) // 4 + 1 for text in texts]

    def token_spans(self, text, max_tokens):
        return [(i, min(i + 4 * max_tokens, len(text))) for i in range(0, len(text), 4 * max_tokens)]

path = Path(sys.argv[1])
parts = load_bytes(path.read_bytes(), path.suffix).blocks
if sys.argv[2:] == ["chunk"]:
    parts = Chunker(FourCharactersAToken(), 200, 40).chunk(parts)
print(json.dumps([[part.text, part.heading_path, part.start, part.end] for part in parts]))
"""


def _read_in_time(path: Path, *, chunk: bool = False) -> list[tuple[str, list[str], int, int]]:
    """(text, heading path, start, end) of each block, or chunk, of the file at `path`, read in a fresh
    process that must finish within 20 s: linear code takes well under a second on the inputs below,
    quadratic code minutes. Not a thread: a regular expression holds the GIL for its whole search."""
    try:
        result = run_cli("-c", _READER, str(path), *(["chunk"] if chunk else []), timeout=20)
    except subprocess.TimeoutExpired:
        pytest.fail(f"reading {path.name} did not finish in 20 s (quadratic time?)")
    assert result.returncode == 0, result.stderr[-3000:]
    return [(text, heading_path, start, end) for text, heading_path, start, end in json.loads(result.stdout)]


def test_runs_of_sentence_marks_are_chunked_in_linear_time(tmp_path: Path) -> None:
    text = "Marks follow" + ("." * 50_000 + "!?…" * 15_000 + "x") * 2 + " and the end."
    chunks = _read_in_time(write(tmp_path, "marks.txt", text), chunk=True)
    assert all(text[start:end] == chunk for chunk, _, start, end in chunks)
    assert chunks[0][2] == 0 and chunks[-1][3] == len(text)
    assert max(len(chunk) for chunk, *_ in chunks) <= CHARS_PER_TOKEN * 200


def test_a_line_of_only_spaces_is_read_in_linear_time(tmp_path: Path) -> None:
    text = "First paragraph.\n" + " " * 300_000 + "\nSecond paragraph.\n"
    blocks = _read_in_time(write(tmp_path, "spaces.txt", text))
    assert [block for block, *_ in blocks] == ["First paragraph.", "Second paragraph."]
    assert all(text[start:end] == block for block, _, start, end in blocks)


def test_a_long_line_of_heading_marks_is_read_in_linear_time(tmp_path: Path) -> None:
    text = "# Title" + " #" * 100_000 + " x\n\nBody under the heading.\n"
    [(block, [heading], _, _)] = _read_in_time(write(tmp_path, "marks.md", text))
    assert block == "Body under the heading."
    assert heading.startswith("Title # # #") and heading.endswith("…")


LONG_HEADING = "Q" * 100_000


@pytest.mark.parametrize(
    ("data", "suffix"),
    [
        (f"# {LONG_HEADING}\n\nBody text.\n".encode(), ".md"),
        (f"<h1>{LONG_HEADING}</h1><p>Body text.</p>".encode(), ".html"),
        (docx_bytes("Title", [(LONG_HEADING, ["Body text."])]), ".docx"),
        (odt_bytes(f'<text:h text:outline-level="1">{LONG_HEADING}</text:h><text:p>Body text.</text:p>'), ".odt"),
        (pdf_bytes(["Body text."], title=LONG_HEADING), ".pdf"),
        (pptx_bytes([(LONG_HEADING, ["Body text."], "")]), ".pptx"),
    ],
)
def test_every_heading_is_cut_to_a_bounded_length(data: bytes, suffix: str) -> None:
    document = load_bytes(data, suffix)
    body = next(b for b in document.blocks if b.text == "Body text.")
    assert body.heading_path[-1] == "Q" * (MAX_HEADING_CHARS - 1) + "…"
    assert all(len(h) <= MAX_HEADING_CHARS for b in document.blocks for h in b.heading_path)


def _merged_column_docx(rows: int) -> bytes:
    """A table whose first column is one cell merged down all `rows` rows, the second a reading per row."""
    document = docx.Document()
    table = document.add_table(rows=rows, cols=2)
    for number, row in enumerate(table.rows):
        first, second = row.cells
        first._tc.vMerge = "restart" if number == 0 else "continue"
        second.text = f"reading {number}"
    table.cell(0, 0).text = "Station A"
    out = io.BytesIO()
    document.save(out)
    return out.getvalue()


def test_docx_table_with_a_long_merged_column_loads_in_linear_time(tmp_path: Path) -> None:
    [(block, *_)] = _read_in_time(write(tmp_path, "merged.docx", _merged_column_docx(3000)))
    assert block.splitlines() == [f"Station A | reading {n}" for n in range(3000)]


def test_docx_cell_spanning_millions_of_columns_is_written_a_bounded_number_of_times() -> None:
    document = docx.Document()
    cell = document.add_table(rows=1, cols=1).cell(0, 0)
    cell.text = "wide"
    cell._tc.grid_span = 10_000_000
    out = io.BytesIO()
    document.save(out)
    (block,) = load_bytes(out.getvalue(), ".docx").blocks
    assert block.text == " | ".join(["wide"] * MAX_SPAN)


def test_odt_tables_nested_deep_give_each_text_once() -> None:
    body = "<text:p>innermost text</text:p>"
    for level in range(60):
        cell = f"<table:table-cell><text:p>level {level}</text:p>{body}</table:table-cell>"
        body = f"<table:table><table:table-row>{cell}</table:table-row></table:table>"
    document = load_bytes(odt_bytes(body), ".odt")
    text = "\n".join(b.text for b in document.blocks)
    assert text.count("innermost text") == 1
    assert all(text.count(f"level {level} ") == 1 for level in range(60))


def _xlsx_with_parts(members: dict[str, bytes], content_types: bytes = b"") -> bytes:
    """An ordinary workbook with `members` added or replaced, and `content_types` declared."""
    members = dict(members)
    source = zipfile.ZipFile(io.BytesIO(xlsx_bytes({"Readings": [["station", "value"], ["ST-1", 4]]})))
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as archive:
        for info in source.infolist():
            data = members.pop(info.filename, None) or source.read(info.filename)
            if info.filename == "[Content_Types].xml":
                data = data.replace(b"</Types>", content_types + b"</Types>")
            archive.writestr(info.filename, data)
        for name, data in members.items():
            archive.writestr(name, data)
    return out.getvalue()


SHARED_STRINGS_TYPE = b"application/vnd.openxmlformats-officedocument.spreadsheetml.sharedStrings+xml"
SST = b'<sst xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main">'


def test_xlsx_of_too_many_shared_strings_is_skipped_before_openpyxl_reads_them() -> None:
    strings = SST + b"<si><t>a</t></si>" * 1_300_000 + b"</sst>"
    declared = b'<Override PartName="/xl/words.xml" ContentType="' + SHARED_STRINGS_TYPE + b'"/>'
    data = _xlsx_with_parts({"xl/words.xml": strings}, declared)
    assert len(data) < 200_000
    with pytest.raises(SkipFile, match=re.escape("XLSX shared strings hold over 2,500,000 XML elements")):
        load_bytes(data, ".xlsx")


def test_xlsx_of_too_many_styles_is_skipped_before_openpyxl_reads_them() -> None:
    source = zipfile.ZipFile(io.BytesIO(xlsx_bytes({"S": [["x"]]})))
    styles = re.sub(rb"<cellXfs count=\"\d+\">", b"<cellXfs>" + b"<xf/>" * 400_001, source.read("xl/styles.xml"))
    with pytest.raises(SkipFile, match=re.escape("XLSX styles hold over 400,000 XML elements")):
        load_bytes(_xlsx_with_parts({"xl/styles.xml": styles}), ".xlsx")


def test_xlsx_shared_strings_under_the_limit_are_read() -> None:
    strings = SST + b"<si><t>station</t></si><si><t>Lighthouse</t></si></sst>"
    declared = b'<Override PartName="/xl/words.xml" ContentType="' + SHARED_STRINGS_TYPE + b'"/>'
    sheet = (
        b'<worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main"><sheetData>'
        b'<row r="1"><c r="A1" t="s"><v>0</v></c></row><row r="2"><c r="A2" t="s"><v>1</v></c></row>'
        b"</sheetData></worksheet>"
    )
    data = _xlsx_with_parts({"xl/words.xml": strings, "xl/worksheets/sheet1.xml": sheet}, declared)
    assert [b.text for b in load_bytes(data, ".xlsx").blocks] == ["station\nLighthouse"]


def test_csv_with_an_unterminated_quote_keeps_the_rows_before_it() -> None:
    rows = ["station,reading"] + [f"ST-{n},{n * 7}" for n in range(1, 1002)]
    text = "\n".join([*rows, 'ST-X,"never closed', "x" * 200_000]) + "\n"
    document = load_bytes(text.encode(), ".csv")
    lines = [line for b in document.blocks for line in b.text.splitlines() if line != "station | reading"]
    assert lines == [f"ST-{n} | {n * 7}" for n in range(1, 1002)]
    assert document.notes == [
        "malformed CSV from record 1003 on (field larger than field limit (131072)): the rest of the file was left out"
    ]
