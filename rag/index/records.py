"""What every index store keeps and every reader returns: chunk records, the manifest, and the errors a store
raises. Shared by the file store, the PostgreSQL store and the store protocol, so none of them imports another."""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from typing import Any

FORMAT_VERSION = 1


class IndexMissing(Exception):
    """No index has been written to this folder yet."""


class IndexLocked(Exception):
    """Another ingestion holds the index."""


class IndexUnavailable(OSError):
    """The place the index is kept cannot be reached (a database that refuses the connection)."""


@dataclass(frozen=True)
class ChunkRecord:
    """A stored chunk: what a search hit returns and a citation points to."""

    id: int
    source: str
    page: int | None
    heading_path: tuple[str, ...]
    start: int
    end: int
    text: str
    embed_hash: str

    @classmethod
    def from_json(cls, line: str) -> ChunkRecord:
        raw = json.loads(line)
        raw["heading_path"] = tuple(raw["heading_path"])
        return cls(**raw)

    def to_json(self) -> str:
        return json.dumps(asdict(self), ensure_ascii=False)


@dataclass
class FileEntry:
    """What the manifest remembers of one file, so an unchanged file is never read or embedded again."""

    size: int
    mtime_ns: int
    sha256: str | None
    loader_version: int
    chunk_ids: list[int] = field(default_factory=list)
    skipped: str | None = None
    notes: list[str] = field(default_factory=list)
    ocr: str | None = None  # for a file that needed OCR: the languages it was read with, or "unavailable"


@dataclass
class Manifest:
    """Settings the index was built with, and the per-file state."""

    embed_model: str
    dimension: int
    chunking: dict[str, Any]
    files: dict[str, FileEntry] = field(default_factory=dict)
    next_id: int = 0
    format_version: int = FORMAT_VERSION
    embed_backend: str = "torch"  # indexes written before there was a choice were all torch

    def to_json(self) -> str:
        return json.dumps(asdict(self), ensure_ascii=False, indent=1, sort_keys=True)

    @classmethod
    def from_json(cls, text: str) -> Manifest:
        raw = json.loads(text)
        raw["files"] = {path: FileEntry(**entry) for path, entry in raw["files"].items()}
        return cls(**raw)
