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


def watch_folder(data_dir: Path, index_dir: Path, on_change: Callable[[], None], debounce_ms: int = 1000) -> None:
    """Call `on_change` after each burst of relevant changes; returns on Ctrl-C."""
    try:
        for changes in watch(data_dir, debounce=debounce_ms, step=100, recursive=True):
            if _relevant(changes, data_dir, index_dir):
                on_change()
    except KeyboardInterrupt:
        return
