"""CPU time of masking (`Redactor().redact`) on adversarial and on ordinary input, by size.

Each input repeats one piece up to 32 KB, 256 KB and 1 MB (in characters) and the last column is
the CPU seconds per MB at the largest size measured: linear masking keeps it flat and small. Each
run is a child process with a time limit, so a pattern that backtracks catastrophically (as the
old e-mail pattern did) shows as "> N s" instead of hanging; larger sizes are then skipped.

Run: python -m bench.redaction_speed [--module PATH] [--limit SECONDS]
(`--module /tmp/old_redaction.py` measures another version of rag/redaction.py, e.g. from
`git show COMMIT:rag/redaction.py > /tmp/old_redaction.py`.)
"""

from __future__ import annotations

import argparse
import importlib.util
import multiprocessing
import signal
import sys
import time
from multiprocessing.connection import Connection, wait
from types import ModuleType

PROSE = (
    "The quarterly report was sent on 2024-01-15 at 14:00; version 3.11.7 fixed pages 120-135. "
    "Contact maria.ivanova@clinic.example or call +359 2 987 6543 about invoice 12 500 000 лв. "
    "Отчетът е изпратен на 15.01.2024 г., пишете на анна@пример.рф или звънете на 0888 123 456. "
    "Счёт DE89 3704 0044 0532 0130 00, карта 4111 1111 1111 1111, сервер 10.0.0.7, встреча в полдень.\n"
)
INPUTS = {
    "a.a.a.a (e-mail dots)": "a.",
    "a@a.a.a (no TLD)": "a@a.",
    "aaaa...@ (long local part)": "a",
    "a . a . a (spaced dots)": "a . ",
    "x (at) y (at) (obfuscated)": "x (at) ",
    "at at at (words)": "at ",
    "1 1 1 1 (digits, spaces)": "1 ",
    "1111 (one digit run)": "1",
    "1⏎1⏎1 (digits over lines)": "1\n",
    "12345678⏎ (8 digits a line)": "1234 5678\n",
    "4111 4111 (card-like groups)": "4111 ",
    "1 1 ... x (short digit runs)": "1 " * 78 + "x ",
    "4111 4111 ... x (short runs)": "4111 " * 31 + "x ",
    "card-shaped, bad checksum": "4111 1111 1111 1112; ",
    "aa11 aaaa (IBAN-like)": "aa11 aaaa ",
    "bg11 aaaa (IBAN-like, country)": "bg11 aaaa ",
    "1.1.1.1 (dotted numbers)": "1.",
    "a:a:a (hex and colons)": "a:",
    "(1) (1) (brackets)": "(1) ",
    "ordinary prose (EN/BG/RU)": PROSE,
}
"""Name -> the piece repeated. "aaaa...@" ends in "@" (see `build`)."""
SIZES = {"32 KB": 32 * 1024, "256 KB": 256 * 1024, "1 MB": 1024 * 1024}


def build(piece: str, size: int) -> str:
    text = (piece * (size // len(piece) + 1))[:size]
    return text[:-1] + "@" if piece == "a" else text


def load(path: str | None) -> ModuleType:
    if path is None:
        import rag.privacy.redaction

        return rag.privacy.redaction
    spec = importlib.util.spec_from_file_location("redaction_under_test", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up there
    spec.loader.exec_module(module)
    return module


def measure(conn: Connection, path: str | None, piece: str, size: int) -> None:
    """In a child process: CPU seconds of one redaction."""
    redactor = load(path).Redactor()
    text = build(piece, size)
    started = time.process_time()
    redactor.redact(text)
    conn.send(time.process_time() - started)


def timed(path: str | None, piece: str, size: int, limit: float) -> float | None:
    """CPU seconds, or None when the run took longer than `limit` seconds."""
    context = multiprocessing.get_context("fork")
    receive, send = context.Pipe(duplex=False)
    child = context.Process(target=measure, args=(send, path, piece, size))
    child.start()
    wait([receive, child.sentinel], timeout=limit)
    seconds = receive.recv() if receive.poll() else None
    if child.is_alive():
        child.terminate()
    child.join()
    if seconds is None and child.exitcode != -signal.SIGTERM:
        raise RuntimeError(f"the measuring process failed (exit code {child.exitcode})")
    return seconds


def row(name: str, path: str | None, piece: str, limit: float) -> str:
    cells: list[str] = []
    per_mb = "—"
    for size in SIZES.values():
        seconds = timed(path, piece, size, limit)
        if seconds is None:
            cells += [f"> {limit:g} s"] + ["skipped"] * (len(SIZES) - len(cells) - 1)
            per_mb = f"> {limit / (size / SIZES['1 MB']):.0f}"
            break
        cells.append(f"{seconds:.3f}")
        per_mb = f"{seconds / (size / SIZES['1 MB']):.3f}"
    return f"{name:<30}" + "".join(f"{cell:>11}" for cell in cells) + f"{per_mb:>11}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--module", help="path of another redaction.py to measure (default: rag.privacy.redaction)")
    parser.add_argument("--limit", type=float, default=10.0, help="seconds allowed for one run")
    args = parser.parse_args()
    print(f"CPU seconds of Redactor().redact, {args.module or 'rag/redaction.py'}")
    print(f"{'input':<30}" + "".join(f"{label:>11}" for label in SIZES) + f"{'s per MB':>11}")
    for name, piece in INPUTS.items():
        print(row(name, args.module, piece, args.limit), flush=True)


if __name__ == "__main__":
    main()
