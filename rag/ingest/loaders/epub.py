"""EPUB: chapters in spine order, each read like an HTML page under the book title and its chapter title.

An EPUB is a zip: META-INF/container.xml names the package document (OPF), whose spine lists the
chapters in reading order and whose table of contents (EPUB 3 nav or EPUB 2 NCX) names them. That
is little to read with zipfile, lxml and the HTML loader, so no EPUB library is used (the common
one, EbookLib, is AGPL-licensed).
"""

from __future__ import annotations

import posixpath
import re
import zipfile
from dataclasses import dataclass
from urllib.parse import unquote

from bs4 import BeautifulSoup, Tag

from rag.ingest.loaders.archive import open_zip, read_member, read_xml
from rag.ingest.loaders.base import BlockBuilder, HeadingStack, LoadedDocument, SkipFile
from rag.ingest.loaders.decoding import decode_text
from rag.ingest.loaders.html import add_html

KIND = "EPUB"
CONTAINER = "META-INF/container.xml"
ENCRYPTION = "META-INF/encryption.xml"
FONT_OBFUSCATION = {"http://www.idpf.org/2008/embedding", "http://ns.adobe.com/pdf/enc#RC"}
"""Encryption methods that only scramble embedded fonts: the text stays readable, so these are not DRM."""
_CHAPTER_TYPES = {"application/xhtml+xml", "text/html"}
_HEADING = re.compile(r"^h[1-6]$")


@dataclass(frozen=True)
class _Item:
    path: str
    media_type: str
    properties: frozenset[str]


def _resolve(base: str, href: str) -> str:
    """The archive path of `href` (percent-encoded, maybe with a #fragment) relative to the folder `base`."""
    return posixpath.normpath(posixpath.join(base, unquote(href.split("#", 1)[0]))).lstrip("/")


def _clean(text: str | None) -> str:
    return " ".join((text or "").split())


def _refuse_drm(archive: zipfile.ZipFile, names: set[str]) -> None:
    """An encryption.xml that encrypts anything but fonts means the chapters are unreadable without a key."""
    if ENCRYPTION not in names:
        return
    for data in read_xml(archive, ENCRYPTION, KIND).iterfind(".//{*}EncryptedData"):
        method = data.find("{*}EncryptionMethod")
        if method is None or method.get("Algorithm") not in FONT_OBFUSCATION:
            raise SkipFile("encrypted EPUB (DRM)")


def _package_path(archive: zipfile.ZipFile, names: set[str]) -> str:
    if CONTAINER in names:
        rootfile = read_xml(archive, CONTAINER, KIND).find(".//{*}rootfile")
        if rootfile is not None and rootfile.get("full-path"):
            return _resolve("", rootfile.get("full-path", ""))
    package = next((name for name in sorted(names) if name.endswith(".opf")), None)
    if package is None:
        raise SkipFile("corrupt EPUB (no package document)")
    return package


def _toc_labels(archive: zipfile.ZipFile, manifest: dict[str, _Item], toc_id: str | None) -> dict[str, str]:
    """Chapter file -> its first title in the table of contents (nav of EPUB 3, else NCX of EPUB 2)."""
    labels: dict[str, str] = {}
    nav = next((item for item in manifest.values() if "nav" in item.properties), None)
    ncx = manifest.get(toc_id or "") or next(
        (item for item in manifest.values() if item.media_type == "application/x-dtbncx+xml"), None
    )
    if nav is not None:
        text, _ = decode_text(read_member(archive, nav.path, KIND))
        soup = BeautifulSoup(text, "html.parser")
        toc = soup.find("nav", attrs={"epub:type": re.compile(r"\btoc\b")}) or soup.find("nav")
        for link in toc.find_all("a", href=True) if isinstance(toc, Tag) else []:
            target = _resolve(posixpath.dirname(nav.path), str(link["href"]))
            labels.setdefault(target, _clean(link.get_text(" ")))
    elif ncx is not None:
        for point in read_xml(archive, ncx.path, KIND).iter("{*}navPoint"):
            content, label = point.find("{*}content"), point.find("{*}navLabel/{*}text")
            if content is not None and content.get("src") and label is not None:
                target = _resolve(posixpath.dirname(ncx.path), content.get("src", ""))
                labels.setdefault(target, _clean(label.text))
    return {path: label for path, label in labels.items() if label}


def _chapter(data: bytes, builder: BlockBuilder, book: tuple[str, ...], chapter: str) -> None:
    """The chapter title leads the path unless the chapter opens with a heading saying the same."""
    text, _ = decode_text(data)
    soup = BeautifulSoup(text, "html.parser")
    first = soup.find(_HEADING)
    opens_with_title = isinstance(first, Tag) and _clean(first.get_text(" ")) == chapter
    root = book + ((chapter,) if chapter and not opens_with_title else ())
    add_html(soup, builder, HeadingStack(root))


def load_epub(data: bytes) -> LoadedDocument:
    """Each spine document is read once, in order; a file the table of contents does not name (a chapter
    split in two) continues the chapter before it. The table of contents page itself is left out."""
    archive = open_zip(data, KIND)
    names = set(archive.namelist())
    _refuse_drm(archive, names)
    package_path = _package_path(archive, names)
    package = read_xml(archive, package_path, KIND)
    base = posixpath.dirname(package_path)
    manifest = {
        item.get("id", ""): _Item(
            _resolve(base, item.get("href", "")),
            item.get("media-type", ""),
            frozenset(item.get("properties", "").split()),
        )
        for item in package.iterfind("{*}manifest/{*}item")
    }
    spine = package.find("{*}spine")
    if spine is None or not len(spine):
        raise SkipFile("corrupt EPUB (empty spine)")
    try:
        labels = _toc_labels(archive, manifest, spine.get("toc"))
    except SkipFile:  # a missing or broken table of contents leaves the chapters readable, only untitled
        labels = {}
    title = _clean(package.findtext("{*}metadata/{*}title"))
    builder = BlockBuilder()
    chapter, seen, unreadable = "", set(), 0
    for ref in spine.iterfind("{*}itemref"):
        item = manifest.get(ref.get("idref", ""))
        if item is None or item.path in seen or item.media_type not in _CHAPTER_TYPES or "nav" in item.properties:
            continue
        seen.add(item.path)
        chapter = labels.get(item.path, chapter)
        try:
            _chapter(read_member(archive, item.path, KIND), builder, (title,) if title else (), chapter)
        except SkipFile:
            unreadable += 1
    if seen and unreadable == len(seen):
        raise SkipFile(f"corrupt EPUB (none of its {len(seen)} chapters could be read)")
    notes = [f"{unreadable} of {len(seen)} chapters could not be read"] if unreadable else []
    return LoadedDocument(builder.blocks, notes)
