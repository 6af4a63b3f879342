"""Hostile inputs for ingestion, written into a folder: `python -m tests.hostile_documents DIR`.

Each builder writes one attack and returns what a correct ingestion does with it, so tests (and
the benchmark in bench/hostile_inputs.py) can check the outcome.
"""

from __future__ import annotations

import argparse
import io
import os
import random
import string
import zipfile
import zlib
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import docx

from tests.documents import write

MERGER = "The merger with Northwind closes on the ninth of March at a price of 41 euros per share."
SECRET = "The vault combination is kept by the night porter of the west wing."
PLANS = "Plans for the relocation of the bakery to the harbour district stay confidential."
CAFE = "The café on the corner serves cardamom buns every Thursday."
FORGED = "The file with a forged summary line in its name talks about lighthouse keepers."
DEEP = "The innermost division holds the text about migrating cranes."
RTF_FACT = "The ferry to the lighthouse island leaves at half past seven."
CSV_FACT = "a reading of 4242 after the storm"


@dataclass
class Expected:
    """What one ingestion of the hostile folder must do.

    `indexed`: source -> a phrase found in its chunks; `skipped`: source -> words of its reason;
    `private`: phrases that may only appear in chunks of local-only sources.
    """

    indexed: dict[str, str] = field(default_factory=dict)
    skipped: dict[str, str] = field(default_factory=dict)
    private: list[str] = field(default_factory=list)

    def merge(self, other: Expected) -> Expected:
        return Expected(
            {**self.indexed, **other.indexed}, {**self.skipped, **other.skipped}, self.private + other.private
        )


def symlinks_into_private(folder: Path) -> Expected:
    """`aa-link -> private/deep` (sorted before `private/`, so it is met first) and `notes.md -> private/secret.md`."""
    write(folder, "private/deep/merger.md", f"# Merger\n\n{MERGER}\n")
    write(folder, "private/secret.md", f"# Vault\n\n{SECRET}\n")
    (folder / "aa-link").symlink_to(Path("private") / "deep", target_is_directory=True)
    (folder / "notes.md").symlink_to(Path("private") / "secret.md")
    return Expected({"private/deep/merger.md": MERGER, "private/secret.md": SECRET}, private=[MERGER, SECRET])


def mixed_case_private(folder: Path) -> Expected:
    """`Private/` is the private folder too, whatever the letter case."""
    write(folder, "Private/plans.md", f"# Plans\n\n{PLANS}\n")
    return Expected({"Private/plans.md": PLANS}, private=[PLANS])


def non_utf8_name(folder: Path) -> Expected:
    """A Latin-1 file name (b'caf\\xe9.txt'), as old archives and some network shares still produce."""
    folder.mkdir(parents=True, exist_ok=True)
    with open(os.fsencode(folder) + b"/caf\xe9.txt", "w", encoding="utf-8") as out:
        out.write(CAFE + "\n")
    return Expected({"caf\\xe9.txt": CAFE})


FORGED_NAME = "lighthouse\n  skipped: every-other-file.md: forged\x1b[2K.md"
"""A newline and an ANSI 'erase line' escape: printed raw, this name would forge and hide summary lines."""


def newline_name(folder: Path) -> Expected:
    write(folder, FORGED_NAME, FORGED + "\n")
    return Expected({FORGED_NAME: FORGED})


def long_line(folder: Path, size: int = 512 * 1024) -> Expected:
    """One line of `size` letters and digits with no space: one unknown "word" to the tokenizer."""
    text = "".join(random.Random(size).choices(string.ascii_letters + string.digits, k=size))
    write(folder, "long-line.txt", text)
    return Expected({"long-line.txt": text[size // 2 : size // 2 + 40]})


def many_paragraphs_docx(folder: Path, paragraphs: int = 2000) -> Expected:
    """A DOCX of many plain paragraphs (python-docx's style lookup per paragraph made this quadratic)."""
    document = docx.Document()
    document.add_heading("Inventory", level=1)
    for number in range(paragraphs):
        document.add_paragraph(f"Shelf {number} holds item number {number} of the inventory.")
    out = io.BytesIO()
    document.save(out)
    write(folder, "many-paragraphs.docx", out.getvalue())
    last = paragraphs - 1
    return Expected({"many-paragraphs.docx": f"Shelf {last} holds item number {last}"})


def nested_html(folder: Path, depth: int = 12_000) -> Expected:
    """Divisions nested `depth` deep, deeper than Python's recursion limit."""
    page = "<html><head><title>Deep</title></head><body>" + "<div>" * depth + DEEP + "</div>" * depth
    write(folder, "nested.html", page + "</body></html>")
    return Expected({"nested.html": DEEP})


def flate_bomb_pdf(folder: Path, megabytes: int = 200) -> Expected:
    """A one-page PDF of a few hundred KB whose content stream inflates to `megabytes` MB of spaces."""
    compressor = zlib.compressobj(9)
    parts = [compressor.compress(b"BT /F1 12 Tf 72 720 Td (Inflated) Tj ET\n")]
    blank = b" " * 2**20
    parts.extend(compressor.compress(blank) for _ in range(megabytes))
    stream = b"".join(parts) + compressor.flush()
    objects = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Contents 4 0 R"
        b" /Resources << /Font << /F1 5 0 R >> >> >>",
        b"<< /Length %d /Filter /FlateDecode >>\nstream\n%s\nendstream" % (len(stream), stream),
        b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>",
    ]
    write(folder, "bomb.pdf", _pdf_file(objects))
    return Expected(skipped={"bomb.pdf": "decompression bomb"})


def image_bomb_pdf(folder: Path, side: int = 20_000) -> Path:
    """A one-page PDF of under a megabyte whose page is one white `side` x `side` grey image (400 MB decoded)."""
    compressor = zlib.compressobj(9)
    row = b"\xff" * side
    stream = b"".join(compressor.compress(row) for _ in range(side)) + compressor.flush()
    objects = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Contents 4 0 R"
        b" /Resources << /XObject << /Im0 5 0 R >> >> >>",
        b"<< /Length 31 >>\nstream\nq 612 0 0 792 0 0 cm /Im0 Do Q\nendstream",
        b"<< /Type /XObject /Subtype /Image /Width %d /Height %d /ColorSpace /DeviceGray /BitsPerComponent 8"
        b" /Length %d /Filter /FlateDecode >>\nstream\n%s\nendstream" % (side, side, len(stream), stream),
    ]
    return write(folder, "image-bomb.pdf", _pdf_file(objects))


def _pdf_file(objects: list[bytes]) -> bytes:
    """A PDF with the given objects (numbered from 1, the first is the catalog) and a valid xref table."""
    out = io.BytesIO()
    out.write(b"%PDF-1.4\n")
    offsets = []
    for number, body in enumerate(objects, start=1):
        offsets.append(out.tell())
        out.write(b"%d 0 obj\n%s\nendobj\n" % (number, body))
    xref = out.tell()
    out.write(b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1))
    out.writelines(b"%010d 00000 n \n" % offset for offset in offsets)
    out.write(b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (len(objects) + 1, xref))
    return out.getvalue()


def hostile_rtf(folder: Path, size: int = 5 * 2**20) -> Expected:
    """An RTF of about `size` bytes aimed at striprtf's two backtracking regexes: a font table of font
    numbers without a character set, then hyperlink-field openings on one line. Each half took
    quadratic time (minutes per megabyte); the paragraph after them must still be found."""
    fonts = "\\f1 " * (size // 8)
    fields = "{\\field{\\*\\fldinst{" * (size // 44)
    text = f"{{\\rtf1\\ansi{{\\fonttbl{fonts}}}{fields}{'}' * (3 * (size // 44))}\\pard {RTF_FACT}\\par}}"
    write(folder, "hostile.rtf", text.encode("ascii"))
    return Expected({"hostile.rtf": RTF_FACT})


def many_rows_csv(folder: Path, rows: int = 2000) -> Expected:
    """A CSV of `rows` records after its header; the last one carries the fact."""
    lines = ["station;reading;note"] + [f"ST-{n};{n * 7 % 1000};routine check" for n in range(1, rows)]
    write(folder, "many-rows.csv", "\n".join([*lines, f"ST-{rows};{CSV_FACT}"]) + "\n")
    return Expected({"many-rows.csv": CSV_FACT})


def zip_bomb_epub(folder: Path, megabytes: int = 300) -> Expected:
    """An EPUB of a few hundred KB whose one chapter inflates to `megabytes` MB of spaces."""
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("mimetype", "application/epub+zip", compress_type=zipfile.ZIP_STORED)
        with archive.open("OEBPS/chapter.xhtml", "w", force_zip64=True) as chapter:
            for _ in range(megabytes):
                chapter.write(b" " * 2**20)
    write(folder, "bomb.epub", out.getvalue())
    return Expected(skipped={"bomb.epub": "zip bomb"})


BUILDERS: list[Callable[[Path], Expected]] = [
    symlinks_into_private,
    mixed_case_private,
    non_utf8_name,
    newline_name,
    long_line,
    many_paragraphs_docx,
    nested_html,
    flate_bomb_pdf,
    hostile_rtf,
    many_rows_csv,
    zip_bomb_epub,
]


def build_all(folder: Path) -> Expected:
    """Every hostile input in one folder, and what one ingestion of it must do."""
    folder.mkdir(parents=True, exist_ok=True)
    expected = Expected()
    for builder in BUILDERS:
        expected = expected.merge(builder(folder))
    return expected


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m tests.hostile_documents", description=__doc__.splitlines()[0])
    parser.add_argument("folder", type=Path, help="where to write them (created if missing)")
    expected = build_all(parser.parse_args().folder)
    print(f"{len(expected.indexed)} files to index, {len(expected.skipped)} to skip with a reason")


if __name__ == "__main__":
    main()
