"""Turns bytes of unknown encoding into text, or says why they are not text."""

from __future__ import annotations

import codecs

from charset_normalizer import from_bytes

from rag.ingest.loaders.base import SkipFile

_CONTROL_BYTES = set(range(0, 9)) | {11, 12} | set(range(14, 32))
_BOMS = (
    (codecs.BOM_UTF32_LE, "utf-32"),
    (codecs.BOM_UTF32_BE, "utf-32"),
    (codecs.BOM_UTF16_LE, "utf-16"),
    (codecs.BOM_UTF16_BE, "utf-16"),
)
LEGACY_ENCODINGS = ["cp1251", "koi8_r", "iso8859_5", "cp866", "mac_cyrillic", "cp1252", "latin_1"]
"""Single-byte encodings our users' older files come in: Cyrillic (Bulgarian, Russian) and Western European."""


def looks_binary(data: bytes) -> bool:
    """NUL bytes or many control characters in the first 8 KiB mean this is not a text file."""
    sample = data[:8192]
    if b"\x00" in sample:
        return True
    controls = sum(1 for b in sample if b in _CONTROL_BYTES)
    return bool(sample) and controls / len(sample) > 0.05


def decode_text(data: bytes) -> tuple[str, str | None]:
    """Decode `data`; return the text and a note when it was not plain UTF-8."""
    for bom, encoding in _BOMS:
        if data.startswith(bom):
            return data.decode(encoding, errors="replace"), f"decoded as {encoding} (byte order mark)"
    if looks_binary(data):
        raise SkipFile("binary content, not text")
    try:
        return data.decode("utf-8-sig"), None
    except UnicodeDecodeError:
        pass
    lenient = data.decode("utf-8", errors="replace")
    bad = lenient.count("\ufffd")
    valid = sum(1 for char in lenient if ord(char) > 127) - bad
    if valid <= bad:  # mostly undecodable: a legacy encoding rather than damaged UTF-8
        best = from_bytes(data[:1_000_000], cp_isolation=LEGACY_ENCODINGS).best()
        if best is not None:
            try:
                return data.decode(best.encoding), f"decoded as {best.encoding} (not UTF-8)"
            except (UnicodeDecodeError, LookupError):
                pass
    return lenient, f"invalid UTF-8: {bad} undecodable byte sequence(s) replaced"
