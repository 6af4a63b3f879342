"""Incremental ingestion: read only what changed, embed only text never embedded, switch atomically."""

from __future__ import annotations

import contextlib
import hashlib
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Literal, TypeGuard

import numpy as np

from rag.config import Settings
from rag.index.bm25 import Bm25Index
from rag.index.embedding import Embedder
from rag.index.records import FORMAT_VERSION, ChunkRecord, FileEntry, IndexMissing, Manifest
from rag.index.store_choice import open_store
from rag.index.stores import IndexReader, IndexStore, IndexUpdate
from rag.ingest.chunking import CHUNKER_VERSION, Chunker, searchable_text
from rag.ingest.loaders import LOADER_VERSION, SkipFile, load_bytes
from rag.ingest.ocr import Ocr
from rag.ingest.scan import Candidate, scan
from rag.privacy.rules import PrivacyRules

Progress = Callable[[str, int, int], None]
"""Called as (phase, done, total); phase is "read" (before each file is read) or "embed"."""


@dataclass
class IngestReport:
    """What a run did, for the summary and for tests."""

    added: list[str] = field(default_factory=list)
    updated: list[str] = field(default_factory=list)
    removed: list[str] = field(default_factory=list)
    unchanged: list[str] = field(default_factory=list)
    skipped: list[tuple[str, str]] = field(default_factory=list)
    notes: list[tuple[str, str]] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    chunks: int = 0
    embedded: int = 0
    seconds: float = 0.0
    rebuild_reason: str | None = None
    generation: str | None = None
    written: bool = False


@dataclass(frozen=True)
class Skipped:
    """A file not indexed, and why (for its line in the summary)."""

    reason: str


Outcome = Literal["unchanged", "read"] | Skipped
"""What became of one file in a run: kept as it was, read and chunked, or skipped with a reason."""


@dataclass
class _Pending:
    """A file read and chunked in this run, waiting for its vectors."""

    candidate: Candidate
    entry: FileEntry
    records: list[ChunkRecord]


def _sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def _embed_hash(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def chunking_settings(settings: Settings, embedder: Embedder) -> dict[str, int]:
    """Everything that shapes chunks; a change means every file must be chunked again."""
    return {
        "requested_tokens": settings.chunk_tokens,
        "chunk_tokens": min(settings.chunk_tokens, embedder.max_tokens),
        "overlap_tokens": settings.chunk_overlap_tokens,
        "chunker_version": CHUNKER_VERSION,
    }


def _previous(
    store: IndexStore, settings: Settings, embedder: Embedder, rebuild: bool
) -> tuple[IndexReader | None, str | None]:
    """The index to build on, or None with the reason for a full rebuild."""
    if rebuild:
        return None, "--rebuild was given"
    try:
        snapshot = store.open()
    except IndexMissing:
        return None, None
    except Exception as exc:
        return None, f"the previous index could not be read ({type(exc).__name__}: {exc})"
    manifest = snapshot.manifest
    if manifest.format_version != FORMAT_VERSION:
        return None, "the index format changed"
    same = (manifest.embed_model, manifest.embed_backend) == (embedder.name, embedder.backend)
    if not same or manifest.dimension != embedder.dimension:
        return None, (
            f"the embedding model changed ({manifest.embed_model} on {manifest.embed_backend}"
            f" -> {embedder.name} on {embedder.backend})"
        )
    wanted = chunking_settings(settings, embedder)
    if manifest.chunking != wanted:
        return None, f"the chunking settings changed ({manifest.chunking} -> {wanted})"
    return snapshot, None


class Ingestor:
    """One ingestion run over `settings.data_dir` into the configured index store."""

    def __init__(
        self,
        settings: Settings,
        embedder: Embedder,
        progress: Progress | None = None,
        privacy: PrivacyRules | None = None,
        store: IndexStore | None = None,
    ) -> None:
        self.settings = settings
        self.store = store or open_store(settings)
        self.embedder = embedder
        self.progress = progress or (lambda phase, done, total: None)
        self.privacy = privacy or PrivacyRules.from_settings(settings.privacy)
        self.ocr = Ocr(settings.ocr)
        self.chunker = Chunker(embedder, min(settings.chunk_tokens, embedder.max_tokens), settings.chunk_overlap_tokens)

    def run(self, rebuild: bool = False) -> IngestReport:
        started = time.perf_counter()
        with self.store.writing():
            report = self._run_locked(rebuild)
        report.seconds = time.perf_counter() - started
        return report

    def _run_locked(self, rebuild: bool) -> IngestReport:
        report = IngestReport()
        snapshot, report.rebuild_reason = _previous(self.store, self.settings, self.embedder, rebuild)
        old_files = snapshot.manifest.files if snapshot else {}
        manifest = Manifest(
            embed_model=self.embedder.name,
            embed_backend=self.embedder.backend,
            dimension=self.embedder.dimension,
            chunking=chunking_settings(self.settings, self.embedder),
            next_id=snapshot.manifest.next_id if snapshot else 0,
        )
        found = scan(self.settings.data_dir, self.settings.index_dir)
        report.skipped.extend(found.skipped)
        report.notes.extend(found.notes)
        report.warnings.extend(self.privacy.warnings(c.relative for c in found.candidates))
        pending: list[_Pending] = []
        changed = snapshot is None
        for done, candidate in enumerate(found.candidates):
            self.progress("read", done, len(found.candidates))
            previous = old_files.get(candidate.relative)
            entry, records, outcome = self._process(candidate, previous, manifest)
            if entry is not None:
                manifest.files[candidate.relative] = entry
                report.notes.extend((candidate.relative, note) for note in entry.notes if outcome != "unchanged")
            if outcome == "unchanged":
                report.unchanged.append(candidate.relative)
                if entry is not None and entry.skipped:
                    report.skipped.append((candidate.relative, entry.skipped))
                changed = changed or entry is not previous
                continue
            changed = True
            if isinstance(outcome, Skipped):
                report.skipped.append((candidate.relative, outcome.reason))
                if previous is not None and previous.chunk_ids:
                    report.removed.append(candidate.relative)
            elif entry is not None:
                pending.append(_Pending(candidate, entry, records))
                (report.updated if previous is not None and previous.chunk_ids else report.added).append(
                    candidate.relative
                )
        self.progress("read", len(found.candidates), len(found.candidates))
        gone = [path for path in old_files if path not in manifest.files]
        report.removed.extend(path for path in gone if old_files[path].chunk_ids and path not in report.removed)
        changed = changed or bool(gone)
        report.notes.extend(_duplicate_notes(manifest))
        if not changed:
            report.chunks = len(snapshot.chunks) if snapshot else 0
            report.generation = snapshot.generation if snapshot else None
            return report
        update, report.embedded = self._assemble(snapshot, manifest, pending)
        report.generation = self.store.commit(snapshot, update)
        report.written = True
        report.chunks = sum(len(entry.chunk_ids) for entry in manifest.files.values())
        return report

    def _process(
        self, candidate: Candidate, previous: FileEntry | None, manifest: Manifest
    ) -> tuple[FileEntry | None, list[ChunkRecord], Outcome]:
        """Decide what to do with one file: keep, skip (with a reason), or read and chunk it."""
        if _same_file(previous, candidate, self.ocr):
            return previous, [], "unchanged"
        limit = int(self.settings.max_file_mb * 1024 * 1024)
        if candidate.size > limit:
            reason = (
                f"too large ({candidate.size / 2**20:.1f} MB > {self.settings.max_file_mb:g} MB; raise MAX_FILE_MB)"
            )
            return self._skipped(candidate, reason), [], Skipped(reason)
        try:
            data = candidate.path.read_bytes()
        except FileNotFoundError:
            return None, [], Skipped("deleted during ingestion")
        except PermissionError:
            return self._skipped(candidate, "permission denied"), [], Skipped("permission denied")
        except OSError as exc:
            reason = f"cannot read ({exc.strerror or type(exc).__name__})"
            return self._skipped(candidate, reason), [], Skipped(reason)
        digest = _sha256(data)
        notes = []
        mtime_ns = candidate.mtime_ns
        try:
            after = candidate.path.stat()
            if after.st_mtime_ns != candidate.mtime_ns or after.st_size != candidate.size:
                notes.append("changed during ingestion; indexed the version read, the next run reads it again")
                mtime_ns = -1
        except FileNotFoundError:
            notes.append("deleted during ingestion; indexed the version read, the next run removes it")
            mtime_ns = -1
        if _same_content(previous, digest, self.ocr):
            entry = FileEntry(
                len(data), mtime_ns, digest, LOADER_VERSION, previous.chunk_ids, previous.skipped, notes, previous.ocr
            )
            return entry, [], "unchanged"
        entry = FileEntry(len(data), mtime_ns, digest, LOADER_VERSION, notes=notes)
        try:
            document = load_bytes(data, candidate.path.suffix, self.ocr)
        except SkipFile as exc:
            entry.skipped = str(exc)
            entry.ocr = self.ocr.state if exc.ocr else None
            return entry, [], Skipped(str(exc))
        except Exception as exc:
            entry.skipped = f"could not be read ({type(exc).__name__}: {str(exc)[:120]})"
            return entry, [], Skipped(entry.skipped)
        entry.notes.extend(document.notes)
        entry.ocr = self.ocr.state if document.ocr else None
        records = []
        for chunk in self.chunker.chunk(document.blocks):
            records.append(
                ChunkRecord(
                    id=manifest.next_id,
                    source=candidate.relative,
                    page=chunk.page,
                    heading_path=chunk.heading_path,
                    start=chunk.start,
                    end=chunk.end,
                    text=chunk.text,
                    embed_hash=_embed_hash(chunk.embed_text),
                )
            )
            manifest.next_id += 1
        entry.chunk_ids = [r.id for r in records]
        return entry, records, "read"

    @staticmethod
    def _skipped(candidate: Candidate, reason: str) -> FileEntry:
        return FileEntry(candidate.size, candidate.mtime_ns, None, LOADER_VERSION, skipped=reason)

    def _assemble(
        self, snapshot: IndexReader | None, manifest: Manifest, pending: list[_Pending]
    ) -> tuple[IndexUpdate, int]:
        """The change to the previous generation; only text never embedded before is encoded."""
        live_ids = {i for entry in manifest.files.values() for i in entry.chunk_ids}
        old_ids = {i for entry in snapshot.manifest.files.values() for i in entry.chunk_ids} if snapshot else set()
        new_records = [record for item in pending for record in item.records]
        to_embed: dict[str, str] = {}
        known: dict[str, np.ndarray] = {}
        if snapshot is not None and new_records:
            known = snapshot.vectors_by_hash({record.embed_hash for record in new_records})
        for item in pending:
            for record, chunk_text in zip(item.records, _embed_texts(item.records), strict=True):
                if record.embed_hash not in known:
                    to_embed.setdefault(record.embed_hash, chunk_text)
        known.update(self._encode(to_embed))
        kept = [c for c in snapshot.all_chunks() if c.id in live_ids] if snapshot else []
        everything = kept + new_records  # in id order: new chunks always get ids above the old ones
        bm25 = Bm25Index.build([c.id for c in everything], _embed_texts(everything))
        vectors = np.vstack([known[r.embed_hash] for r in new_records]) if new_records else np.zeros((0, 0))
        update = IndexUpdate(manifest, sorted(old_ids - live_ids), new_records, vectors, bm25)
        return update, len(to_embed)

    def _encode(self, texts: dict[str, str]) -> dict[str, np.ndarray]:
        """Encode in large slices, so the model batches by length as well as a single call would."""
        hashes, items = list(texts), list(texts.values())
        vectors: dict[str, np.ndarray] = {}
        step = max(self.embedder.batch_size * 16, 256)
        self.progress("embed", 0, len(items))
        for first in range(0, len(items), step):
            encoded = self.embedder.encode(items[first : first + step])
            vectors.update(zip(hashes[first : first + step], encoded, strict=True))
            self.progress("embed", min(first + step, len(items)), len(items))
        return vectors


def _embed_texts(records: list[ChunkRecord]) -> list[str]:
    return [searchable_text(r.heading_path, r.text) for r in records]


def _duplicate_notes(manifest: Manifest) -> list[tuple[str, str]]:
    """Files with identical content: all stay indexed, and search shows their passages once."""
    first_by_hash: dict[str, str] = {}
    notes = []
    for path in sorted(manifest.files):
        entry = manifest.files[path]
        if entry.sha256 is None or entry.skipped:
            continue
        if entry.sha256 in first_by_hash:
            notes.append((path, f"same content as {first_by_hash[entry.sha256]}; search shows its passages once"))
        else:
            first_by_hash[entry.sha256] = path
    return notes


def ingest(
    settings: Settings,
    rebuild: bool = False,
    progress: Progress | None = None,
    embedder: Embedder | None = None,
    privacy: PrivacyRules | None = None,
) -> IngestReport:
    """Run one ingestion with the configured embedding model (and PRIVATE_PATHS, to warn about typos).

    When nothing changed, that is decided from the manifest and the files' sizes and times alone:
    the encoder is not loaded (nor torch imported) for a run that writes nothing.
    """
    started = time.perf_counter()
    rules = privacy or PrivacyRules.from_settings(settings.privacy)
    encoder = (embedder.name, embedder.backend) if embedder else settings.encoder
    quick = None if rebuild else nothing_changed(settings, rules, encoder)
    if quick is not None:
        quick.seconds = time.perf_counter() - started
        return quick
    embedder = embedder or Embedder.from_settings(settings)
    with contextlib.closing(open_store(settings)) as store:
        return Ingestor(settings, embedder, progress, rules, store).run(rebuild)


def nothing_changed(settings: Settings, privacy: PrivacyRules, encoder: tuple[str, str]) -> IngestReport | None:
    """The report of a run that would change nothing, or None when a real run is needed.

    Same model and chunking settings, the same files with the same sizes and modification times, and
    no file gone: exactly the cases in which a full run would read nothing and write nothing.
    """
    with contextlib.closing(open_store(settings)) as store:
        live = store.current_manifest()
    if live is None:
        return None
    generation, manifest = live
    chunking = manifest.chunking
    same_settings = (
        manifest.format_version == FORMAT_VERSION
        and (manifest.embed_model, manifest.embed_backend) == encoder
        and chunking.get("requested_tokens") == settings.chunk_tokens
        and chunking.get("overlap_tokens") == settings.chunk_overlap_tokens
        and chunking.get("chunker_version") == CHUNKER_VERSION
    )
    found = scan(settings.data_dir, settings.index_dir)
    files = manifest.files
    ocr = Ocr(settings.ocr)
    unchanged = [c for c in found.candidates if _same_file(files.get(c.relative), c, ocr)]
    if not same_settings or len(unchanged) != len(found.candidates) or len(files) != len(found.candidates):
        return None
    report = IngestReport(generation=generation, unchanged=[c.relative for c in unchanged])
    report.skipped = found.skipped + [(path, entry.skipped) for path, entry in files.items() if entry.skipped]
    report.notes = found.notes + _duplicate_notes(manifest)
    report.warnings = privacy.warnings(files)
    report.chunks = sum(len(entry.chunk_ids) for entry in files.values())
    return report


def _same_file(previous: FileEntry | None, candidate: Candidate, ocr: Ocr) -> bool:
    return (
        previous is not None
        and previous.size == candidate.size
        and previous.mtime_ns == candidate.mtime_ns
        and previous.loader_version == LOADER_VERSION
        and not ocr.outdated(previous.ocr)
    )


def _same_content(previous: FileEntry | None, digest: str, ocr: Ocr) -> TypeGuard[FileEntry]:
    """A file touched but not changed: what was read from it before still holds."""
    return (
        previous is not None
        and previous.sha256 == digest
        and previous.loader_version == LOADER_VERSION
        and not ocr.outdated(previous.ocr)
    )
