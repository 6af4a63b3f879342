"""PPTX: one page per slide (its number), the slide title as heading, then shapes, tables and speaker notes."""

from __future__ import annotations

import io
import zipfile
from collections.abc import Iterable, Iterator

from lxml.etree import XMLSyntaxError
from pptx import Presentation
from pptx.enum.shapes import MSO_SHAPE_TYPE
from pptx.exc import PythonPptxError
from pptx.shapes.base import BaseShape
from pptx.slide import Slide

from rag.ingest.loaders.archive import open_ooxml
from rag.ingest.loaders.base import Block, BlockBuilder, LoadedDocument, SkipFile

_CORRUPT = (PythonPptxError, zipfile.BadZipFile, KeyError, ValueError, TypeError, AttributeError, XMLSyntaxError)
NOTES_LABEL = "Notes: "


def _shapes(shapes: Iterable[BaseShape]) -> Iterator[BaseShape]:
    """Shapes in the slide's order, with the members of groups in place of the group (nesting is
    bounded by the XML parser's depth limit)."""
    for shape in shapes:
        if _is_group(shape):
            yield from _shapes(shape.shapes)  # type: ignore[attr-defined]
        else:
            yield shape


def _is_group(shape: BaseShape) -> bool:
    """python-pptx cannot classify a shape without geometry (some exporters write them): it is no group,
    and its text is read like any other's."""
    try:
        return shape.shape_type == MSO_SHAPE_TYPE.GROUP
    except NotImplementedError:
        return False


def _shape_text(shape: BaseShape) -> str:
    """A text frame's paragraphs one per line, or a table's rows with cells joined by ' | '."""
    if shape.has_text_frame:
        return shape.text_frame.text.replace("\v", "\n")  # type: ignore[attr-defined]
    if getattr(shape, "has_table", False):
        rows = shape.table.rows  # type: ignore[attr-defined]
        return "\n".join(" | ".join(cell.text.replace("\v", " ").strip() for cell in row.cells) for row in rows)
    return ""


def _slide_blocks(slide: Slide, number: int) -> list[Block]:
    """A title alone on its slide (a section divider) is its text too, so that it is found."""
    builder = BlockBuilder(page=number)
    title_shape = slide.shapes.title
    title = " ".join(title_shape.text_frame.text.split()) if title_shape is not None else ""
    heading = (title,) if title else ()
    for shape in _shapes(slide.shapes):
        if title_shape is None or shape.shape_id != title_shape.shape_id:
            builder.add(_shape_text(shape), heading)
    if slide.has_notes_slide:
        notes = slide.notes_slide.notes_text_frame
        if notes is not None and notes.text.strip():
            builder.add(NOTES_LABEL + notes.text.replace("\v", "\n").strip(), heading)
    if not builder.blocks:
        builder.add(title, ())
    return builder.blocks


def load_pptx(data: bytes) -> LoadedDocument:
    """Page N is slide N (hidden slides included); offsets are within the slide's text, like a PDF page's."""
    open_ooxml(data, "PPTX").close()
    try:
        presentation = Presentation(io.BytesIO(data))
        slides = list(presentation.slides)
        if not slides:
            raise SkipFile("presentation has no slides")
        blocks = [block for number, slide in enumerate(slides, start=1) for block in _slide_blocks(slide, number)]
    except _CORRUPT as exc:
        raise SkipFile(f"corrupt PPTX ({type(exc).__name__})") from exc
    return LoadedDocument(blocks)
