"""Saving files uploaded in the chat into the data folder, safely."""

from __future__ import annotations

import hashlib
import re
import shutil
import unicodedata
from pathlib import Path

from rag.ingest.loaders import is_supported

UPLOAD_FOLDER = "uploads"
_UNSAFE = re.compile(r"[^\w.\- ()]+", re.UNICODE)


class UploadRejected(Exception):
    """The upload cannot be stored; the message says why."""


def safe_name(original: str) -> str:
    """A plain file name: no folders, no traversal, no control or shell-special characters, not hidden."""
    name = unicodedata.normalize("NFC", original.replace("\\", "/").split("/")[-1])
    name = _UNSAFE.sub("_", name).strip(" .")
    stem, dot, suffix = name.rpartition(".")
    if not dot:
        stem, suffix = name, ""
    stem = stem.strip(" ._")[:120] or "upload"
    return f"{stem}.{suffix.lower()}" if suffix else stem


def _digest(path: Path) -> str:
    hasher = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            hasher.update(block)
    return hasher.hexdigest()


def save_upload(source: Path, original_name: str, data_dir: Path, max_mb: float) -> tuple[Path, bool]:
    """Copy an uploaded file into data/uploads/; returns (path, whether it was new).

    A file with the same name and the same content is reused; a different file with the same
    name gets " (2)", " (3)" ... rather than overwriting it.
    """
    name = safe_name(original_name)
    if not is_supported(Path(name).suffix):
        raise UploadRejected(f"{original_name}: this file type cannot be indexed (use .pdf, .md, .txt, .html or .docx)")
    if source.stat().st_size > max_mb * 2**20:
        raise UploadRejected(f"{original_name}: larger than the {max_mb:g} MB limit")
    folder = data_dir / UPLOAD_FOLDER
    folder.mkdir(parents=True, exist_ok=True)
    stem, suffix = Path(name).stem, Path(name).suffix
    digest = _digest(source)
    for number in range(1, 1000):
        candidate = folder / (name if number == 1 else f"{stem} ({number}){suffix}")
        if not candidate.exists():
            shutil.copyfile(source, candidate)
            return candidate, True
        if _digest(candidate) == digest:
            return candidate, False
    raise UploadRejected(f"{original_name}: too many files with this name")


def save_uploads(files: list[tuple[Path, str]], data_dir: Path, max_mb: float) -> list[str]:
    """Save each (temporary path, name the user gave) and say what became of it, one line per file."""
    lines = []
    for path, name in files:
        try:
            saved, new = save_upload(path, name, data_dir, max_mb)
            lines.append(saved.relative_to(data_dir).as_posix() + ("" if new else " (already there)"))
        except UploadRejected as exc:
            lines.append(f"not saved: {exc}")
    return lines
