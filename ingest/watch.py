"""`--watch`: re-ingest a few seconds after anything in the data folder is added, changed or deleted."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from watchfiles import Change, watch


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
    on_change: Callable[[], None],
    on_ready: Callable[[], None],
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
