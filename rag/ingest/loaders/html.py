"""HTML: the visible text in reading order, grouped by block element, under its h1-h6 headings."""

from __future__ import annotations

import re
from collections.abc import Iterator

from bs4 import BeautifulSoup, Comment, Doctype, NavigableString, PageElement, Tag

from rag.ingest.loaders.base import BlockBuilder, HeadingStack, LoadedDocument
from rag.ingest.loaders.text import decode_nonempty

_INVISIBLE = {"script", "style", "noscript", "template", "head", "svg", "iframe", "object", "canvas", "nav"}
"""Never indexed: code, styling, embedded objects, and navigation menus (the same links on every page)."""
_HEADINGS = {f"h{level}": level for level in range(1, 7)}
_BLOCKS = {
    "p", "li", "dt", "dd", "pre", "blockquote", "td", "th", "caption", "figcaption",
    "div", "section", "article", "main", "aside", "header", "footer", "nav", "address",
    "tr", "ul", "ol", "dl", "table", "form", "fieldset", "details", "summary", "body",
}  # fmt: skip
_SPACES = re.compile(r"[ \t\r\f\v]*\n[ \t\r\f\v\n]*|[ \t\r\f\v]+")


def _visible_texts(root: Tag) -> Iterator[tuple[Tag, str]]:
    """Each visible text node with its nearest heading or block element, in reading order.

    One descent with an explicit stack: linear in the size of the page, and deep nesting cannot
    exhaust Python's recursion limit. Invisible subtrees are never entered.
    """
    stack: list[tuple[PageElement, Tag | None]] = [(root, None)]
    while stack:
        node, block = stack.pop()
        if isinstance(node, Tag):
            if node.name in _INVISIBLE or node.get("hidden") is not None:
                continue
            if node.name in _HEADINGS or node.name in _BLOCKS:
                block = node
            stack.extend((child, block) for child in reversed(node.contents))
        elif block is not None and isinstance(node, NavigableString) and not isinstance(node, (Comment, Doctype)):
            yield block, str(node)


def _clean(text: str) -> str:
    return _SPACES.sub(lambda m: "\n" if "\n" in m.group() else " ", text).strip()


def add_html(soup: BeautifulSoup, builder: BlockBuilder, headings: HeadingStack) -> None:
    """Add the visible text of a parsed page to `builder`, its h1-h6 headings pushed onto `headings`."""
    current: Tag | None = None
    pieces: list[str] = []

    def flush() -> None:
        if current is not None and current.name in _HEADINGS:
            headings.push(_HEADINGS[current.name], _clean(" ".join(pieces)))
        elif pieces:
            builder.add(_clean("".join(pieces)), headings.path)
        pieces.clear()

    for block, text in _visible_texts(soup):
        if block is not current:
            flush()
            current = block
        pieces.append(text)
    flush()


def load_html(data: bytes) -> LoadedDocument:
    """Visible text only: scripts, styles, comments and hidden elements are dropped."""
    source, notes = decode_nonempty(data)
    soup = BeautifulSoup(source, "html.parser")
    title = soup.title.get_text(" ", strip=True) if soup.title else ""
    builder = BlockBuilder()
    add_html(soup, builder, HeadingStack((title,) if title else ()))
    return LoadedDocument(builder.blocks, notes)
