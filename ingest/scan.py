"""Finds the files to index, following symlinks safely and naming every file it has to pass over."""

from __future__ import annotations

import errno
import os
import stat
from dataclasses import dataclass
from pathlib import Path

from rag.loaders import is_supported


@dataclass(frozen=True)
class Candidate:
    """A regular file with a supported extension, and how it looked when scanned."""

    relative: str
    path: Path
    size: int
    mtime_ns: int


@dataclass(frozen=True)
class ScanResult:
    candidates: list[Candidate]
    skipped: list[tuple[str, str]]


def _stat_problem(path: Path) -> tuple[os.stat_result | None, str | None]:
    try:
        info = path.stat()
    except OSError as exc:
        if exc.errno == errno.ELOOP:
            return None, "symlink loop"
        if exc.errno == errno.ENOENT:
            return None, "broken symlink" if path.is_symlink() else "deleted during ingestion"
        if exc.errno == errno.EACCES:
            return None, "permission denied"
        return None, f"cannot read ({exc.strerror})"
    if not stat.S_ISREG(info.st_mode):
        return None, "not a regular file"
    return info, None


def scan(data_dir: Path, index_dir: Path | None = None) -> ScanResult:
    """Walk `data_dir`; hidden files and folders (".name") and the index folder itself are ignored."""
    candidates: list[Candidate] = []
    skipped: list[tuple[str, str]] = []
    excluded = index_dir.resolve() if index_dir is not None else None
    visited: set[str] = set()

    def relative(path: Path) -> str:
        return path.relative_to(data_dir).as_posix()

    for root, dirnames, filenames in os.walk(data_dir, followlinks=True, onerror=None):
        real_root = os.path.realpath(root)
        visited.add(real_root)
        kept = []
        for name in sorted(dirnames):
            folder = Path(root) / name
            real = os.path.realpath(folder)
            if name.startswith(".") or (excluded is not None and Path(real) == excluded):
                continue
            if real in visited or real_root.startswith(real + os.sep) or real == real_root:
                skipped.append((relative(folder), "symlink loop (folder links back to a parent)"))
                continue
            kept.append(name)
        dirnames[:] = kept
        for name in sorted(filenames):
            if name.startswith("."):
                continue
            path = Path(root) / name
            rel = relative(path)
            if not is_supported(path.suffix):
                skipped.append((rel, f"unsupported file type '{path.suffix or '(none)'}'"))
                continue
            info, problem = _stat_problem(path)
            if problem or info is None:
                skipped.append((rel, problem or "cannot read"))
                continue
            candidates.append(Candidate(rel, path, info.st_size, info.st_mtime_ns))
    return ScanResult(candidates, skipped)
