"""OCR with the real Tesseract: scanned PDF pages and images in English, Bulgarian and Russian are found
by search with their page numbers, the summary names the pages read by OCR, and every bad input or
missing piece gets a clear reason."""

from __future__ import annotations

import io
import json
import re
import shutil
from pathlib import Path

import numpy as np
import pytest
from PIL import Image, ImageDraw, ImageFont, ImageOps
from pypdf import PdfReader, PdfWriter

from rag.config import OcrSettings, Settings
from rag.i18n import Text
from rag.index.embedding import Embedder
from rag.index.store import load_snapshot
from rag.ingest.loaders import SkipFile, is_supported, load_bytes
from rag.ingest.ocr import Ocr, pages_label
from rag.ingest.pipeline import ingest
from rag.web.uploads import SavedUpload, upload_summary
from tests import hostile_documents as hostile
from tests.documents import pdf_bytes, write
from tests.helpers import run_cli

FONT = "/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf"
"""DejaVu Sans has Cyrillic, so the Bulgarian and Russian scans are real text, not boxes."""

ENGLISH = ["The lighthouse keeper counted", "seventeen migrating albatrosses."]
BULGARIAN = ["Пчеларят от Родопите продава", "липов мед на пазара в Пловдив."]
RUSSIAN = ["Смотритель маяка записал", "прилет журавлей в дневник."]
RUSSIAN_2 = ["Геологи нашли крупный янтарь", "на берегу холодного озера."]
ORCHARD = ["The orchard near the monastery", "grows apricots and quinces."]
BLACKSMITH = ["Ковачът в селото изкова", "нови подкови за конете."]
LIBRARY = ["Библиотекарь нашёл старинные", "рукописи о морских путешествиях."]
POSTER = ["Volunteers repaired the", "wooden footbridge."]
MIXED_TEXT = ["The committee approved new bicycle lanes along the river embankment.", "Page three lists the budget."]


def scan(lines: list[str], size: tuple[int, int] = (1700, 700), font_size: int = 48) -> Image.Image:
    """Black text on white, as a scanner gives it: pixels only, no text layer."""
    image = Image.new("L", size, 255)
    draw = ImageDraw.Draw(image)
    font = ImageFont.truetype(FONT, font_size)
    for row, line in enumerate(lines):
        draw.text((font_size * 2, font_size * 2 + row * font_size * 8 // 5), line, font=font, fill=0)
    return image


def encoded(image: Image.Image, kind: str, *frames: Image.Image) -> bytes:
    out = io.BytesIO()
    image.save(out, kind, save_all=bool(frames), append_images=list(frames), resolution=200.0)
    return out.getvalue()


def page(lines: list[str]) -> Image.Image:
    """An A4 page at 200 dpi."""
    return scan(lines, (1654, 2339), 44)


def mixed_pdf() -> bytes:
    """Page 1 and 3 have a text layer; page 2 is a scan."""
    text = PdfReader(io.BytesIO(pdf_bytes(MIXED_TEXT)))
    scanned = PdfReader(io.BytesIO(encoded(page(LIBRARY), "PDF")))
    writer = PdfWriter()
    for source in (text.pages[0], scanned.pages[0], text.pages[1]):
        writer.add_page(source)
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue()


pytestmark = pytest.mark.ocr  # Tesseract and poppler (make system-deps); left out by make test-fast


@pytest.fixture(scope="module", autouse=True)
def tesseract_installed() -> None:
    assert shutil.which("tesseract") and shutil.which("pdftoppm"), "install the OCR packages: make system-deps"


@pytest.fixture(scope="module")
def scans(tmp_path_factory: pytest.TempPathFactory) -> Path:
    data = tmp_path_factory.mktemp("scans") / "data"
    write(data, "scan-en.png", encoded(scan(ENGLISH), "PNG"))
    write(data, "сканиране.jpg", encoded(scan(BULGARIAN).convert("RGB"), "JPEG"))
    write(data, "протокол.tiff", encoded(scan(RUSSIAN), "TIFF", scan(RUSSIAN_2)))
    blank = Image.new("L", (1654, 2339), 255)
    write(data, "scanned.pdf", encoded(page(ORCHARD), "PDF", blank, page(BLACKSMITH)))
    write(data, "mixed.pdf", mixed_pdf())
    poster = scan(POSTER, (7000, 7000), 200)  # 49 megapixels: read scaled down to the 25 megapixel cap
    write(data, "poster.png", encoded(poster, "PNG"))
    write(data, "blank.png", encoded(Image.new("L", (900, 600), 255), "PNG"))
    whole = encoded(scan(ENGLISH), "PNG")
    write(data, "torn.png", whole[: len(whole) // 2])
    write(data, "not-an-image.tif", b"This is a text file that only calls itself a TIFF.\n" * 20)
    write(data, "giant.png", encoded(Image.new("1", (12_000, 8_000), 1), "PNG"))  # 96 megapixels
    return data


@pytest.mark.slow  # commands in their own processes, loading the encoder
def test_scans_are_found_by_search_with_their_pages(scans: Path, tmp_path: Path) -> None:
    index = tmp_path / "index"
    result = run_cli("-m", "ingest", "--data", str(scans), "--index", str(index))
    output = result.stdout + result.stderr
    assert result.returncode == 0, output
    print(output)
    lines = [line.strip() for line in output.splitlines()]

    def line_for(kind: str, name: str) -> str:
        found = [line for line in lines if line.startswith(f"{kind}: {name}: ")]
        assert len(found) == 1, f"{kind} {name}\n{output}"
        return found[0]

    assert line_for("note", "scanned.pdf").startswith("note: scanned.pdf: pages 1, 3 read by OCR (")
    assert line_for("note", "mixed.pdf").startswith("note: mixed.pdf: page 2 read by OCR (")
    assert line_for("note", "протокол.tiff").startswith("note: протокол.tiff: pages 1, 2 read by OCR (")
    assert line_for("note", "scan-en.png").startswith("note: scan-en.png: read by OCR (")
    assert line_for("skipped", "blank.png").endswith(": OCR found no text")
    assert "corrupt image (image file is truncated" in line_for("skipped", "torn.png")
    assert line_for("skipped", "not-an-image.tif").endswith(": not a readable PNG, JPEG or TIFF image")
    assert "image too large (12000x8000 pixels; the limit is 89 megapixels)" in line_for("skipped", "giant.png")

    expected = [  # query, source, page, a word the passage must contain
        ("lighthouse keeper albatrosses", "scan-en.png", None, "albatrosses"),
        ("липов мед на пазара в Пловдив", "сканиране.jpg", None, "Пловдив"),
        ("смотритель маяка журавлей", "протокол.tiff", 1, "журавлей"),
        ("янтарь на берегу озера", "протокол.tiff", 2, "янтарь"),
        ("orchard apricots quinces", "scanned.pdf", 1, "apricots"),
        ("ковачът изкова подкови", "scanned.pdf", 3, "подкови"),
        ("библиотекарь рукописи путешествиях", "mixed.pdf", 2, "рукописи"),
        ("bicycle lanes river embankment", "mixed.pdf", 1, "bicycle"),
        ("volunteers repaired wooden footbridge", "poster.png", None, "footbridge"),
    ]
    queries = "".join(query + "\n" for query, *_ in expected)
    searched = run_cli("-m", "rag.search", "--index", str(index), "--json", stdin=queries)
    assert searched.returncode == 0, searched.stderr
    for (query, source, number, word), line in zip(expected, searched.stdout.splitlines(), strict=True):
        best = json.loads(line)[0]
        assert (best["source"], best["page"]) == (source, number), (query, best)
        assert word.lower() in best["text"].lower(), (query, best)


def test_ocr_becomes_available_and_scans_are_read_again(tmp_path: Path, embedder: Embedder) -> None:
    """A scan skipped because Tesseract was missing is read once it is there; turning OCR off keeps its text."""
    data, index = tmp_path / "data", tmp_path / "index"
    write(data, "scan-en.png", encoded(scan(ENGLISH), "PNG"))
    write(data, "scanned.pdf", encoded(page(ORCHARD), "PDF"))
    write(data, "mixed.pdf", mixed_pdf())

    def run(**environ: str):
        return ingest(Settings.from_env(environ, data_dir=data, index_dir=index), embedder=embedder)

    missing = run(TESSERACT_CMD="/nonexistent/tesseract")
    install = "install tesseract-ocr to read scanned pages and images ('/nonexistent/tesseract' not found)"
    assert dict(missing.skipped) == {
        "scan-en.png": f"image needs OCR; {install}",
        "scanned.pdf": f"no text layer; {install}",
    }
    assert ("mixed.pdf", f"page 2 has no text layer; {install}") in missing.notes
    assert {c.page for c in load_snapshot(index).chunks.values()} == {1, 3}

    unchanged = run(OCR="off")
    assert not unchanged.written and sorted(unchanged.unchanged) == ["mixed.pdf", "scan-en.png", "scanned.pdf"]

    found = run()
    assert sorted(found.added) == ["scan-en.png", "scanned.pdf"] and found.updated == ["mixed.pdf"]
    assert not found.skipped
    pages = {(c.source, c.page) for c in load_snapshot(index).chunks.values()}
    assert pages == {("scan-en.png", None), ("scanned.pdf", 1), ("mixed.pdf", 1), ("mixed.pdf", 2), ("mixed.pdf", 3)}

    kept = run(OCR="off")
    assert not kept.written and not kept.skipped
    assert {(c.source, c.page) for c in load_snapshot(index).chunks.values()} == pages

    fresh = ingest(
        Settings.from_env({"OCR": "off"}, data_dir=data, index_dir=tmp_path / "index-off"), embedder=embedder
    )
    assert dict(fresh.skipped) == {
        "scan-en.png": "image needs OCR; OCR is off",
        "scanned.pdf": "no text layer; OCR is off",
    }
    assert ("mixed.pdf", "page 2 has no text layer; OCR is off") in fresh.notes


def test_each_page_is_bounded_in_time_and_memory() -> None:
    image = encoded(scan(ENGLISH), "PNG")
    timeout = Ocr(Settings.from_env({"OCR_PAGE_TIMEOUT": "0.01"}).ocr)
    with pytest.raises(SkipFile, match=r"^OCR failed \(timed out after 0\.01 s\)$"):
        load_bytes(image, ".png", timeout)
    memory = Ocr(Settings.from_env({"OCR_MEMORY_MB": "100"}).ocr)  # an A4 page at 300 dpi needs about 140 MB
    with pytest.raises(SkipFile, match=r"OCR failed \(tesseract needed more than 100 MB \(OCR_MEMORY_MB\)\)"):
        load_bytes(encoded(scan(ENGLISH, (2480, 3508)), "PNG"), ".png", memory)
    with pytest.raises(SkipFile, match=r"OCR failed on page 1 \(timed out after 0\.01 s\)"):
        load_bytes(encoded(page(ORCHARD), "PDF"), ".pdf", timeout)
    fine = load_bytes(image, ".png", Ocr(OcrSettings()))
    assert "albatrosses" in fine.blocks[-1].text


def test_each_file_is_bounded_in_time_and_names_the_pages_left_unread() -> None:
    """A 500-page scan would hold the run for hours: past the file's budget its other pages are left, named."""
    tiny = Ocr(Settings.from_env({"OCR_FILE_BUDGET": "0.001"}).ocr)
    frames = [scan(ORCHARD), *(scan(ENGLISH) for _ in range(40))]
    tiff = load_bytes(encoded(frames[0], "TIFF", *frames[1:]), ".tiff", tiny)
    assert "apricots" in " ".join(block.text for block in tiff.blocks) and "albatrosses" not in tiff.blocks[-1].text
    assert "pages 2-41 not read: the file's OCR time (0.001 s, OCR_FILE_BUDGET) was spent" in tiff.notes
    pdf = load_bytes(encoded(page(ORCHARD), "PDF", page(ENGLISH), page(RUSSIAN)), ".pdf", tiny)
    assert {block.page for block in pdf.blocks} == {1}
    assert "pages 2, 3 not read: the file's OCR time (0.001 s, OCR_FILE_BUDGET) was spent" in pdf.notes
    whole = load_bytes(encoded(page(ORCHARD), "PDF", page(ENGLISH)), ".pdf", Ocr(OcrSettings()))
    assert {block.page for block in whole.blocks} == {1, 2}


def test_transparent_sixteen_bit_and_rotated_images_are_read() -> None:
    """Text on a transparent background is on white paper, 16-bit samples are scaled, and a photo's
    EXIF orientation is applied before reading."""
    ocr = Ocr(OcrSettings())
    transparent = Image.new("LA", (1700, 700), (0, 0))
    transparent.paste(Image.new("LA", (1700, 700), (0, 255)), mask=ImageOps.invert(scan(ENGLISH)))
    sixteen = Image.fromarray(np.asarray(scan(RUSSIAN_2), dtype=np.uint16) * 177 + 20_000)  # clipped: all white
    assert sixteen.mode.startswith("I;16")
    exif = Image.Exif()
    exif[0x0112] = 6  # the camera was turned: show the picture rotated 90 degrees clockwise
    turned = io.BytesIO()
    scan(BULGARIAN).convert("RGB").transpose(Image.Transpose.ROTATE_90).save(turned, "JPEG", exif=exif)
    for data, suffix, word in (
        (encoded(transparent, "PNG"), ".png", "albatrosses"),
        (encoded(sixteen, "TIFF"), ".tiff", "янтарь"),
        (turned.getvalue(), ".jpg", "Пловдив"),
    ):
        text = " ".join(block.text for block in load_bytes(data, suffix, ocr).blocks)
        assert word in text, (suffix, text)


def test_a_page_that_is_one_huge_image_is_rendered_outside_this_process(tmp_path: Path) -> None:
    """Decoded, the page's image takes 400 MB; pdftoppm streams it in a child process under the memory
    limit, so the process reading the PDF (a fresh one, so its peak is its own) stays small."""
    path = hostile.image_bomb_pdf(tmp_path)
    code = (
        "import json, re, sys\n"
        "from rag.config import OcrSettings\nfrom rag.ingest.loaders import Ocr, SkipFile, load_bytes\n"
        "try:\n    load_bytes(open(sys.argv[1], 'rb').read(), '.pdf', Ocr(OcrSettings())); reason = None\n"
        "except SkipFile as exc:\n    reason = str(exc)\n"
        "peak = int(re.search(r'VmHWM:\\s*(\\d+)', open('/proc/self/status').read()).group(1)) // 1024\n"
        "print(json.dumps([reason, peak]))"
    )
    result = run_cli("-c", code, str(path))
    assert result.returncode == 0, result.stderr
    reason, peak_mb = json.loads(result.stdout)
    print(f"{path.stat().st_size // 1024} KB PDF of a 400 MB image: peak {peak_mb} MB in the reading process")
    assert reason == "no text layer; OCR found no text"
    assert peak_mb < 200


def test_missing_language_data_names_the_package() -> None:
    ocr = Ocr(Settings.from_env({"OCR_LANGUAGES": "eng+chi_sim"}).ocr)
    with pytest.raises(SkipFile, match=r"install tesseract-ocr-chi-sim \(Tesseract has no chi_sim language data"):
        load_bytes(encoded(scan(ENGLISH), "PNG"), ".png", ocr)
    with pytest.raises(ValueError, match="OCR must be auto or off"):
        Settings.from_env({"OCR": "sometimes"})


def test_images_are_supported_uploads_and_pages_are_labelled() -> None:
    assert all(is_supported(suffix) for suffix in (".png", ".JPG", ".jpeg", ".tif", ".tiff", ".pdf"))
    assert not is_supported(".gif")
    assert pages_label([5, 2, 3, 4, 9]) == "pages 2-5, 9"
    assert pages_label([2, 3]) == "pages 2, 3"
    assert pages_label([7]) == "page 7"
    assert pages_label([None]) == ""


def test_the_upload_report_says_which_pages_were_read_by_ocr_and_how_long_it_took(
    tmp_path: Path, embedder: Embedder
) -> None:
    data = tmp_path / "data"
    write(data, "uploads/scanned.pdf", encoded(page(ORCHARD), "PDF"))
    report = ingest(Settings(data_dir=data, index_dir=tmp_path / "index"), embedder=embedder)
    saved = [SavedUpload("uploads/scanned.pdf", Text.of("upload.saved_new", path="uploads/scanned.pdf"))]
    summary = upload_summary(saved, report, "en")
    assert re.search(r"- uploads/scanned\.pdf: page 1 read by OCR \(\d+\.\d s\)", summary), summary
    assert "Indexed: 1 new, 0 updated." in summary
