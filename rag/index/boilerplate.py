"""Passages that match many questions and answer none: tables of contents and back-of-book indexes.

A PDF's index page ("libtasn1.h ........ 7") holds every term of the manual, so keyword search ranks it
above the page that explains the term. Such passages stay searchable but are demoted: their score is
multiplied by a factor below one. Detected from the text alone, in linear time. (Navigation menus never
reach the index: the HTML loader drops `nav`.)
"""

from __future__ import annotations

import re

_DOT_LEADER = re.compile(r"(?:\.\s?){4,}\s*[\divxlc]+\s*$", re.IGNORECASE)
_DOT_RUN = re.compile(r"(?:\. ?){4,}")
DOTTED_SHARE = 0.3
"""A passage whose text is this much dot leaders is a table of contents or an index, however it was
wrapped (PDF text often arrives as one line: the per-line test cannot see it)."""
_INDEX_ENTRY = re.compile(r"^\D.{0,80}?[\s,]\d{1,4}(?:[-–]\d{1,4})?(?:,\s*\d{1,4}(?:[-–]\d{1,4})?)*$")
INDEX_PAGE = 0.35
"""Score factor for a table of contents or an index page."""


def boilerplate_factor(text: str) -> float:
    """1.0 for prose, tables and lists; less for a table of contents or a back-of-book index."""
    runs = _DOT_RUN.findall(text)
    if len(runs) >= 3 and sum(map(len, runs)) >= DOTTED_SHARE * len(text):
        return INDEX_PAGE
    lines = [line.strip() for line in text.splitlines() if line.strip()]
    if len(lines) < 4:
        return 1.0
    if sum(1 for line in lines if _DOT_LEADER.search(line)) >= 3:
        return INDEX_PAGE
    entries = sum(1 for line in lines if " | " not in line and _INDEX_ENTRY.match(line))
    return INDEX_PAGE if len(lines) >= 8 and entries / len(lines) >= 0.6 else 1.0
