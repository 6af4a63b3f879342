"""Each format yields the right text with its page, heading path and exact offsets."""

from __future__ import annotations

import pytest

from rag.ingest.loaders import SkipFile, load_bytes
from tests.documents import blank_pdf_bytes, docx_bytes, encrypted_pdf_bytes, pdf_bytes
from tests.helpers import SAMPLE_DATA


def test_markdown_headings_become_paths_and_offsets_are_exact() -> None:
    source = "# Guide\n\nIntro line.\n\n## Install\n\nRun the installer.\nThen reboot.\n\n```\n# not a heading\n```\n"
    document = load_bytes(source.encode(), ".md")
    by_text = {b.text: b for b in document.blocks}
    assert by_text["Intro line."].heading_path == ("Guide",)
    install = by_text["Run the installer.\nThen reboot."]
    assert install.heading_path == ("Guide", "Install")
    assert source[install.start : install.end] == install.text
    assert any("# not a heading" in b.text for b in document.blocks)
    assert all("not a heading" not in " ".join(b.heading_path) for b in document.blocks)


def test_pdf_keeps_one_based_pages_and_title() -> None:
    document = load_bytes(
        pdf_bytes(["Alpha page text.", "Beta page text.", "Gamma page text."], title="Report"), ".pdf"
    )
    pages = {b.page or 0: b.text for b in document.blocks}
    assert sorted(pages) == [1, 2, 3]
    assert "Beta" in pages[2]
    assert document.blocks[0].heading_path == ("Report",)


def test_sample_pdf_has_five_pages_with_their_text() -> None:
    document = load_bytes((SAMPLE_DATA / "course-handbook.pdf").read_bytes(), ".pdf")
    assert {b.page for b in document.blocks} == {1, 2, 3, 4, 5}
    page_two = " ".join(b.text for b in document.blocks if b.page == 2)
    assert "Time to first token" in page_two


def test_html_keeps_visible_text_only() -> None:
    html = """<html><head><title>T</title><style>.x{color:red}</style><script>var secret = 1;</script></head>
    <body><h1>Top</h1><p>First <b>bold</b> para.</p><div hidden>hidden text</div>
    <h2>Sub</h2><ul><li>item one</li><li>item two</li></ul><!-- a comment --><noscript>enable js</noscript></body></html>"""
    document = load_bytes(html.encode(), ".html")
    text = "\n".join(b.text for b in document.blocks)
    assert "First bold para." in text
    for invisible in ("color:red", "secret", "hidden text", "a comment", "enable js"):
        assert invisible not in text
    items = [b for b in document.blocks if b.text.startswith("item")]
    assert [b.heading_path for b in items] == [("T", "Top", "Sub")] * 2


def test_sample_html_drops_script_content() -> None:
    document = load_bytes((SAMPLE_DATA / "greenhouse-faq.html").read_bytes(), ".html")
    text = " ".join(b.text for b in document.blocks)
    assert "drip irrigation" in text
    assert "tracking-snippet" not in text and "toggleMenu" not in text and "internal build marker" not in text
    assert "Home | Projects" not in text, "navigation menus are boilerplate"


def test_docx_headings_and_tables() -> None:
    data = docx_bytes("Policy", [("Travel", ["Book early."]), ("Money", ["Keep receipts."])], [("Domestic", "45")])
    document = load_bytes(data, ".docx")
    by_text = {b.text: b for b in document.blocks}
    assert by_text["Book early."].heading_path == ("Policy", "Travel")
    assert by_text["Keep receipts."].heading_path == ("Policy", "Money")
    assert by_text["Domestic | 45"].heading_path == ("Policy", "Money")


def test_non_utf8_text_is_detected() -> None:
    text = "Метеостанция измеряет температуру и влажность воздуха каждые пять минут. " * 5
    document = load_bytes(text.encode("cp1251"), ".txt")
    assert "Метеостанция" in document.blocks[0].text
    assert any("cp1251" in note or "windows_1251" in note for note in document.notes)


def test_invalid_utf8_is_replaced_not_fatal() -> None:
    data = "Grüße aus Köln — naïve café, déjà vu. ".encode() + b"\xff\xfe" + b" The rest is fine."
    document = load_bytes(data, ".txt")
    assert document.blocks[0].text == "Grüße aus Köln — naïve café, déjà vu. \ufffd\ufffd The rest is fine."
    assert document.notes == ["invalid UTF-8: 2 undecodable byte sequence(s) replaced"]


@pytest.mark.parametrize(
    ("data", "suffix", "reason"),
    [
        (b"", ".txt", "empty file"),
        (b"   \n\n\t ", ".md", "only whitespace"),
        (b"\x00\x01\x02binary\x00" * 100, ".txt", "binary"),
        (blank_pdf_bytes(0), ".pdf", "no pages"),
        (blank_pdf_bytes(2), ".pdf", "no text layer; OCR is off"),
        (b"%PDF-1.7\n garbage that is not a pdf \x00\x01", ".pdf", "corrupt PDF"),
        (encrypted_pdf_bytes("Top secret plans.", "s3cret"), ".pdf", "encrypted"),
        (b"PK\x03\x04 not really a zip", ".docx", "corrupt DOCX"),
        (b"some text", ".xls", "unsupported file type"),
        (b"some text", ".xlsx", "corrupt XLSX"),
    ],
)
def test_bad_input_is_skipped_with_a_reason(data: bytes, suffix: str, reason: str) -> None:
    with pytest.raises(SkipFile, match=reason):
        load_bytes(data, suffix)


def test_pdf_encrypted_with_empty_password_opens() -> None:
    document = load_bytes(encrypted_pdf_bytes("Readable although encrypted.", ""), ".pdf")
    assert "Readable although encrypted." in document.blocks[0].text
