"""Builders for test documents, good and bad, written with the same libraries users' tools use."""

from __future__ import annotations

import io
import random
import zipfile
from collections.abc import Sequence
from pathlib import Path

import docx
import openpyxl
import pptx
from fpdf import FPDF
from msoffcrypto.format.ooxml import OOXMLFile
from pptx.util import Inches
from pypdf import PdfReader, PdfWriter


def pdf_bytes(pages: list[str], title: str | None = None) -> bytes:
    pdf = FPDF()
    if title:
        pdf.set_title(title)
    pdf.set_font("Helvetica", size=12)
    for text in pages:
        pdf.add_page()
        pdf.multi_cell(0, 6, text)
    return bytes(pdf.output())


def encrypted_pdf_bytes(text: str, password: str) -> bytes:
    writer = PdfWriter(clone_from=PdfReader(io.BytesIO(pdf_bytes([text]))))
    writer.encrypt(user_password=password, owner_password="owner-" + password, algorithm="AES-128")
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue()


def blank_pdf_bytes(pages: int) -> bytes:
    """Pages with no text layer at all, like a scan before OCR (or no pages)."""
    writer = PdfWriter()
    for _ in range(pages):
        writer.add_blank_page(width=595, height=842)
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue()


def docx_bytes(title: str, sections: list[tuple[str, list[str]]], table: list[tuple[str, str]] | None = None) -> bytes:
    document = docx.Document()
    document.add_heading(title, level=0)
    for heading, paragraphs in sections:
        document.add_heading(heading, level=1)
        for paragraph in paragraphs:
            document.add_paragraph(paragraph)
    if table:
        grid = document.add_table(rows=0, cols=2)
        for left, right in table:
            cells = grid.add_row().cells
            cells[0].text, cells[1].text = left, right
    out = io.BytesIO()
    document.save(out)
    return out.getvalue()


def write(folder: Path, name: str, content: bytes | str) -> Path:
    path = folder / name
    path.parent.mkdir(parents=True, exist_ok=True)
    if isinstance(content, str):
        path.write_text(content, encoding="utf-8")
    else:
        path.write_bytes(content)
    return path


def pptx_bytes(slides: list[tuple[str, list[str], str]], table: list[list[str]] | None = None) -> bytes:
    """Title-and-content slides of (title, body lines, speaker notes); `table` is added to the last slide."""
    presentation = pptx.Presentation()
    slide = None
    for title, lines, notes in slides:
        slide = presentation.slides.add_slide(presentation.slide_layouts[1])
        if title:
            slide.shapes.title.text = title
        slide.placeholders[1].text_frame.text = "\n".join(lines)
        if notes:
            slide.notes_slide.notes_text_frame.text = notes
    if table and slide is not None:
        grid = slide.shapes.add_table(len(table), len(table[0]), Inches(1), Inches(4), Inches(6), Inches(2)).table
        for r, row in enumerate(table):
            for c, value in enumerate(row):
                grid.cell(r, c).text = value
    out = io.BytesIO()
    presentation.save(out)
    return out.getvalue()


def xlsx_bytes(sheets: dict[str, Sequence[Sequence[object]]]) -> bytes:
    """A workbook with one sheet per entry, rows written from A1 (None leaves a cell or a whole row empty)."""
    workbook = openpyxl.Workbook()
    workbook.remove(workbook.active)
    for name, rows in sheets.items():
        sheet = workbook.create_sheet(name)
        for number, row in enumerate(rows, start=1):
            for column, value in enumerate(row, start=1):
                if value is not None:
                    sheet.cell(number, column, value)
    out = io.BytesIO()
    workbook.save(out)
    return out.getvalue()


def encrypted_office_bytes(data: bytes, password: str) -> bytes:
    """A DOCX, PPTX or XLSX protected with a password the way Office does it (an OLE file around the zip)."""
    out = io.BytesIO()
    OOXMLFile(io.BytesIO(data)).encrypt(password, out)
    return out.getvalue()


def zip_bytes(members: dict[str, bytes | str], stored: tuple[str, ...] = ("mimetype",)) -> bytes:
    """A zip with its members in the given order, `stored` ones uncompressed (as EPUB and ODF want the mimetype)."""
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as archive:
        for name, content in members.items():
            compression = zipfile.ZIP_STORED if name in stored else zipfile.ZIP_DEFLATED
            archive.writestr(name, content, compress_type=compression)
    return out.getvalue()


EPUB_CONTAINER = """<?xml version="1.0"?>
<container version="1.0" xmlns="urn:oasis:names:tc:opendocument:xmlns:container">
  <rootfiles><rootfile full-path="OEBPS/content.opf" media-type="application/oebps-package+xml"/></rootfiles>
</container>"""


def epub_bytes(
    title: str, chapters: list[tuple[str, str]], *, nav: bool = True, extra: dict[str, bytes | str] | None = None
) -> bytes:
    """An EPUB 3 (with a nav document) or EPUB 2 (NCX) book; `chapters` are (TOC label, XHTML body).

    A chapter whose label is empty is left out of the table of contents.
    """
    items, refs, links, points = [], [], [], []
    members: dict[str, bytes | str] = {"mimetype": "application/epub+zip", "META-INF/container.xml": EPUB_CONTAINER}
    for number, (label, body) in enumerate(chapters, start=1):
        name = f"text/chapter {number}.xhtml"  # a space, percent-encoded in the links
        href = name.replace(" ", "%20")
        members[f"OEBPS/{name}"] = (
            '<?xml version="1.0" encoding="utf-8"?>\n<html xmlns="http://www.w3.org/1999/xhtml">'
            f"<head><title>{title}</title></head><body>{body}</body></html>"
        )
        items.append(f'<item id="c{number}" href="{href}" media-type="application/xhtml+xml"/>')
        refs.append(f'<itemref idref="c{number}"/>')
        if label:
            links.append(f'<li><a href="{href}#start">{label}</a></li>')
            points.append(
                f'<navPoint id="p{number}"><navLabel><text>{label}</text></navLabel><content src="{href}"/></navPoint>'
            )
    if nav:
        items.append('<item id="nav" href="nav.xhtml" media-type="application/xhtml+xml" properties="nav"/>')
        refs.insert(0, '<itemref idref="nav"/>')
        members["OEBPS/nav.xhtml"] = (
            '<html xmlns="http://www.w3.org/1999/xhtml" xmlns:epub="http://www.idpf.org/2007/ops"><body>'
            f'<nav epub:type="toc"><h1>Contents</h1><ol>{"".join(links)}</ol></nav></body></html>'
        )
    else:
        items.append('<item id="ncx" href="toc.ncx" media-type="application/x-dtbncx+xml"/>')
        members["OEBPS/toc.ncx"] = (
            '<ncx xmlns="http://www.daisy.org/z3986/2005/ncx/" version="2005-1">'
            f"<navMap>{''.join(points)}</navMap></ncx>"
        )
    spine = "<spine>" if nav else '<spine toc="ncx">'
    members["OEBPS/content.opf"] = (
        '<package xmlns="http://www.idpf.org/2007/opf" version="3.0">'
        f'<metadata xmlns:dc="http://purl.org/dc/elements/1.1/"><dc:title>{title}</dc:title></metadata>'
        f"<manifest>{''.join(items)}</manifest>{spine}{''.join(refs)}</spine></package>"
    )
    return zip_bytes({**members, **(extra or {})})


ODF_MANIFEST = """<?xml version="1.0" encoding="UTF-8"?>
<manifest:manifest xmlns:manifest="urn:oasis:names:tc:opendocument:xmlns:manifest:1.0" manifest:version="1.2">
 <manifest:file-entry manifest:full-path="/" manifest:media-type="application/vnd.oasis.opendocument.text"/>
 <manifest:file-entry manifest:full-path="content.xml" manifest:media-type="text/xml"{encryption}
</manifest:manifest>"""
ODF_ENCRYPTION = """>
  <manifest:encryption-data manifest:checksum-type="urn:oasis:names:tc:opendocument:xmlns:manifest:1.0#sha256-1k"
   manifest:checksum="c2hhMjU2">
   <manifest:algorithm manifest:algorithm-name="http://www.w3.org/2001/04/xmlenc#aes256-cbc"
    manifest:initialisation-vector="aXY="/>
   <manifest:key-derivation manifest:key-derivation-name="PBKDF2" manifest:key-size="32"
    manifest:iteration-count="100000" manifest:salt="c2FsdA=="/>
  </manifest:encryption-data>
 </manifest:file-entry>"""


def odt_bytes(body: str, *, encrypted: bool = False) -> bytes:
    """An OpenDocument text whose office:text holds `body` (text:, table: and style: prefixes declared).

    Encrypted, it is what an office suite writes with a password: the manifest says how content.xml
    was encrypted, and content.xml is ciphertext.
    """
    content = (
        '<?xml version="1.0" encoding="UTF-8"?>\n<office:document-content'
        ' xmlns:office="urn:oasis:names:tc:opendocument:xmlns:office:1.0"'
        ' xmlns:style="urn:oasis:names:tc:opendocument:xmlns:style:1.0"'
        ' xmlns:text="urn:oasis:names:tc:opendocument:xmlns:text:1.0"'
        ' xmlns:table="urn:oasis:names:tc:opendocument:xmlns:table:1.0" office:version="1.2">'
        '<office:automatic-styles><style:style style:name="P1" style:family="paragraph"'
        ' style:parent-style-name="Title"/></office:automatic-styles>'
        f"<office:body><office:text>{body}</office:text></office:body></office:document-content>"
    )
    manifest = ODF_MANIFEST.format(encryption=ODF_ENCRYPTION if encrypted else "/>")
    return zip_bytes(
        {
            "mimetype": "application/vnd.oasis.opendocument.text",
            "META-INF/manifest.xml": manifest,
            "content.xml": bytes(random.Random(1).randrange(256) for _ in range(2048)) if encrypted else content,
        }
    )


def rtf_bytes(paragraphs: list[str], codepage: int = 1252) -> bytes:
    """RTF as word processors write it: a font table, `\\par` per paragraph, non-ASCII as `\\uN?` escapes."""

    def escape(text: str) -> str:
        plain = text.replace("\\", "\\\\").replace("{", "\\{").replace("}", "\\}")
        return "".join(c if ord(c) < 128 else f"\\u{ord(c) if ord(c) < 32768 else ord(c) - 65536}?" for c in plain)

    body = "".join(f"\\pard {escape(paragraph)}\\par\n" for paragraph in paragraphs)
    header = f"{{\\rtf1\\ansi\\ansicpg{codepage}\\deff0{{\\fonttbl{{\\f0\\fswiss\\fcharset0 Arial;}}}}"
    return f"{header}\n{{\\info{{\\title Hidden metadata}}}}\\f0\\fs24\n{body}}}".encode("ascii")
