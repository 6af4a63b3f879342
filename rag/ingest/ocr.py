"""OCR for pages and images that hold their text only as pixels: Tesseract, with every page bounded.

Tesseract and poppler's `pdftoppm` run as child processes rather than through bindings (pytesseract,
pypdfium2): a child can be killed at a deadline and given an address-space limit, so a hostile or
huge page costs at most `OCR_PAGE_TIMEOUT` seconds and `OCR_MEMORY_MB`, never the app's own memory.
Rendering in-process with PDFium took 1.1 GB for an 875 KB PDF holding one large image; pdftoppm
streams such an image and stays near 40 MB. The wrapper is a few lines; pytesseract would add
temporary files and no limits.
"""

from __future__ import annotations

import contextlib
import io
import math
import os
import resource
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from functools import cached_property
from typing import cast

from PIL import Image

from rag.config import OcrSettings

RENDERER = "pdftoppm"
_BLANK_CONTRAST = 32
"""A page whose darkest and lightest pixels differ by less than this holds no text: Tesseract is not run."""
_PROBE_SECONDS = 30.0
"""How long Tesseract may take to list its languages (it loads none)."""
_OUT_OF_MEMORY = ("bad_alloc", "malloc fail", "out of memory", "cannot allocate", "failed to map segment")
"""What Tesseract and pdftoppm print when the address-space limit stops them."""


class OcrFailed(Exception):
    """One page could not be read; the message says why, for the summary."""


class Ocr:
    """Reads text from page images; built from the settings once per ingestion run and handed to the loaders."""

    def __init__(self, settings: OcrSettings) -> None:
        self.settings = settings

    @cached_property
    def problem(self) -> str | None:
        """Why OCR cannot run (the reason shown for files that need it), or None when it can.

        Looked up at most once per run, and only when a file needs it: Tesseract is asked which
        languages it has.
        """
        settings = self.settings
        if not settings.enabled:
            return "OCR is off"
        if self._tesseract is None:
            return f"install tesseract-ocr to read scanned pages and images ({settings.command!r} not found)"
        if shutil.which(RENDERER) is None:
            return f"install poppler-utils to read scanned pages ({RENDERER!r} not found)"
        try:
            listing = self._run([self._tesseract, "--list-langs"], b"", _Deadline(_PROBE_SECONDS))
        except OcrFailed as exc:
            return f"Tesseract does not run ({exc})"
        installed = set(listing.decode("utf-8", "replace").splitlines()[1:])
        missing = [code for code in settings.languages.split("+") if code not in installed]
        if missing:
            packages = ", ".join(f"tesseract-ocr-{code.lower().replace('_', '-')}" for code in missing)
            return f"install {packages} (Tesseract has no {'+'.join(missing)} language data; OCR_LANGUAGES)"
        return None

    @cached_property
    def _tesseract(self) -> str | None:
        return shutil.which(self.settings.command)

    @property
    def state(self) -> str:
        """What the manifest records for a file that needed OCR: the languages it was read with, or "unavailable"."""
        return self.settings.languages if self.problem is None else "unavailable"

    def outdated(self, recorded: str | None) -> bool:
        """Whether a file that needed OCR must be read again: OCR has become possible, or its languages changed.

        Turning OCR off keeps the text already read; Tesseract is only asked when something could change.
        """
        return recorded is not None and recorded != self.settings.languages and self.problem is None

    @property
    def max_pixels(self) -> int:
        return int(self.settings.max_megapixels * 1_000_000)

    def read_pdf_page(self, pdf: bytes, number: int, size_points: tuple[float, float] | None) -> str:
        """The text of page `number` (1-based), rendered at OCR_DPI, or less where that would exceed the pixel cap."""
        deadline = _Deadline(self.settings.page_timeout)
        dpi = float(self.settings.dpi)
        if size_points is not None and size_points[0] > 0 and size_points[1] > 0:
            pixels = (size_points[0] / 72 * dpi) * (size_points[1] / 72 * dpi)
            dpi *= min(1.0, math.sqrt(self.max_pixels / pixels))
        page = str(number)
        command = [RENDERER, "-f", page, "-l", page, "-r", f"{dpi:.2f}", "-gray", "-cropbox", "-"]
        rendered = self._run(command, pdf, deadline)
        try:
            image = Image.open(io.BytesIO(rendered), formats=["PPM"])
            image.load()
        except (OSError, SyntaxError, ValueError) as exc:
            raise OcrFailed(f"{RENDERER} gave no page image ({exc})") from exc
        return self.read_image(image, dpi, deadline)

    def read_image(self, image: Image.Image, dpi: float | None, deadline: _Deadline | None = None) -> str:
        """The text of one 8-bit grey image (already within the pixel cap); `dpi` helps Tesseract judge text size."""
        low, high = cast(tuple[int, int], image.getextrema())  # one band: (darkest, lightest)
        if high - low < _BLANK_CONTRAST:
            return ""
        assert self._tesseract is not None, "read_image is called only when `problem` is None"
        pgm = io.BytesIO()
        image.save(pgm, "PPM")  # uncompressed grey: nothing to encode or decode on either side
        command = [self._tesseract, "stdin", "stdout", "-l", self.settings.languages]
        if dpi is not None and dpi >= 36:
            command += ["--dpi", str(round(dpi))]
        text = self._run(command, pgm.getvalue(), deadline or _Deadline(self.settings.page_timeout))
        return text.decode("utf-8", "replace").replace("\f", "\n")

    def _run(self, command: list[str], data: bytes, deadline: _Deadline) -> bytes:
        """`command` fed `data` on stdin; its output, or OcrFailed at the deadline, an error exit or a crash."""
        timeout = deadline.left()
        if timeout <= 0:
            raise OcrFailed(f"timed out after {deadline.seconds:g} s")
        limit = self.settings.memory_mb * 2**20
        # The child keeps this process's environment (TESSDATA_PREFIX, PATH) with OpenMP held to one
        # thread: Tesseract's threads made a dense page take 11.5 s instead of 2.4 s on 2 busy cores,
        # and each reserves address space under the limit.
        environment = {**os.environ, "OMP_THREAD_LIMIT": "1"}
        try:
            process = subprocess.Popen(
                command, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=environment
            )
        except OSError as exc:
            raise OcrFailed(f"cannot start {command[0]} ({exc.strerror or exc})") from exc
        with process:
            if sys.platform == "linux":
                # Set from outside (preexec_fn is unsafe in a threaded app) before the input, which is
                # what could be hostile, is written.
                with contextlib.suppress(ProcessLookupError):
                    resource.prlimit(process.pid, resource.RLIMIT_AS, (limit, limit))
            try:
                output, errors = process.communicate(data, timeout=timeout)
            except subprocess.TimeoutExpired:
                process.kill()
                process.communicate()
                raise OcrFailed(f"timed out after {deadline.seconds:g} s") from None
        message = errors.decode("utf-8", "replace")
        name = os.path.basename(command[0])
        if any(sign in message.lower() for sign in _OUT_OF_MEMORY):  # pdftoppm says so and still exits 0
            raise OcrFailed(f"{name} needed more than {self.settings.memory_mb} MB (OCR_MEMORY_MB)")
        if process.returncode != 0:
            raise OcrFailed(_failure(name, process.returncode, message))
        return output


class _Deadline:
    """The end of the time one page (or one helper run) may take, shared by its rendering and its reading."""

    def __init__(self, seconds: float) -> None:
        self.seconds = seconds
        self.end = time.monotonic() + seconds

    def left(self) -> float:
        return self.end - time.monotonic()


def _failure(name: str, code: int, message: str) -> str:
    last = next((line.strip() for line in reversed(message.splitlines()) if line.strip()), "")
    try:
        how = f"stopped by {signal.Signals(-code).name}" if code < 0 else f"exit {code}"
    except ValueError:
        how = f"stopped by signal {-code}"
    return f"{name} {how}" + (f": {last[:120]}" if last else "")


@dataclass
class OcrRun:
    """OCR of one document's pages: those read, those that failed and why, those left for want of time,
    and the time it took (at most about `budget` seconds, plus the page that crossed it)."""

    budget: float = float("inf")
    read: list[int | None] = field(default_factory=list)
    failed: dict[str, list[int | None]] = field(default_factory=dict)
    unread: list[int | None] = field(default_factory=list)
    seconds: float = 0.0

    @property
    def spent(self) -> bool:
        return self.seconds >= self.budget

    def page(self, number: int | None, reader: Callable[[], str]) -> str:
        """The page's text from `reader`, or "" when it failed or the budget is spent (recorded for the summary)."""
        if self.spent:
            self.unread.append(number)
            return ""
        started = time.perf_counter()
        try:
            text = reader()
        except OcrFailed as exc:
            self.failed.setdefault(str(exc), []).append(number)
            return ""
        finally:
            self.seconds += time.perf_counter() - started
        if text.strip():
            self.read.append(number)
        return text

    @property
    def notes(self) -> list[str]:
        """E.g. "pages 2, 5 read by OCR (3.1 s)" and "OCR failed on page 7 (timed out after 60 s)"."""
        notes = [_joined(pages_label(self.read), f"read by OCR ({self.seconds:.1f} s)")] if self.read else []
        notes += [
            _joined("OCR failed on" if pages_label(pages) else "OCR failed", pages_label(pages), f"({reason})")
            for reason, pages in self.failed.items()
        ]
        if self.unread:
            left = pages_label(self.unread) or f"{len(self.unread)} frames"
            notes.append(f"{left} not read: the file's OCR time ({self.budget:g} s, OCR_FILE_BUDGET) was spent")
        return notes


def pages_label(numbers: Sequence[int | None]) -> str:
    """ "page 3" or "pages 1-3, 7"; empty for a document without pages (an image)."""
    pages = sorted({n for n in numbers if n is not None})
    if not pages:
        return ""
    runs: list[list[int]] = []
    for number in pages:
        if runs and number == runs[-1][-1] + 1:
            runs[-1].append(number)
        else:
            runs.append([number])
    parts = [f"{run[0]}-{run[-1]}" if len(run) > 2 else ", ".join(map(str, run)) for run in runs]
    return ("page " if len(pages) == 1 else "pages ") + ", ".join(parts)


def _joined(*parts: str) -> str:
    return " ".join(part for part in parts if part)
