"""The document library: what is indexed, adding a file, removing one; for the chat and the files API alike.

A document is named by its place in the data folder (its `source`) and identified outward by a hash of
that name, so an id never carries a path: removing resolves the id against the index's own list, and
the file removed must be a plain file inside the data folder.
"""

from __future__ import annotations

import asyncio
import hashlib
import os
import tempfile
from dataclasses import dataclass
from pathlib import Path

from rag.chat.service import ChatService
from rag.i18n import Language, tr
from rag.index.records import FileEntry
from rag.index.retrieval import visible_to
from rag.ingest.pipeline import IngestReport
from rag.web.uploads import save_upload

ID_PREFIX = "file-"


def file_id(source: str) -> str:
    return ID_PREFIX + hashlib.sha256(source.encode("utf-8", "surrogatepass")).hexdigest()[:24]


@dataclass(frozen=True)
class Document:
    """One file of the index, as the library lists it."""

    id: str
    source: str
    size: int
    modified: int  # seconds since the epoch
    chunks: int
    pages: int  # pages or slides that have text; 0 for a document without pages
    ocr: bool
    local_only: bool
    skipped: str | None = None  # why it is not searchable

    def to_json(self) -> dict[str, object]:
        return {
            "id": self.id,
            "object": "file",
            "bytes": self.size,
            "created_at": self.modified,
            "filename": self.source,
            "purpose": "assistants",
            "status": "error" if self.skipped else "processed",
            "status_details": self.skipped,
            "rag": {"chunks": self.chunks, "pages": self.pages, "ocr": self.ocr, "local_only": self.local_only},
        }


class RemoveRefused(Exception):
    """The document cannot be removed from here (its file is not a plain file inside the data folder)."""


class Library:
    def __init__(self, service: ChatService) -> None:
        self.service = service

    def _visible(self, owner: str) -> dict[str, FileEntry]:
        """The manifest's files `owner` may see (another user's uploads are not), from the newest generation."""
        retriever = self.service.retriever
        retriever.refresh()
        return {
            source: entry for source, entry in retriever.snapshot.manifest.files.items() if visible_to(source, owner)
        }

    def documents(self, owner: str = "") -> list[Document]:
        """Every file the index knows that `owner` may see, searchable or skipped, by name (blocking: reads the
        index)."""
        return self._described(self._visible(owner))

    def _described(self, files: dict[str, FileEntry]) -> list[Document]:
        """These files as the library lists them; their chunks are read for the pages they cover."""
        chunks = self.service.retriever.snapshot.chunks_by_id([i for entry in files.values() for i in entry.chunk_ids])
        pages: dict[str, set[int]] = {}
        for chunk in chunks.values():
            if chunk.page is not None:
                pages.setdefault(chunk.source, set()).add(chunk.page)
        privacy = self.service.assistant.privacy
        return [
            self._document(source, entry, len(pages.get(source, ())), privacy.is_private(source))
            for source, entry in sorted(files.items())
        ]

    @staticmethod
    def _document(source: str, entry: FileEntry, pages: int, local_only: bool) -> Document:
        return Document(
            file_id(source),
            source,
            entry.size,
            entry.mtime_ns // 1_000_000_000,
            len(entry.chunk_ids),
            pages,
            entry.ocr is not None,
            local_only,
            entry.skipped,
        )

    def searchable(self, owner: str = "") -> list[str]:
        """The names of the documents `owner`'s questions can find, from the manifest alone (no chunk is read:
        this is asked at every chat's start)."""
        return sorted(source for source, entry in self._visible(owner).items() if entry.chunk_ids)

    def find(self, document_id: str, owner: str = "") -> Document | None:
        """One document by its id; only its own chunks are read."""
        files = {source: entry for source, entry in self._visible(owner).items() if file_id(source) == document_id}
        return next(iter(self._described(files)), None)

    async def remove(self, document: Document) -> IngestReport:
        """Delete the document's file from the data folder and re-index, so it is no longer retrievable."""
        data = os.path.realpath(self.service.settings.data_dir)
        path = Path(data) / document.source
        if path.is_symlink() or not os.path.realpath(path).startswith(data + os.sep):
            raise RemoveRefused(f"{document.source} is not a plain file in the data folder; remove it there")
        if path.exists() and not path.is_file():
            raise RemoveRefused(f"{document.source} is not a file")
        path.unlink(missing_ok=True)
        return await self.service.reindex_when_unlocked()

    async def add(self, name: str, content: bytes) -> tuple[Document | None, IngestReport]:
        """Save an uploaded file into data/uploads/ (safe name, never overwriting) and index it."""
        settings = self.service.settings
        with tempfile.TemporaryDirectory() as folder:
            staged = Path(folder) / "upload"
            staged.write_bytes(content)
            saved, _ = save_upload(staged, name, settings.data_dir, settings.max_file_mb)
        report = await self.service.reindex_when_unlocked()
        source = saved.relative_to(settings.data_dir).as_posix()
        found = await asyncio.to_thread(self.find, file_id(source))
        return found, report


MAX_LISTED = 40
"""Documents shown (each with its remove button) in the chat; the files API lists them all."""


def scope_choices(searchable: list[str]) -> list[str]:
    """What a question can be limited to: every folder ("notes/"), then every searchable document."""
    folders = {source[: i + 1] for source in searchable for i, char in enumerate(source) if char == "/"}
    return sorted(folders) + searchable


def _size(size: int) -> str:
    return f"{size / 2**20:.1f} MB" if size >= 2**20 else f"{max(1, round(size / 1024))} KB"


def library_table(documents: list[Document], language: Language) -> str:
    """The documents as a Markdown table; names are shown as code, so no name can format the page."""
    yes, no = tr(language, "library.yes"), tr(language, "library.no")
    rows = [tr(language, "library.title", count=len(documents)), "", tr(language, "library.columns")]
    rows.append("| --- | ---: | ---: | ---: | --- | --- |")
    for document in documents[:MAX_LISTED]:
        name = "`` " + document.source.replace("`", "'").replace("|", "¦") + " ``"
        if document.skipped:
            name += " " + tr(language, "library.skipped", reason=document.skipped).replace("|", "¦")
        flags = [yes if document.ocr else no, yes if document.local_only else no]
        rows.append(
            f"| {name} | {document.pages or '-'} | {document.chunks} | {_size(document.size)} | "
            + " | ".join(flags)
            + " |"
        )
    if len(documents) > MAX_LISTED:
        rows += ["", tr(language, "library.more", count=len(documents) - MAX_LISTED)]
    return "\n".join(rows)
