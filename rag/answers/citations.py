"""Citation markers in an answer ("[2]"): which sources it cites, and which numbers point at none."""

from __future__ import annotations

import re

_CITATION = re.compile(r"\[(\d+)\]")


def cited_numbers(answer: str, source_count: int) -> list[int]:
    """Source numbers the answer cites, in order of first mention, ignoring numbers with no such source."""
    seen: list[int] = []
    for match in _CITATION.finditer(answer):
        number = int(match.group(1))
        if 1 <= number <= source_count and number not in seen:
            seen.append(number)
    return seen


def missing_sources(answer: str, source_count: int) -> list[int]:
    """Citation numbers in the answer that point at no source: a model inventing a reference."""
    numbers = [int(match.group(1)) for match in _CITATION.finditer(answer)]
    return sorted({n for n in numbers if not 1 <= n <= source_count})
