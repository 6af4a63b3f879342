"""Finds the files to index, naming every file and folder it has to pass over.

Real folders are walked. A symlink whose target lies inside the data folder is not a second
source: its target is indexed once, under its own path, so rules that match paths (local-only
documents) see where a file really is. Links that leave the data folder are followed, with loop
detection on the folders above.
"""

from __future__ import annotations

import errno
import os
import stat
from dataclasses import dataclass, field
from pathlib import Path

from rag.ingest.loaders import is_supported


@dataclass(frozen=True)
class Candidate:
    """A regular file with a supported extension, and how it looked when scanned.

    `relative` is the name it is indexed under; `path` is what is opened (the real bytes of a
    file name that is not valid UTF-8 stay in `path` only).
    """

    relative: str
    path: Path
    size: int
    mtime_ns: int


@dataclass
class ScanResult:
    candidates: list[Candidate] = field(default_factory=list)
    skipped: list[tuple[str, str]] = field(default_factory=list)
    notes: list[tuple[str, str]] = field(default_factory=list)


@dataclass(frozen=True)
class _Folder:
    """A folder to list: where it is, its indexed name, and the real folders above it (for loops)."""

    path: Path
    relative: str
    real: str
    above: frozenset[str]


def display_name(name: str) -> str:
    """A file name that can be stored as UTF-8 and printed: bytes that are not UTF-8 become \\xNN.

    A backslash of the name's own is doubled, so the bytes `caf\\xe9.txt` and a file literally named
    `caf\\xe9.txt` never share an index entry (each run would otherwise replace one with the other).
    """
    if "\\" not in name and not _undecodable(name):
        return name
    return name.replace("\\", "\\\\").encode("utf-8", "surrogateescape").decode("utf-8", "backslashreplace")


def _undecodable(name: str) -> bool:
    """Whether the name held bytes that are not UTF-8 (Python keeps them as lone surrogates)."""
    return any("\udc80" <= char <= "\udcff" for char in name)


def _reason(exc: OSError, path: Path) -> str:
    if exc.errno == errno.ELOOP:
        return "symlink loop"
    if exc.errno == errno.ENOENT:
        return "broken symlink" if path.is_symlink() else "deleted during ingestion"
    if exc.errno == errno.EACCES:
        return "permission denied"
    return f"cannot read ({exc.strerror})"


def _inside(real: str, root: str) -> bool:
    return real == root or real.startswith(root + os.sep)


class _Scan:
    """One walk of the data folder; hidden entries (".name") and the index folder are ignored."""

    def __init__(self, data_dir: Path, index_dir: Path | None) -> None:
        self.data_dir = data_dir
        self.root = os.path.realpath(data_dir)
        self.excluded = os.path.realpath(index_dir) if index_dir is not None else None
        self.result = ScanResult()

    def run(self) -> ScanResult:
        pending = [_Folder(self.data_dir, "", self.root, frozenset({self.root}))]
        while pending:
            folder = pending.pop()
            subfolders = [sub for name in self._list(folder) if (sub := self._entry(folder, name)) is not None]
            pending.extend(reversed(subfolders))
        return self.result

    def _list(self, folder: _Folder) -> list[str]:
        try:
            names = os.listdir(folder.path)
        except OSError as exc:
            self.result.skipped.append((folder.relative.rstrip("/") or ".", f"folder: {_reason(exc, folder.path)}"))
            return []
        return sorted(name for name in names if not name.startswith("."))

    def _entry(self, folder: _Folder, name: str) -> _Folder | None:
        """Record one folder entry; return it when it is a folder to walk."""
        path = folder.path / name
        relative = folder.relative + display_name(name)
        if _undecodable(name):
            self.result.notes.append((relative, "name is not valid UTF-8; shown with \\x escapes"))
        linked = path.is_symlink()
        real = os.path.realpath(path) if linked else os.path.join(folder.real, name)
        if real == self.excluded:
            return None
        try:
            info = path.stat()
        except OSError as exc:
            self.result.skipped.append((relative, _reason(exc, path)))
            return None
        is_folder = stat.S_ISDIR(info.st_mode)
        if is_folder and real in folder.above:
            self.result.skipped.append((relative, "symlink loop (folder links back to a parent)"))
            return None
        if linked and _inside(real, self.root):
            target = display_name(os.path.relpath(real, self.root))
            self.result.notes.append((relative, f"link to {target}; only the target's own path is indexed"))
            return None
        if is_folder:
            return _Folder(path, relative + "/", real, folder.above | {real})
        self._file(path, relative, info)
        return None

    def _file(self, path: Path, relative: str, info: os.stat_result) -> None:
        if not is_supported(path.suffix):
            self.result.skipped.append((relative, f"unsupported file type '{display_name(path.suffix) or '(none)'}'"))
        elif not stat.S_ISREG(info.st_mode):
            self.result.skipped.append((relative, "not a regular file"))
        else:
            self.result.candidates.append(Candidate(relative, path, info.st_size, info.st_mtime_ns))


def scan(data_dir: Path, index_dir: Path | None = None) -> ScanResult:
    """Every supported file under `data_dir`, plus a reason for each entry passed over."""
    return _Scan(data_dir, index_dir).run()
