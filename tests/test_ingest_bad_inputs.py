"""Every kind of bad input gets a clear line in the summary, and every good file is still indexed."""

from __future__ import annotations

import json
import os
import shutil
import sys
from pathlib import Path

import pytest

from rag.config import Settings
from rag.index.embedding import Embedder
from rag.index.store import load_snapshot
from rag.ingest.pipeline import ingest
from tests.documents import blank_pdf_bytes, encrypted_pdf_bytes, pdf_bytes, write
from tests.helpers import run_cli

GOOD = {
    "good notes.md": "# Notes\n\nThe library opens at nine in the morning.\n",
    "документ с пробелами.txt": "Космические корабли возвращаются на Землю с парашютами.\n",
    "zählung ünïcode.txt": "Die Zählung der Vögel findet jedes Frühjahr statt.\n",
}


@pytest.fixture(scope="module")
def messy(tmp_path_factory: pytest.TempPathFactory) -> Path:
    data = tmp_path_factory.mktemp("messy") / "data"
    for name, text in GOOD.items():
        write(data, name, text)
    write(data, "twin-a.txt", "Twins share the very same sentence about lighthouses.\n")
    write(data, "twin-b.txt", "Twins share the very same sentence about lighthouses.\n")
    write(data, "empty.txt", b"")
    write(data, "zero-pages.pdf", blank_pdf_bytes(0))
    write(data, "scanned.pdf", blank_pdf_bytes(2))
    write(data, "corrupt.pdf", b"%PDF-1.4\n1 0 obj << /Type /Catalog >> garbage\n%%EOF")
    write(data, "locked.pdf", encrypted_pdf_bytes("Secret minutes of the board.", "pw"))
    write(data, "open-lock.pdf", encrypted_pdf_bytes("Encrypted with an empty password but readable.", ""))
    write(data, "report.pdf", pdf_bytes(["First page about glaciers.", "Second page about deserts."]))
    write(data, "image.txt", bytes(range(256)) * 40)
    write(data, "latin1.txt", "Café crème brûlée, déjà vu, naïve façade. ".encode("latin-1") * 3)
    write(
        data,
        "broken-utf8.md",
        "Grüße aus Köln — naïve café, déjà vu. ".encode() + b"\xff\xfe" + b" The rest is fine.\n",
    )
    write(data, "sheet.xlsx", b"PK\x03\x04")
    big = data / "huge.txt"
    with open(big, "wb") as out:
        line = b"A very long log line that repeats to make a fifty megabyte text file.\n"
        for _ in range(50 * 2**20 // len(line) + 1):
            out.write(line)
    (data / "self-loop.txt").symlink_to(data / "self-loop.txt")
    (data / "dangling.md").symlink_to(data / "missing-target.md")
    (data / "sub").mkdir()
    (data / "sub" / "up").symlink_to(data, target_is_directory=True)
    secret = write(data, "unreadable.txt", "You should not be able to read this.\n")
    secret.chmod(0)
    write(data, "locked/inside.txt", "A folder nobody may list hides this file.\n")
    (data / "locked").chmod(0)
    return data


def _run_ingest(data: Path, index: Path) -> tuple[int, str]:
    """Run the real command; as root, without the capability that lets root read any file."""
    command = ["-m", "ingest", "--data", str(data), "--index", str(index)]
    if os.geteuid() == 0 and shutil.which("setpriv"):
        result = run_cli("-c", _DROP_ROOT_READ, *command)
    else:
        result = run_cli(*command)
    return result.returncode, result.stdout + result.stderr


_DROP_ROOT_READ = (
    "import os, sys; "
    "os.execvp('setpriv', ['setpriv', '--bounding-set', '-dac_override,-dac_read_search', "
    f"'--inh-caps', '-all', {sys.executable!r}] + sys.argv[1:])"
)


@pytest.mark.slow  # a command in its own process, loading the encoder
def test_summary_names_every_bad_file_and_indexes_every_good_one(messy: Path, tmp_path: Path) -> None:
    index = tmp_path / "index"
    code, output = _run_ingest(messy, index)
    assert code == 0, output
    expected = {
        "empty.txt": "empty file",
        "zero-pages.pdf": "no pages",
        "scanned.pdf": "no text layer; OCR found no text",
        "corrupt.pdf": "corrupt PDF",
        "locked.pdf": "encrypted",
        "image.txt": "binary",
        "sheet.xlsx": "corrupt XLSX (BadZipFile)",
        "huge.txt": "too large",
        "self-loop.txt": "symlink loop",
        "dangling.md": "broken symlink",
        "sub/up": "symlink loop",
        "unreadable.txt": "permission denied",
        "locked": "folder: permission denied",
    }
    for name, reason in expected.items():
        assert any(line.strip().startswith(f"skipped: {name}: ") and reason in line for line in output.splitlines()), (
            f"{name}: {reason}\n{output}"
        )
    assert "note: twin-b.txt: same content as twin-a.txt" in output
    assert "note: latin1.txt: decoded as" in output
    assert "note: broken-utf8.md: invalid UTF-8" in output
    sources = {c.source for c in load_snapshot(index).chunks.values()}
    assert sources == {*GOOD, "twin-a.txt", "twin-b.txt", "open-lock.pdf", "report.pdf", "latin1.txt", "broken-utf8.md"}
    pages = {c.page for c in load_snapshot(index).chunks.values() if c.source == "report.pdf"}
    assert pages == {1, 2}

    hits = json.loads(run_cli("-m", "rag.search", "--index", str(index), "--json", "lighthouses").stdout)
    assert [h["source"] for h in hits].count("twin-a.txt") + [h["source"] for h in hits].count("twin-b.txt") == 1
    found = json.loads(run_cli("-m", "rag.search", "--index", str(index), "--json", "парашютами").stdout)
    assert found[0]["source"] == "документ с пробелами.txt"


def test_files_deleted_or_changed_while_ingesting(tmp_path: Path, embedder: Embedder) -> None:
    data = tmp_path / "data"
    write(data, "a.txt", "Alpha talks about mountains and snow.\n")
    write(data, "b.txt", "Bravo talks about rivers and bridges.\n")
    write(data, "c.txt", "Charlie talks about deserts and camels.\n")
    settings = Settings(data_dir=data, index_dir=tmp_path / "index")

    def meddle(phase: str, done: int, total: int) -> None:
        if phase == "read" and done == 1:
            (data / "b.txt").unlink()  # b.txt is next in line
            (data / "c.txt").write_text("Charlie now talks about oceans and whales instead.\n")
        if phase == "embed" and done == 0:
            (data / "a.txt").write_text("Alpha was edited while its vectors were being computed.\n")

    report = ingest(settings, progress=meddle, embedder=embedder)
    assert ("b.txt", "deleted during ingestion") in report.skipped
    assert any(path == "c.txt" and "changed during ingestion" in note for path, note in report.notes)
    texts = {c.source: c.text for c in load_snapshot(settings.index_dir).chunks.values()}
    assert set(texts) == {"a.txt", "c.txt"}
    assert "oceans" in texts["c.txt"]
    assert "mountains" in texts["a.txt"]

    after = ingest(settings, embedder=embedder)
    assert after.updated == ["a.txt"]
    assert "c.txt" in after.unchanged and after.embedded == 1
    assert "edited" in {c.source: c.text for c in load_snapshot(settings.index_dir).chunks.values()}["a.txt"]


def test_a_name_that_is_not_utf8_and_its_escape_written_out_stay_two_files(tmp_path: Path, embedder: Embedder) -> None:
    """b'caf\\xe9.txt' is shown as `caf\\xe9.txt`; a file literally named so is another file. Sharing one entry,
    each run replaced one with the other (a new generation every time) and a deleted file stayed searchable."""
    data = tmp_path / "data"
    data.mkdir()
    with open(os.fsencode(data) + b"/caf\xe9.txt", "w", encoding="utf-8") as out:
        out.write("The Latin-1 named file is about cornflowers.\n")
    write(data, "caf\\xe9.txt", "The file named with a backslash is about hedgehogs.\n")
    settings = Settings(data_dir=data, index_dir=tmp_path / "index")
    first = ingest(settings, embedder=embedder)
    assert sorted(first.added) == ["caf\\\\xe9.txt", "caf\\xe9.txt"], first.added
    again = ingest(settings, embedder=embedder)
    assert not again.written and sorted(again.unchanged) == sorted(first.added)
    (data / "caf\\xe9.txt").unlink()
    after = ingest(settings, embedder=embedder)
    assert after.removed == ["caf\\\\xe9.txt"]
    texts = [chunk.text for chunk in load_snapshot(settings.index_dir).chunks.values()]
    assert not any("hedgehogs" in text for text in texts) and any("cornflowers" in text for text in texts)
