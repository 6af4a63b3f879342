"""HTML: the visible text in reading order, grouped by block element, under its h1-h6 headings."""

from __future__ import annotations

import re

from bs4 import BeautifulSoup, Comment, Doctype, NavigableString, Tag

from rag.loaders.base import BlockBuilder, HeadingStack, LoadedDocument
from rag.loaders.text import decode_nonempty

_INVISIBLE = {"script", "style", "noscript", "template", "head", "svg", "iframe", "object", "canvas", "nav"}
"""Never indexed: code, styling, embedded objects, and navigation menus (the same links on every page)."""
_HEADINGS = {f"h{level}": level for level in range(1, 7)}
_BLOCKS = {
    "p", "li", "dt", "dd", "pre", "blockquote", "td", "th", "caption", "figcaption",
    "div", "section", "article", "main", "aside", "header", "footer", "nav", "address",
    "tr", "ul", "ol", "dl", "table", "form", "fieldset", "details", "summary", "body",
}  # fmt: skip
_SPACES = re.compile(r"[ \t\r\f\v]*\n[ \t\r\f\v\n]*|[ \t\r\f\v]+")


def _block_of(node: NavigableString) -> Tag | None:
    """The nearest heading or block ancestor, or None when the text is inside something invisible."""
    block = None
    for parent in node.parents:
        if parent.name in _INVISIBLE or (parent.name and parent.get("hidden") is not None):
            return None
        if block is None and (parent.name in _HEADINGS or parent.name in _BLOCKS):
            block = parent
    return block


def _clean(text: str) -> str:
    return _SPACES.sub(lambda m: "\n" if "\n" in m.group() else " ", text).strip()


def load_html(data: bytes) -> LoadedDocument:
    """Visible text only: scripts, styles, comments and hidden elements are dropped."""
    source, notes = decode_nonempty(data)
    soup = BeautifulSoup(source, "html.parser")
    title = soup.title.get_text(" ", strip=True) if soup.title else ""
    headings = HeadingStack((title,) if title else ())
    builder = BlockBuilder()
    current: Tag | None = None
    pieces: list[str] = []

    def flush() -> None:
        if current is not None and current.name in _HEADINGS:
            headings.push(_HEADINGS[current.name], _clean(" ".join(pieces)))
        elif pieces:
            builder.add(_clean("".join(pieces)), headings.path)
        pieces.clear()

    for node in soup.descendants:
        if not isinstance(node, NavigableString) or isinstance(node, (Comment, Doctype)):
            continue
        block = _block_of(node)
        if block is None:
            continue
        if block is not current:
            flush()
            current = block
        pieces.append(str(node))
    flush()
    return LoadedDocument(builder.blocks, notes)
