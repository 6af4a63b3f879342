"""Saving files uploaded in the chat into the data folder, safely."""

from __future__ import annotations

import hashlib
import re
import shutil
import unicodedata
from dataclasses import dataclass
from pathlib import Path

from rag.chat.presentation import inert
from rag.i18n import Language, Text, tr
from rag.index.retrieval import PERSONAL_UPLOADS
from rag.ingest.loaders import is_supported, supported_suffixes
from rag.ingest.pipeline import IngestReport
from rag.ingest.report import printable

UPLOAD_FOLDER = "uploads"
_UNSAFE = re.compile(r"[^\w.\- ()]+", re.UNICODE)


def uploads_folder(owner: str) -> str:
    """Where an attachment is saved: the signed-in user's own folder (searched for them only), or the shared one."""
    return f"{PERSONAL_UPLOADS}{owner}" if owner else UPLOAD_FOLDER


class UploadRejected(Exception):
    """The upload cannot be stored; `reason` says why in the reader's language, `str()` in English."""

    def __init__(self, reason: Text) -> None:
        super().__init__(str(reason))
        self.reason = reason


@dataclass(frozen=True)
class SavedUpload:
    """What became of one uploaded file: where it was saved (None: it was not), in words for the chat."""

    path: str | None
    message: Text


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


def save_upload(
    source: Path, original_name: str, data_dir: Path, max_mb: float, folder_name: str = UPLOAD_FOLDER
) -> tuple[Path, bool]:
    """Copy an uploaded file into data/uploads/ (or `folder_name`); returns (path, whether it was new).

    A file with the same name and the same content is reused; a different file with the same
    name gets " (2)", " (3)" ... rather than overwriting it.
    """
    name = safe_name(original_name)
    if not is_supported(Path(name).suffix):
        kinds = ", ".join(supported_suffixes())
        raise UploadRejected(Text.of("upload.unsupported_type", name=original_name, kinds=kinds))
    if source.stat().st_size > max_mb * 2**20:
        raise UploadRejected(Text.of("upload.too_large", name=original_name, limit=max_mb))
    folder = data_dir / folder_name
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
    raise UploadRejected(Text.of("upload.too_many_names", name=original_name))


def save_uploads(
    files: list[tuple[Path, str]], data_dir: Path, max_mb: float, folder_name: str = UPLOAD_FOLDER
) -> list[SavedUpload]:
    """Save each (temporary path, name the user gave) and say what became of it."""
    results = []
    for path, name in files:
        try:
            saved, new = save_upload(path, name, data_dir, max_mb, folder_name)
            relative = saved.relative_to(data_dir).as_posix()
            results.append(
                SavedUpload(relative, Text.of("upload.saved_new" if new else "upload.already_there", path=relative))
            )
        except UploadRejected as exc:
            results.append(SavedUpload(None, Text.of("upload.not_saved", reason=exc.reason)))
    return results


def upload_summary(saved: list[SavedUpload], report: IngestReport, language: Language) -> str:
    """What became of the files attached to a message: the reason for each one not indexed, and how
    each was read where that matters (pages read by OCR, and how long they took)."""
    uploaded = {upload.path for upload in saved if upload.path is not None}
    skipped = [
        "\n- " + tr(language, "upload.skipped", path=printable(path), why=printable(why))
        for path, why in report.skipped
        if path.startswith("uploads/")
    ]
    notes = [
        "\n- " + tr(language, "upload.note", path=printable(path), note=printable(note))
        for path, note in report.notes
        if path in uploaded
    ]
    warnings = ["\n- " + tr(language, "upload.warning", warning=printable(warning)) for warning in report.warnings]
    lines = "\n- ".join(printable(upload.message.render(language)) for upload in saved)
    indexed = tr(language, "upload.indexed", added=len(report.added), updated=len(report.updated))
    saved_title = tr(language, "upload.saved")
    return inert(f"{saved_title}\n- {lines}\n\n{indexed}{''.join(skipped + notes + warnings)}")
