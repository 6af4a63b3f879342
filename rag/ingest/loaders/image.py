"""Images (PNG, JPEG, TIFF): their text read by OCR; the frames of a multi-page TIFF are its pages."""

from __future__ import annotations

import io
import math
import struct
import warnings
from functools import partial

from PIL import Image, ImageOps, UnidentifiedImageError

from rag.ingest.loaders.base import Block, BlockBuilder, LoadedDocument, SkipFile
from rag.ingest.ocr import Ocr, OcrRun

IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".tif", ".tiff")
_FORMATS = ["PNG", "JPEG", "TIFF"]
"""The only decoders tried, whatever the extension says: Pillow would otherwise also open formats
such as EPS, whose plugin runs Ghostscript."""
_DECODE_ERRORS = (OSError, SyntaxError, ValueError, EOFError, struct.error)
"""What Pillow raises for truncated or malformed image data."""
warnings.filterwarnings("ignore", category=Image.DecompressionBombWarning)  # such images are refused with a reason


def _open(data: bytes) -> Image.Image:
    try:
        return Image.open(io.BytesIO(data), formats=_FORMATS)
    except Image.DecompressionBombError as exc:
        raise SkipFile(f"image too large ({exc})") from exc
    except UnidentifiedImageError as exc:
        raise SkipFile("not a readable PNG, JPEG or TIFF image") from exc
    except _DECODE_ERRORS as exc:
        raise SkipFile(f"corrupt image ({exc})") from exc


def _grey(image: Image.Image) -> Image.Image:
    """8-bit grey, with transparent areas made white (as on paper) and 16-bit samples scaled, not clipped."""
    if image.mode.startswith("I;16"):
        return image.convert("I").point(lambda value: value / 256).convert("L")
    if image.has_transparency_data:
        rgba = image.convert("RGBA")
        return Image.composite(rgba.convert("L"), Image.new("L", rgba.size, 255), rgba.getchannel("A"))
    return image.convert("L")


def _frame(image: Image.Image, index: int, max_pixels: int) -> tuple[Image.Image, float | None]:
    """Frame `index` upright, grey and at most `max_pixels`, with its resolution for Tesseract.

    Above Pillow's decompression-bomb limit a frame is refused before it is decoded, so the memory
    an image can take here is bounded whatever its header claims.
    """
    try:
        image.seek(index)
        width, height = image.size
        limit = Image.MAX_IMAGE_PIXELS
        if limit is not None and width * height > limit:
            raise SkipFile(f"image too large ({width}x{height} pixels; the limit is {limit / 1e6:.0f} megapixels)")
        if image.format == "JPEG":  # decode at 1/2, 1/4 or 1/8 scale when that is still large enough
            scale = min(1.0, math.sqrt(max_pixels / max(1, width * height)))
            image.draft("L", (math.ceil(width * scale), math.ceil(height * scale)))
        frame = _grey(ImageOps.exif_transpose(image))
    except _DECODE_ERRORS as exc:
        raise SkipFile(f"corrupt image ({exc})") from exc
    scale = math.sqrt(max_pixels / (frame.width * frame.height))
    if scale < 1:
        size = (max(1, int(frame.width * scale)), max(1, int(frame.height * scale)))
        frame = frame.resize(size, Image.Resampling.LANCZOS)
    dpi = image.info.get("dpi")
    resolution = (
        float(dpi[0]) * math.sqrt(frame.width * frame.height / max(1, width * height)) if dpi and dpi[0] else None
    )
    return frame, resolution


def load_image(data: bytes, ocr: Ocr) -> LoadedDocument:
    """Every frame read by OCR; a frame that cannot be decoded is noted, or skips the file when it is the only one."""
    if ocr.problem is not None:
        raise SkipFile(f"image needs OCR; {ocr.problem}", ocr=True)
    image = _open(data)
    try:
        frames = getattr(image, "n_frames", 1)
    except _DECODE_ERRORS as exc:
        raise SkipFile(f"corrupt image ({exc})") from exc
    run = OcrRun(ocr.settings.file_budget)
    blocks: list[Block] = []
    notes: list[str] = []
    for index in range(frames):
        number = index + 1 if frames > 1 else None
        if run.spent:  # not even decoded: a 3,000-frame TIFF is read for the budget's time, not for hours
            run.unread.append(number)
            continue
        try:
            frame, dpi = _frame(image, index, ocr.max_pixels)
        except SkipFile as exc:
            if frames == 1:
                raise
            notes.append(f"page {number}: {exc}")
            continue
        builder = BlockBuilder(page=number)
        builder.add_paragraphs(run.page(number, partial(ocr.read_image, frame, dpi)), ())
        blocks.extend(builder.blocks)
    if not blocks:
        raise SkipFile("; ".join(run.notes + notes) if run.failed or notes else "OCR found no text", ocr=True)
    return LoadedDocument(blocks, run.notes + notes, ocr=True)
