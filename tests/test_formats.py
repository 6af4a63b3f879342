"""PPTX, XLSX, CSV, EPUB, ODT and RTF: text with its location, and every kind of bad file skipped with a reason."""

from __future__ import annotations

import datetime
import io
import itertools
import random
import re
import tomllib
import zipfile
from collections.abc import Sequence
from pathlib import Path

import docx
import pptx
import pytest
from docx.oxml import parse_xml
from docx.oxml.ns import nsdecls
from pptx.util import Inches

from rag.index.embedding import Embedder
from rag.ingest.chunking import Chunker
from rag.ingest.loaders import SkipFile, is_supported, load_bytes
from rag.ingest.loaders import xlsx as xlsx_loader
from rag.ingest.loaders.table import MAX_BLOCK_ROWS
from rag.web.uploads import save_upload
from tests import hostile_documents as hostile
from tests.documents import (
    docx_bytes,
    encrypted_office_bytes,
    epub_bytes,
    odt_bytes,
    pptx_bytes,
    rtf_bytes,
    write,
    xlsx_bytes,
    zip_bytes,
)
from tests.helpers import ROOT, run_cli

NEW_SUFFIXES = (".pptx", ".xlsx", ".csv", ".epub", ".odt", ".rtf")
ROW_RANGE = re.compile(r"^rows? (\d+)(?:–(\d+))?$")


def _rows(heading: str) -> tuple[int, int]:
    match = ROW_RANGE.match(heading)
    assert match, heading
    return int(match.group(1)), int(match.group(2) or match.group(1))


def _deck() -> bytes:
    return pptx_bytes(
        [
            (
                "Quarterly review",
                ["Revenue grew in every region", "Churn fell to four percent"],
                "Thank the sales team.",
            ),
            ("Hiring plan", ["Two testers in May"], ""),
            ("", ["A slide without a title"], "Remember the parking permits."),
        ],
        table=[["Team", "Head count"], ["Platform", "12"]],
    )


def test_pptx_slides_are_pages_with_title_body_table_and_notes() -> None:
    blocks = load_bytes(_deck(), ".pptx").blocks
    assert [(b.page, b.heading_path, b.text) for b in blocks] == [
        (1, ("Quarterly review",), "Revenue grew in every region\nChurn fell to four percent"),
        (1, ("Quarterly review",), "Notes: Thank the sales team."),
        (2, ("Hiring plan",), "Two testers in May"),
        (3, (), "A slide without a title"),
        (3, (), "Team | Head count\nPlatform | 12"),
        (3, (), "Notes: Remember the parking permits."),
    ]


def test_pptx_slide_with_only_a_title_is_found_by_it() -> None:
    blocks = load_bytes(pptx_bytes([("Intro", ["Welcome"], ""), ("Part two: logistics", [], "")]), ".pptx").blocks
    assert [(b.page, b.text) for b in blocks] == [(1, "Welcome"), (2, "Part two: logistics")]


def test_xlsx_blocks_repeat_the_header_and_name_sheet_and_rows() -> None:
    rows: list[list[object]] = [["City", "Visitors", "Opened", "Open late"]]
    rows += [[f"Town {n}", n * 1000 + 0.25, datetime.date(2020, 1, 1 + n % 28), n % 2 == 0] for n in range(1, 61)]
    rows[10] = [None]  # an empty row keeps its number
    data = xlsx_bytes({"Museums": rows, "Totals": [["Total", "=SUM(Museums!B2:B61)"]], "Blank": []})
    blocks = load_bytes(data, ".xlsx").blocks
    museums = [b for b in blocks if b.heading_path[0] == "Museums"]
    assert all(b.page is None and len(b.heading_path) == 2 for b in blocks)
    assert all(b.text.startswith("City | Visitors | Opened | Open late\n") for b in museums)
    ranges = [_rows(b.heading_path[1]) for b in museums]
    assert ranges[0][0] == 2 and ranges[-1][1] == 61
    assert all(later[0] > earlier[1] for earlier, later in itertools.pairwise(ranges)), ranges
    assert sum(len(b.text.splitlines()) - 1 for b in museums) == 59, "every non-empty row once"
    for block, (first, last) in zip(museums, ranges, strict=True):
        lines = block.text.splitlines()[1:]
        assert lines[0].startswith(f"Town {first - 1} | ") and lines[-1].startswith(f"Town {last - 1} | ")
    text = "\n".join(b.text for b in museums)
    assert "Town 2 | 2000.25 | 2020-01-03 | TRUE" in text and "Town 10 |" not in text
    # Formulas are not evaluated: a file written without cached values has no value to show.
    assert [(b.heading_path, b.text) for b in blocks if b.heading_path[0] == "Totals"] == [
        (("Totals", "row 1"), "Total")
    ]


def test_table_blocks_fit_one_chunk_each(embedder: Embedder) -> None:
    """Dense tables (long numbers, codes, Cyrillic) make one chunk per block, so no chunk lacks the header."""
    rng = random.Random(7)
    sheets: dict[str, Sequence[Sequence[object]]] = {
        "Measurements 2024 (final)": [["Station", "Time", "Temperature", "Humidity", "Pressure"]]
        + [
            [
                f"ST-{rng.randint(1000, 9999)}-B{rng.randint(10, 99)}",
                datetime.datetime(2024, 5, 1, 12, rng.randint(0, 59)),
            ]
            + [rng.uniform(-1000, 1000) for _ in range(3)]
            for _ in range(150)
        ],
        "Служители": [["Име", "Фамилия", "Отдел", "Град", "Заплата"]]
        + [
            [rng.choice(["Иван", "Мария"]), rng.choice(["Петрова", "Георгиев"]), "Счетоводство", "Пловдив", 4200]
            for _ in range(150)
        ],
        "Words": [["Product", "Colour", "Status"]] + [["Widget Pro", "blue", "shipping delayed"] for _ in range(150)],
        "Flags": [["Code", "Set"]] + [[chr(65 + n % 26), "yes"] for n in range(150)],
    }
    blocks = load_bytes(xlsx_bytes(sheets), ".xlsx").blocks
    chunks = Chunker(embedder, 200, 40).chunk(blocks)
    assert [(c.heading_path, c.text) for c in chunks] == [(b.heading_path, b.text) for b in blocks]
    assert max(len(b.text.splitlines()) - 1 for b in blocks) == MAX_BLOCK_ROWS, "short rows fill a block"


def test_csv_sniffs_the_delimiter_and_keeps_quoted_line_breaks() -> None:
    data = 'name;city;note\r\nAna;Sofia;"first line\r\nsecond line"\r\n\r\nBoris;"Varna; port";ok\r\n'
    blocks = load_bytes(data.encode(), ".csv").blocks
    assert [(b.heading_path, b.text) for b in blocks] == [
        (("rows 2–4",), "name | city | note\nAna | Sofia | first line second line\nBoris | Varna; port | ok")
    ]


def test_csv_in_a_legacy_encoding_is_decoded_with_a_note() -> None:
    data = "Град,Население\nСофия,1200000\nПловдив,340000\n".encode("cp1251")
    document = load_bytes(data, ".csv")
    assert document.blocks[0].text == "Град | Население\nСофия | 1200000\nПловдив | 340000"
    assert document.notes and "1251" in document.notes[0]


def test_csv_of_many_rows_is_cut_into_consecutive_ranges(tmp_path: Path) -> None:
    expected = hostile.many_rows_csv(tmp_path, rows=200_000)
    blocks = load_bytes((tmp_path / "many-rows.csv").read_bytes(), ".csv").blocks
    ranges = [_rows(b.heading_path[0]) for b in blocks]
    assert ranges[0][0] == 2 and ranges[-1][1] == 200_001
    assert all(later[0] == earlier[1] + 1 for earlier, later in itertools.pairwise(ranges))
    assert all(b.text.startswith("station | reading | note\n") for b in blocks)
    assert expected.indexed["many-rows.csv"] in blocks[-1].text


@pytest.mark.parametrize("nav", [True, False], ids=["epub3-nav", "epub2-ncx"])
def test_epub_chapters_in_spine_order_under_their_titles(nav: bool) -> None:
    chapters = [
        ("", "<p>Cover: a novel in three parts.</p>"),
        ("The Harbour", "<h1>The Harbour</h1><p>Boats came in at dawn.</p><h2>Nets</h2><p>Nets dried on the pier.</p>"),
        ("", "<p>The harbour chapter goes on in a second file.</p>"),
        ("The Storm", "<p>Rain hammered the roofs.</p><script>alert(1)</script>"),
    ]
    blocks = load_bytes(epub_bytes("Tides", chapters, nav=nav), ".epub").blocks
    assert [(b.heading_path, b.text) for b in blocks] == [
        (("Tides",), "Cover: a novel in three parts."),
        (("Tides", "The Harbour"), "Boats came in at dawn."),
        (("Tides", "The Harbour", "Nets"), "Nets dried on the pier."),
        (("Tides", "The Harbour"), "The harbour chapter goes on in a second file."),
        (("Tides", "The Storm"), "Rain hammered the roofs."),
    ]


def test_epub_with_only_obfuscated_fonts_is_not_drm() -> None:
    encryption = (
        '<encryption xmlns="urn:oasis:names:tc:opendocument:xmlns:container"'
        ' xmlns:enc="http://www.w3.org/2001/04/xmlenc#"><enc:EncryptedData>'
        '<enc:EncryptionMethod Algorithm="http://www.idpf.org/2008/embedding"/>'
        '<enc:CipherData><enc:CipherReference URI="OEBPS/fonts/serif.otf"/></enc:CipherData>'
        "</enc:EncryptedData></encryption>"
    )
    data = epub_bytes("Fonts", [("One", "<p>Readable text.</p>")], extra={"META-INF/encryption.xml": encryption})
    assert [b.text for b in load_bytes(data, ".epub").blocks] == ["Readable text."]


def test_epub_reads_a_chapter_the_spine_lists_many_times_once() -> None:
    data = epub_bytes("Loop", [("Only", "<p>Said once.</p>")])
    archive = zipfile.ZipFile(io.BytesIO(data))
    members: dict[str, bytes | str] = {name: archive.read(name) for name in archive.namelist()}
    opf = archive.read("OEBPS/content.opf").decode()
    members["OEBPS/content.opf"] = opf.replace('<itemref idref="c1"/>', '<itemref idref="c1"/>' * 50_000)
    assert [b.text for b in load_bytes(zip_bytes(members), ".epub").blocks] == ["Said once."]


def test_odt_headings_paragraphs_lists_and_tables_in_order() -> None:
    body = (
        '<text:p text:style-name="P1">Field Guide</text:p>'
        '<text:h text:outline-level="1">Birds</text:h>'
        '<text:p>Herons<text:s/>wade<text:s text:c="2"/>in shallow water.<text:line-break/>Quietly.'
        "<office:annotation><text:p>reviewer comment</text:p></office:annotation></text:p>"
        "<text:list><text:list-item><text:p>Grey heron</text:p></text:list-item></text:list>"
        '<text:h text:outline-level="2">Sizes</text:h>'
        "<table:table><table:table-row><table:table-cell><text:p>Species</text:p></table:table-cell>"
        "<table:table-cell><text:p>Wingspan</text:p></table:table-cell></table:table-row>"
        '<table:table-row table:number-rows-repeated="1000000"><table:table-cell><text:p>Heron</text:p>'
        '</table:table-cell><table:table-cell table:number-columns-repeated="16000"><text:p>1.9 m</text:p>'
        "</table:table-cell></table:table-row></table:table>"
        '<text:h text:outline-level="1">Trees</text:h><text:section><text:p>Oaks grow slowly.</text:p></text:section>'
    )
    blocks = load_bytes(odt_bytes(body), ".odt").blocks
    assert [(b.heading_path, b.text) for b in blocks] == [
        (("Field Guide", "Birds"), "Herons wade  in shallow water.\nQuietly."),
        (("Field Guide", "Birds"), "Grey heron"),
        (("Field Guide", "Birds", "Sizes"), "Species | Wingspan\nHeron | 1.9 m"),
        (("Field Guide", "Trees"), "Oaks grow slowly."),
    ]


def test_odt_counts_from_the_file_stay_small() -> None:
    huge = "9" * 5000
    body = (
        f'<text:h text:outline-level="{huge}">Heading</text:h>'
        f'<text:p>a<text:s text:c="999999"/>b<text:s text:c="{huge}"/>c<text:s text:c="²"/>d</text:p>'
    )
    blocks = load_bytes(odt_bytes(body), ".odt").blocks
    assert [(b.heading_path, b.text) for b in blocks] == [(("Heading",), "a" + " " * 100 + "b c d")]


def test_rtf_paragraphs_unicode_and_code_page_escapes() -> None:
    data = rtf_bytes(["First paragraph.", "Второй абзац на русском.", "Braces {kept} and back\\slash."], 1251)
    text = "\n".join(b.text for b in load_bytes(data, ".rtf").blocks)
    assert text == "First paragraph.\nВторой абзац на русском.\nBraces {kept} and back\\slash."
    escaped = (
        b"{\\rtf1\\ansi\\ansicpg1251{\\fonttbl{\\f0\\fcharset204 Arial;}}\\f0 \\'cf\\'f0\\'e8\\'e2\\'e5\\'f2\\par}"
    )
    assert load_bytes(escaped, ".rtf").blocks[0].text == "Привет"


def test_rtf_hyperlink_keeps_its_text() -> None:
    data = (
        b'{\\rtf1\\ansi See {\\field{\\*\\fldinst{HYPERLINK "https://example.org/x"}}'
        b"{\\fldrslt{the timetable}}} for ferries.\\par}"
    )
    assert load_bytes(data, ".rtf").blocks[0].text == "See the timetable for ferries."


def test_hostile_rtf_is_read_whole(tmp_path: Path) -> None:
    """5 MB built against striprtf's regexes (quadratic before they were defused: hours at this size)."""
    expected = hostile.hostile_rtf(tmp_path)
    assert (tmp_path / "hostile.rtf").stat().st_size > 5_000_000
    blocks = load_bytes((tmp_path / "hostile.rtf").read_bytes(), ".rtf").blocks
    assert [b.text for b in blocks] == [expected.indexed["hostile.rtf"]]


def test_xlsx_with_a_billion_empty_rows_is_cut_with_a_note(monkeypatch: pytest.MonkeyPatch) -> None:
    data = xlsx_bytes({"Log": [["When", "What"], ["Monday", "Boiler serviced"], ["Tuesday", "Roof checked"]]})
    archive = zipfile.ZipFile(io.BytesIO(data))
    members: dict[str, bytes | str] = {name: archive.read(name) for name in archive.namelist()}
    sheet = archive.read("xl/worksheets/sheet1.xml").decode()
    members["xl/worksheets/sheet1.xml"] = sheet.replace('<row r="3"', '<row r="1000000000"').replace(
        'r="A3"', 'r="A1000000000"'
    )
    monkeypatch.setattr(xlsx_loader, "MAX_CELLS", 100_000)
    document = load_bytes(zip_bytes(members, stored=()), ".xlsx")
    assert [(b.heading_path, b.text) for b in document.blocks] == [
        (("Log", "row 2"), "When | What\nMonday | Boiler serviced")
    ]
    assert len(document.notes) == 1 and re.fullmatch(
        r"sheet 'Log' read up to row 99\d{3}: over 100,000 cells in the workbook", document.notes[0]
    ), document.notes


def test_pptx_of_many_slides_numbers_every_page() -> None:
    deck = pptx_bytes([(f"Slide {n}", [f"Point {n}"], f"Say {n}") for n in range(1, 301)])
    blocks = load_bytes(deck, ".pptx").blocks
    assert [b.page for b in blocks] == [n for n in range(1, 301) for _ in range(2)]
    assert blocks[-1].text == "Notes: Say 300" and blocks[-1].heading_path == ("Slide 300",)


def _drm_epub() -> bytes:
    encryption = (
        '<encryption xmlns="urn:oasis:names:tc:opendocument:xmlns:container"'
        ' xmlns:enc="http://www.w3.org/2001/04/xmlenc#"><enc:EncryptedData>'
        '<enc:EncryptionMethod Algorithm="http://www.w3.org/2001/04/xmlenc#aes128-cbc"/>'
        '<enc:CipherData><enc:CipherReference URI="OEBPS/text/chapter%201.xhtml"/></enc:CipherData>'
        "</enc:EncryptedData></encryption>"
    )
    return epub_bytes("Locked", [("One", "<p>Bought text.</p>")], extra={"META-INF/encryption.xml": encryption})


def _ole_file() -> bytes:
    """The start of a legacy binary Office file (.xls, .ppt) that was renamed."""
    return b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + bytes(4096)


@pytest.mark.parametrize(
    ("data", "suffix", "reason"),
    [
        (b"PK\x03\x04 not really a zip", ".pptx", "corrupt PPTX"),
        (b"PK\x03\x04 not really a zip", ".xlsx", "corrupt XLSX"),
        (b"PK\x03\x04 not really a zip", ".epub", "corrupt EPUB"),
        (b"PK\x03\x04 not really a zip", ".odt", "corrupt ODT"),
        (zip_bytes({"[Content_Types].xml": "<Types/>"}), ".pptx", "corrupt PPTX"),
        (zip_bytes({"[Content_Types].xml": "<Types/>"}), ".xlsx", "corrupt XLSX"),
        (zip_bytes({"mimetype": "application/epub+zip"}), ".epub", "corrupt EPUB (no package document)"),
        (zip_bytes({"content.xml": "<office:document-content"}), ".odt", "corrupt ODT (malformed XML"),
        (b"Just some words, no RTF header.", ".rtf", "corrupt RTF"),
        (b"{\\rtf1 \\uc \\u65 text}", ".rtf", "corrupt RTF"),
        (b"\x00\x01\x02\x03binary\x00" * 50, ".csv", "binary"),
        (b'name,note\nAna,"unclosed quote\n' + b"x" * 200_000, ".csv", "malformed CSV (record 2: field larger"),
        (_ole_file(), ".pptx", "old binary Office file"),
        (_ole_file(), ".xlsx", "old binary Office file"),
        (encrypted_office_bytes(pptx_bytes([("Secret", ["Plans"], "")]), "pw"), ".pptx", "encrypted PPTX"),
        (encrypted_office_bytes(xlsx_bytes({"S": [["Secret"]]}), "pw"), ".xlsx", "encrypted XLSX"),
        (_drm_epub(), ".epub", "encrypted EPUB (DRM)"),
        (odt_bytes("<text:p>Secret</text:p>", encrypted=True), ".odt", "encrypted ODT"),
        (encrypted_office_bytes(docx_bytes("Secret", [("Plans", ["Move"])]), "pw"), ".docx", "encrypted DOCX"),
        *[(b"", suffix, "empty file") for suffix in NEW_SUFFIXES],
        (pptx_bytes([]), ".pptx", "presentation has no slides"),
        (xlsx_bytes({"Empty": []}), ".xlsx", "no text found"),
        (epub_bytes("Nothing", []), ".epub", "no text found"),
        (odt_bytes(""), ".odt", "no text found"),
        (b"{\\rtf1\\ansi }", ".rtf", "no text found"),
        (b" \r\n \r\n", ".csv", "only whitespace"),
    ],
)
def test_bad_input_is_skipped_with_a_reason(data: bytes, suffix: str, reason: str) -> None:
    with pytest.raises(SkipFile, match=re.escape(reason)):
        load_bytes(data, suffix)


@pytest.mark.parametrize("suffix", [".epub", ".odt", ".xlsx", ".pptx", ".docx"])
def test_zip_bomb_is_refused_before_inflating(tmp_path: Path, suffix: str) -> None:
    hostile.zip_bomb_epub(tmp_path, megabytes=300)
    with pytest.raises(SkipFile, match=r"inflates to 300 MB, over the 256 MB limit \(possible zip bomb\)"):
        load_bytes((tmp_path / "bomb.epub").read_bytes(), suffix)


@pytest.mark.parametrize("suffix", [".epub", ".odt", ".pptx", ".docx"])
def test_one_part_too_large_to_parse_whole_is_refused(tmp_path: Path, suffix: str) -> None:
    hostile.zip_bomb_epub(tmp_path, megabytes=40)
    with pytest.raises(
        SkipFile, match=r"part OEBPS/chapter.xhtml inflates to 40 MB, over the 32 MB limit for one part"
    ):
        load_bytes((tmp_path / "bomb.epub").read_bytes(), suffix)


def test_xlsx_sheets_are_streamed_so_only_the_total_is_bounded(tmp_path: Path) -> None:
    hostile.zip_bomb_epub(tmp_path, megabytes=40)
    with pytest.raises(SkipFile, match=r"^corrupt XLSX"):  # no workbook in it, but not refused for its size
        load_bytes((tmp_path / "bomb.epub").read_bytes(), ".xlsx")


def test_epub_without_its_table_of_contents_still_reads_its_chapters() -> None:
    data = epub_bytes("Torn", [("Lost title", "<p>The text survives.</p>")])
    archive = zipfile.ZipFile(io.BytesIO(data))
    members: dict[str, bytes | str] = {n: archive.read(n) for n in archive.namelist() if n != "OEBPS/nav.xhtml"}
    assert [(b.heading_path, b.text) for b in load_bytes(zip_bytes(members), ".epub").blocks] == [
        (("Torn",), "The text survives.")
    ]


def test_uploads_accept_the_new_formats(tmp_path: Path) -> None:
    """The server keeps them, and the browser's file picker offers them."""
    config = tomllib.loads((ROOT / ".chainlit" / "config.toml").read_text(encoding="utf-8"))
    accepted = {
        suffix for suffixes in config["features"]["spontaneous_file_upload"]["accept"].values() for suffix in suffixes
    }
    source = write(tmp_path, "upload.bin", b"content")
    for suffix in NEW_SUFFIXES:
        assert is_supported(suffix) and is_supported(suffix.upper()) and suffix in accepted
        saved, new = save_upload(source, f"Report{suffix.upper()}", tmp_path / "data", 25)
        assert new and saved.name == f"Report{suffix}"


FACTS = {
    "deck.pptx": ("How many testers are hired in May?", "deck.pptx, page 2", "[Hiring plan]"),
    "museums.xlsx": ("Town 37 visitors", "museums.xlsx", "[Museums > rows "),
    "ferries.csv": ("ferry to Nessebar departure", "ferries.csv", "[rows 2–3]"),
    "tides.epub": ("rain hammered the roofs", "tides.epub", "[Tides > The Storm]"),
    "guide.odt": ("herons wade in shallow water", "guide.odt", "[Field Guide > Birds]"),
    "letter.rtf": ("When does the lighthouse ferry leave?", "letter.rtf", ""),
}


@pytest.mark.slow  # two command processes, each loading the encoder
def test_ingest_and_search_find_a_fact_in_each_format_with_its_location(tmp_path: Path) -> None:
    data, index = tmp_path / "data", tmp_path / "index"
    write(data, "deck.pptx", _deck())
    write(
        data,
        "museums.xlsx",
        xlsx_bytes({"Museums": [["City", "Visitors"]] + [[f"Town {n}", n * 1000] for n in range(1, 80)]}),
    )
    write(data, "ferries.csv", "Route,Departure\nFerry to Nessebar,08:15\nFerry to Sozopol,09:40\n")
    write(data, "tides.epub", epub_bytes("Tides", [("The Storm", "<p>Rain hammered the roofs of the harbour.</p>")]))
    write(
        data,
        "guide.odt",
        odt_bytes(
            '<text:p text:style-name="P1">Field Guide</text:p><text:h>Birds</text:h><text:p>Herons wade in shallow water.</text:p>'
        ),
    )
    write(data, "letter.rtf", rtf_bytes([hostile.RTF_FACT]))
    result = run_cli("-m", "ingest", "--data", str(data), "--index", str(index))
    assert result.returncode == 0, result.stdout + result.stderr
    assert ", skipped 0;" in result.stdout and all(f"added: {name}" in result.stdout for name in FACTS), result.stdout
    questions = "\n".join(question for question, _, _ in FACTS.values()) + "\n"
    search = run_cli("-m", "rag.search", "--index", str(index), "--k", "1", stdin=questions)
    assert search.returncode == 0, search.stderr
    answers = search.stdout.strip().split("\n\n")
    assert len(answers) == len(FACTS), search.stdout
    for (name, (_, where, section)), answer in zip(FACTS.items(), answers, strict=True):
        top = answer.splitlines()[1]
        assert top.startswith(f"1. {where}  score") and section in top, (name, answer)
    first, last = _rows(re.search(r"\[Museums > (rows? [^\]]+)\]", answers[1]).group(1))  # type: ignore[union-attr]
    assert first <= 38 <= last, "Town 37 is on row 38"


def _without_geometry(deck: bytes, slide: int) -> bytes:
    """The deck with one slide's text box stripped of its geometry and text-box mark, as some exporters write
    it: python-pptx cannot tell what kind of shape that is."""
    source, out = zipfile.ZipFile(io.BytesIO(deck)), io.BytesIO()
    with zipfile.ZipFile(out, "w") as target:
        for item in source.infolist():
            data = source.read(item)
            if item.filename == f"ppt/slides/slide{slide}.xml":
                xml = data.decode("utf-8").replace(' txBox="1"', "")
                data = re.sub(r"<a:prstGeom.*?</a:prstGeom>", "", xml).encode("utf-8")
            target.writestr(item, data)
    return out.getvalue()


def test_a_pptx_shape_without_geometry_loses_nothing_else() -> None:
    """One shape python-pptx cannot classify used to make the whole deck unreadable."""
    presentation = pptx.Presentation()
    for text in ("Barn owls hunt at dusk.", "Geometry-free note about tawny owls.", "Snowy owls nest on tundra."):
        slide = presentation.slides.add_slide(presentation.slide_layouts[6])
        slide.shapes.add_textbox(Inches(1), Inches(1), Inches(4), Inches(1)).text_frame.text = text
    out = io.BytesIO()
    presentation.save(out)
    blocks = load_bytes(_without_geometry(out.getvalue(), 2), ".pptx").blocks
    assert [(block.page, block.text) for block in blocks] == [
        (1, "Barn owls hunt at dusk."),
        (2, "Geometry-free note about tawny owls."),
        (3, "Snowy owls nest on tundra."),
    ]


def test_docx_content_controls_and_nested_tables_are_read() -> None:
    """A form's filled-in fields (content controls, in the body and inside a paragraph) and a table inside a
    table cell used to be dropped without a word."""
    document = docx.Document()
    document.add_paragraph("Applicant: ")
    outer = document.add_table(rows=1, cols=2)
    outer.cell(0, 0).text = "Budget"
    inner = outer.cell(0, 1).add_table(rows=1, cols=2)
    inner.cell(0, 0).text, inner.cell(0, 1).text = "Telescope", "4,200 EUR"
    body = document.element.body
    inline = parse_xml(
        f"<w:sdt {nsdecls('w')}><w:sdtContent><w:r><w:t>Maria Petrova</w:t></w:r></w:sdtContent></w:sdt>"
    )
    body[0].append(inline)  # inside the first paragraph, after "Applicant: "
    block = parse_xml(
        f'<w:sdt {nsdecls("w")}><w:sdtContent><w:p><w:pPr><w:tabs><w:tab w:val="left" w:pos="720"/></w:tabs></w:pPr>'
        "<w:r><w:t>Project:</w:t><w:tab/><w:t>Observing variable stars</w:t></w:r></w:p></w:sdtContent></w:sdt>"
    )
    body.insert(1, block)
    out = io.BytesIO()
    document.save(out)
    texts = [block.text for block in load_bytes(out.getvalue(), ".docx").blocks]
    assert texts[:2] == ["Applicant: Maria Petrova", "Project:\tObserving variable stars"], texts
    assert "Telescope | 4,200 EUR" in texts[2] and texts[2].startswith("Budget |"), texts
