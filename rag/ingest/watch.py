"""`--watch`: re-ingest a few seconds after anything in the data folder is added, changed or deleted."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TypeVar

from watchfiles import Change, watch

from rag.index.records import IndexLocked

T = TypeVar("T")


def lock_waits(first: float = 0.5, longest: float = 5.0, total: float = 1800.0) -> Iterator[float]:
    """Pauses between attempts while another ingestion holds the index: short at first, then every
    `longest` seconds, for `total` seconds in all (a stuck lock is reported, not waited on forever)."""
    pause, waited = first, 0.0
    while waited < total:
        yield pause
        waited += pause
        pause = min(pause * 2, longest)


def when_unlocked(run: Callable[[], T], on_wait: Callable[[], None]) -> T:
    """`run()`, retried while another ingestion holds the index (`on_wait` is told once); gives up after `lock_waits`.

    A change seen while the index was locked must still be indexed once the lock is free: the other
    ingestion may have scanned the folder before the change was made.
    """
    for attempt, pause in enumerate(lock_waits()):
        try:
            return run()
        except IndexLocked:
            if attempt == 0:
                on_wait()
            time.sleep(pause)
    return run()


def _relevant(changes: set[tuple[Change, str]], data_dir: Path, index_dir: Path) -> bool:
    """Ignore the index's own writes and hidden files (editor swap files, .DS_Store)."""
    index = index_dir.resolve()
    for _, raw in changes:
        path = Path(raw).resolve()
        if path == index or index in path.parents:
            continue
        relative = path.relative_to(data_dir.resolve()) if data_dir.resolve() in path.parents else Path(path.name)
        if not any(part.startswith(".") for part in relative.parts):
            return True
    return False


def watch_folder(
    data_dir: Path,
    index_dir: Path,
    on_change: Callable[[], object],
    on_ready: Callable[[], object],
    debounce_ms: int = 1000,
) -> None:
    """Call `on_change` after each burst of relevant changes; returns on Ctrl-C.

    Once the watcher is active it runs `on_change` one more time, so a change made while it was
    starting is not missed, and then calls `on_ready`.
    """
    ready = False
    try:
        for changes in watch(data_dir, debounce=debounce_ms, step=100, yield_on_timeout=True, rust_timeout=500):
            if not ready:
                ready = True
                on_change()
                on_ready()
            elif changes and _relevant(changes, data_dir, index_dir):
                on_change()
    except KeyboardInterrupt:
        return
