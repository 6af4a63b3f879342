"""`python -m ingest`: index the data folder (incrementally) and print what happened."""

from __future__ import annotations

import argparse
import contextlib
import sys
from pathlib import Path

from tqdm import tqdm

from rag.config import Settings, one_line_errors
from rag.index.embedding import Embedder
from rag.index.records import IndexLocked
from rag.index.store_choice import open_store
from rag.ingest.pipeline import IngestReport, ingest
from rag.ingest.report import format_report
from rag.ingest.watch import watch_folder, when_unlocked


class _Bars:
    """tqdm bars on stderr for reading files and embedding chunks."""

    def __init__(self) -> None:
        self.bars: dict[str, tqdm] = {}

    def __call__(self, phase: str, done: int, total: int) -> None:
        bar = self.bars.get(phase)
        if bar is None:
            self.close()  # one bar at a time: two stacked bars leave cursor codes ("[A") in a log or a pipe
            label = "reading files" if phase == "read" else "embedding chunks"
            bar = self.bars[phase] = tqdm(
                total=total, desc=label, unit=" files" if phase == "read" else " chunks", leave=False, disable=None
            )
        bar.total = total
        bar.update(done - bar.n)

    def close(self) -> None:
        for bar in self.bars.values():
            bar.close()
        self.bars.clear()


def index_exists(settings: Settings) -> bool:
    with contextlib.closing(open_store(settings)) as store:
        return store.current_generation() is not None


def _waiting() -> None:
    print(
        "waiting: another ingestion is writing the index; this one starts when it finishes", file=sys.stderr, flush=True
    )


def _run_once(settings: Settings, embedder: Embedder, rebuild: bool, wait: bool = False) -> IngestReport | None:
    """One ingestion and its summary; with `wait`, a run blocked by another ingestion waits for it."""
    bars = _Bars()

    def run() -> IngestReport:
        return ingest(settings, rebuild=rebuild, progress=bars, embedder=embedder)

    try:
        report = when_unlocked(run, _waiting) if wait else run()
    except IndexLocked as exc:
        bars.close()
        print(f"error: {exc}", file=sys.stderr)
        return None
    except OSError as exc:
        bars.close()
        print(
            f"error: the index could not be written ({exc.strerror or exc}); the previous index is intact",
            file=sys.stderr,
        )
        return None
    bars.close()
    print(format_report(report), flush=True)
    return report


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m ingest", description="Index the documents folder for search.")
    parser.add_argument("--data", type=Path, help="documents folder (default: $DATA_DIR or data/)")
    parser.add_argument("--index", type=Path, help="index folder (default: $INDEX_DIR or index/)")
    parser.add_argument("--rebuild", action="store_true", help="re-read and re-embed everything")
    parser.add_argument("--watch", action="store_true", help="keep running and re-index on every change")
    parser.add_argument(
        "--if-missing",
        action="store_true",
        help="only build an index where there is none (the app brings an existing one up to date while it answers)",
    )
    args = parser.parse_args(argv)
    with one_line_errors():
        settings = Settings.from_env(data_dir=args.data, index_dir=args.index)
    if not settings.data_dir.is_dir():
        print(f"error: documents folder {settings.data_dir} does not exist", file=sys.stderr)
        return 2
    if args.if_missing and index_exists(settings):
        print("An index exists; the app re-indexes what changed in the background while it answers.", flush=True)
        return 0
    embedder = Embedder.from_settings(settings)
    report = _run_once(settings, embedder, args.rebuild, wait=args.watch)
    if not args.watch:
        return 0 if report is not None else 1
    watch_folder(
        settings.data_dir,
        settings.index_dir,
        lambda: _run_once(settings, embedder, False, wait=True),
        lambda: print(f"Watching {settings.data_dir} for changes (Ctrl-C to stop)...", flush=True),
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
