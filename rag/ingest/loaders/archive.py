"""Zip-based formats (OOXML, EPUB, OpenDocument): opened only when their inflated size is bounded.

Every member of a zip declares its uncompressed size, and Python's zipfile never inflates a
member past that size (a member that lies fails its CRC check instead), so refusing an archive
whose declared sizes add up to too much bounds the memory and time any parser can spend on it.
"""

from __future__ import annotations

import io
import zipfile
import zlib

from lxml import etree

from rag.ingest.loaders.base import SkipFile

MAX_INFLATED_BYTES = 256 * 2**20
"""Most bytes all members of one document may inflate to: a 25 MB file of text and images stays
well under it, and a zip bomb (kilobytes that inflate to gigabytes) is refused before parsing."""
MAX_PARSED_PART_BYTES = 32 * 2**20
"""Most bytes one XML or XHTML part may inflate to where it is parsed whole into a tree (python-docx,
python-pptx, lxml, BeautifulSoup), which takes several times its size in memory: more than the
largest HTML file ingestion takes at the default 25 MB limit. XLSX sheets are streamed, so exempt."""
_PARSED_SUFFIXES = (".xml", ".rels", ".xhtml", ".html", ".htm", ".opf", ".ncx")
_OLE_MAGIC = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"
_ENCRYPTED_PACKAGE = "EncryptedPackage".encode("utf-16-le")
_READ_ERRORS = (zipfile.BadZipFile, zlib.error, EOFError, OSError, ValueError, NotImplementedError)
_XML_PARSER = etree.XMLParser(resolve_entities=False, no_network=True, load_dtd=False, huge_tree=False)
"""No entity expansion (billion laughs), no network, and libxml2's default depth and size limits."""


def open_zip(data: bytes, kind: str, *, parsed_whole: bool = True) -> zipfile.ZipFile:
    """The archive of a document of format `kind` (such as "EPUB"), or SkipFile saying why not.

    `parsed_whole`: its XML parts are parsed into trees, so each is held to MAX_PARSED_PART_BYTES too.
    """
    try:
        archive = zipfile.ZipFile(io.BytesIO(data))
        members = archive.infolist()
    except _READ_ERRORS as exc:
        raise SkipFile(f"corrupt {kind} ({type(exc).__name__})") from exc
    inflated = sum(info.file_size for info in members)
    if inflated > MAX_INFLATED_BYTES:
        raise SkipFile(
            f"{kind} inflates to {_mb(inflated)}, over the {_mb(MAX_INFLATED_BYTES)} limit (possible zip bomb)"
        )
    parts = [info for info in members if info.filename.lower().endswith(_PARSED_SUFFIXES)] if parsed_whole else []
    largest = max(parts, key=lambda info: info.file_size, default=None)
    if largest is not None and largest.file_size > MAX_PARSED_PART_BYTES:
        raise SkipFile(
            f"{kind} part {largest.filename[:80]} inflates to {_mb(largest.file_size)}, "
            f"over the {_mb(MAX_PARSED_PART_BYTES)} limit for one part (possible zip bomb)"
        )
    return archive


def _mb(size: int) -> str:
    return f"{size / 2**20:,.0f} MB"


def open_ooxml(data: bytes, kind: str, *, parsed_whole: bool = True) -> zipfile.ZipFile:
    """An Office Open XML file (DOCX, PPTX, XLSX), after telling encrypted and old binary files apart.

    Office saves a password-protected document as an OLE compound file holding an `EncryptedPackage`
    stream instead of a zip; a .doc, .ppt or .xls renamed to the new suffix is an OLE file too.
    """
    if data.startswith(_OLE_MAGIC):
        if _ENCRYPTED_PACKAGE in data:
            raise SkipFile(f"encrypted {kind} (needs a password)")
        raise SkipFile(f"not a {kind}: an old binary Office file (save it in the {kind} format)")
    return open_zip(data, kind, parsed_whole=parsed_whole)


def read_member(archive: zipfile.ZipFile, name: str, kind: str) -> bytes:
    """One member's bytes; a missing or damaged member means a corrupt document."""
    try:
        return archive.read(name)
    except KeyError as exc:
        raise SkipFile(f"corrupt {kind} (missing {name})") from exc
    except RuntimeError as exc:  # zipfile's "password required" for a member encrypted in the zip itself
        raise SkipFile(f"encrypted {kind} (password-protected zip)") from exc
    except _READ_ERRORS as exc:
        raise SkipFile(f"corrupt {kind} ({type(exc).__name__} in {name})") from exc


def parse_xml(data: bytes, kind: str, name: str) -> etree._Element:
    """A member parsed as XML with entity expansion and network access off."""
    try:
        return etree.fromstring(data, _XML_PARSER)
    except etree.XMLSyntaxError as exc:
        raise SkipFile(f"corrupt {kind} (malformed XML in {name})") from exc


def read_xml(archive: zipfile.ZipFile, name: str, kind: str) -> etree._Element:
    return parse_xml(read_member(archive, name, kind), kind, name)
