"""Masking personal data before anything is sent to a cloud backend.

Clear, tested patterns rather than a model-based detector, so it runs offline and predictably:
e-mail addresses (also written `name (at) host (dot) com`), phone numbers, IBANs (country length
and checksum verified), payment card numbers (Luhn-verified), IPv4 and IPv6 addresses, and the
user's own patterns. Within one request the same value always gets the same placeholder, so the
model can still tell "[EMAIL_1]" from "[EMAIL_2]", and the answer can be shown with the originals
restored.

Detectors read a folded copy of the text: Unicode spaces become " ", Unicode dashes "-", line
separators "\\n", and invisible format characters (a zero-width space, a soft hyphen, a word joiner)
are left out, so `4111\u200b1111...` is the card it shows. Each folded character remembers where it
came from, so what is replaced (and later restored) is exactly the original substring.

Every built-in pattern runs in linear time: no nested quantifiers over overlapping classes, and a
pattern that may scan a long run can only start where the run starts (look-behinds), so each run
is read about once whatever the input (`python -m bench.redaction_speed` measures it).
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from itertools import accumulate

Span = tuple[int, int]
Pick = Callable[[str], Iterable[Span]]
"""Which parts of one match are personal data, as offsets into the match."""

_SPACES = (
    "\t\v\f\r\x1c\x1d\x1e\x1f\xa0\u1680\u2000\u2001\u2002\u2003\u2004\u2005\u2006\u2007\u2008\u2009\u200a"
    "\u202f\u205f\u3000"
)
_BREAKS = "\x85\u2028\u2029"
_DASHES = (
    "\u058a\u05be\u1400\u1806\u2010\u2011\u2012\u2013\u2014\u2015\u2212\u2e17\u2e1a\u2e3a\u2e3b\u2e40\u2e5d"
    "\u301c\u3030\u30a0\ufe31\ufe32\ufe58\ufe63\uff0d\U00010ead"
)
_FOLD = {
    **dict.fromkeys(map(ord, _SPACES), " "),
    **dict.fromkeys(map(ord, _BREAKS), "\n"),
    **dict.fromkeys(map(ord, _DASHES), "-"),
    **dict.fromkeys(map(ord, "\uff20\ufe6b"), "@"),
}
"""One character for one."""
_INVISIBLE = frozenset(
    "\u00ad\u034f\u061c\u115f\u1160\u17b4\u17b5\u180b\u180c\u180d\u180e\u180f\ufeff"
    + "".join(
        map(chr, [*range(0x200B, 0x2010), *range(0x202A, 0x202F), *range(0x2060, 0x2070), *range(0xFE00, 0xFE10)])
    )
)
"""Format characters a reader does not see (Unicode's default-ignorable code points in running text)."""

_BLANK = "\0"
"""What found values are overwritten with, so later detectors neither match them nor run across them."""

# E-mail: the at sign may be spaced or written as a word; a plain " at " needs a bracketed "(dot)"
# too, so that "meet at noon" or "docs at python.org" stay as they are.
_LOCAL = r"(?<![\w.+-])(?<! \. )[\w.+-]+(?: \. [\w.+-]+)*"
_AT = r"(?: {0,3}@ {0,3}| {0,3}[(\[{<] ?(?:at|собака) ?[)\]}>] {0,3})"
_AT_WORD = r"(?: (?:at|собака) | {1,3}(?-i:AT) {1,3})"
_DOT_WORD = r"(?: {0,3}[(\[{<] ?(?:dot|точка) ?[)\]}>] {0,3}| {1,3}(?-i:DOT) {1,3})"
_DOT = rf"(?:\.| \. |{_DOT_WORD})"
_TLD = r"(?:xn--[a-z0-9-]+|[^\W\d_]{2,})(?![\w@])"
_EMAIL = re.compile(
    rf"{_LOCAL}(?:{_AT}[\w-]+(?:{_DOT}[\w-]+)*{_DOT}|{_AT_WORD}[\w-]+(?:{_DOT_WORD}[\w-]+)*{_DOT_WORD}){_TLD}",
    re.IGNORECASE,
)

_IBAN_CHAR = re.compile(r"[A-Za-z0-9]")
_IBAN_LENGTHS = {
    "NO": 15,
    "BE": 16,
    "LC": 32,
    "RU": 33,
    **dict.fromkeys(("DK", "FI", "FK", "FO", "GL", "NL", "SD"), 18),
    **dict.fromkeys(("MK", "SI"), 19),
    **dict.fromkeys(("AT", "BA", "EE", "KZ", "LT", "LU", "MN", "XK"), 20),
    **dict.fromkeys(("CH", "HR", "LI", "LV"), 21),
    **dict.fromkeys(("BG", "BH", "CR", "DE", "GB", "GE", "IE", "ME", "RS", "VA"), 22),
    **dict.fromkeys(("AE", "GI", "IL", "IQ", "OM", "SO", "TL"), 23),
    **dict.fromkeys(("AD", "CZ", "ES", "MD", "PK", "RO", "SA", "SE", "SK", "TN", "VG"), 24),
    **dict.fromkeys(("LY", "PT", "ST"), 25),
    **dict.fromkeys(("IS", "TR"), 26),
    **dict.fromkeys(("BI", "DJ", "FR", "GR", "IT", "MC", "MR", "SM"), 27),
    **dict.fromkeys(("AL", "AZ", "BY", "CY", "DO", "GT", "HN", "HU", "LB", "NI", "PL", "SV"), 28),
    **dict.fromkeys(("BR", "EG", "PS", "QA", "UA"), 29),
    **dict.fromkeys(("JO", "KW", "MU", "YE"), 30),
    **dict.fromkeys(("MT", "SC"), 31),
}
"""IBAN length by country (SWIFT IBAN registry): the IBAN ends there even if a word follows."""
_IBAN = re.compile(
    rf"(?<!\w)(?=[A-Za-z]{{2}}\d\d)(?i:{'|'.join(_IBAN_LENGTHS)})\d\d(?:[ ./_-]{{0,3}}[A-Za-z0-9]){{11,30}}(?![A-Za-z0-9])"
)
_IBAN_NUMBERS = {ord(c): str(int(c, 36)) for c in "ABCDEFGHIJKLMNOPQRSTUVWXYZ"}
"""Letters as the checksum counts them: A = 10 ... Z = 35."""

# Digit runs start only where a run starts (not after a digit and one or two separators), so a
# long run is scanned once, not once per digit.
_CARD = re.compile(r"(?<![^\W_])(?<!\d[ ./_-])(?<!\d[ ./_-]{2})(?<!\d[ ./_-]{3})\d(?:[ ./_-]{0,3}\d){12,}(?![^\W_])")
_CARD_RUN_LIMIT = 160
"""A longer run of digit groups is a table of numbers, not a few card numbers side by side."""
_DIGITS = re.compile(r"\d+")
_LUHN_DOUBLED = str.maketrans("0123456789", "0246813579")
"""Each digit doubled, less 9 when over 9."""
_DIGIT_VALUES = {str(digit): digit for digit in range(10)}
"""Faster than int() on the many checksums of a long run of digit groups."""

_IPV4 = re.compile(r"(?<!\w)(?<!\d\.)(?:\d{1,3}\.){3}\d{1,3}(?!\w|\.\d)")
_IPV6 = re.compile(r"(?<![\w:.])(?=[0-9A-Fa-f]{0,4}:[0-9A-Fa-f]{0,4}:)[0-9A-Fa-f:]{3,39}(?![\w:])")

_DAY = r"(?:0?[1-9]|[12]\d|3[01])"
_YEAR = r"(?:1[89]|20)\d\d"
_DATE = re.compile(rf"(?<!\d)(?<!\d[-./])(?:{_YEAR}([-./]){_DAY}\1{_DAY}|{_DAY}([-./]){_DAY}\2{_YEAR})(?!\d|[-./]\d)")

# A phone number: at least 9 digits, with up to two separators between digits, over one line break
# at most (`+359 88⏎123 4567`); a "+" always starts a new number.
_PHONE_SEP = r"[ ./()-]"
_PHONE_STEP = rf"{_PHONE_SEP}{{0,3}}\d"
_PHONE_BREAK = rf"{_PHONE_SEP}{{0,3}}\n{_PHONE_STEP}"
_PHONE_EIGHT_MORE = "|".join(
    [rf"(?:{_PHONE_STEP}){{8}}"]
    + [rf"(?:{_PHONE_STEP}){{{k}}}{_PHONE_BREAK}(?:{_PHONE_STEP}){{{7 - k}}}" for k in range(8)]
)
"""Eight more digits, on this line or over one line break: checked before the match so that short
numbers, one a line, never reach Python."""
_PHONE = re.compile(
    rf"(?:\+\(?|(?<![\w+])(?<!\d{_PHONE_SEP})(?<!\d{_PHONE_SEP}{{2}})(?<!\d{_PHONE_SEP}{{3}})\(?)\d(?={_PHONE_EIGHT_MORE})"
    rf"(?:{_PHONE_STEP})*(?:{_PHONE_BREAK}(?:{_PHONE_STEP})*)?(?!\w)"
)
_PHONE_LINE = re.compile(r"[+(]?\d(?:[^\n]*\d)?")
_AMOUNT = re.compile(r"[1-9]\d{0,2}([ .])\d{3}(?:\1\d{3})+")
_DECIMAL = re.compile(r"\d+\.\d+")

_PLACEHOLDER = re.compile(r"\[[A-Z]+_\d+\]")


def _digits(text: str) -> str:
    return "".join(_DIGITS.findall(text))


def _whole(value: str) -> tuple[Span, ...]:
    return ((0, len(value)),)


def _when(ok: Callable[[str], bool]) -> Pick:
    """The whole match where `ok` accepts it (a checksum, an address parser)."""
    return lambda value: _whole(value) if ok(value) else ()


def _luhn(digits: str) -> bool:
    """The card checksum, over a string of digits only."""
    if not digits.isascii():
        digits = "".join(str(int(d)) for d in digits)  # other scripts' digits, e.g. fullwidth
    summed = digits[-1::-2] + digits[-2::-2].translate(_LUHN_DOUBLED)
    return sum(map(_DIGIT_VALUES.__getitem__, summed)) % 10 == 0


def _iban(value: str) -> tuple[Span, ...]:
    """The IBAN at the start of a match: as many characters as its country's IBANs have, so that a
    word written after it (`... 1332 this`) is not taken in; checksum-verified."""
    length = _IBAN_LENGTHS[value[:2].upper()]
    compact = "".join(_IBAN_CHAR.findall(value))[:length].upper()
    if len(compact) < length or int((compact[4:] + compact[:4]).translate(_IBAN_NUMBERS)) % 97 != 1:
        return ()
    end = [m.end() for m in _IBAN_CHAR.finditer(value)][length - 1]
    return () if value[end : end + 1].isalnum() else ((0, end),)


def _cards(run: str) -> Iterator[Span]:
    """Card numbers in a run of digit groups (`4111 1111 1111 1111 05/27` holds one)."""
    if len(run) > _CARD_RUN_LIMIT:
        return
    groups = [m.span() for m in _DIGITS.finditer(run)]
    digits = "".join(run[start:end] for start, end in groups)
    before = list(accumulate((end - start for start, end in groups), initial=0))  # digits before each group
    first = 0
    while first < len(groups) and before[-1] - before[first] >= 13:
        last = _card_last(digits, before, first)
        if last is not None:
            yield groups[first][0], groups[last][1]
        first = first + 1 if last is None else last + 1


def _card_last(digits: str, before: list[int], first: int) -> int | None:
    """The last group of the longest card number that starts at group `first`: 13 to 19 digits,
    Luhn-valid, written as one group or starting with a group of four."""
    if before[first + 1] - before[first] != 4:
        whole = digits[before[first] : before[first + 1]]
        return first if 13 <= len(whole) <= 19 and _luhn(whole) else None
    best, last = None, first
    while last + 1 < len(before) and before[last + 1] - before[first] <= 19:
        if before[last + 1] - before[first] >= 13 and _luhn(digits[before[first] : before[last + 1]]):
            best = last
        last += 1
    return best


def _ip_ok(value: str) -> bool:
    try:
        ipaddress.ip_address(value)
    except ValueError:
        return False
    return True


def _isbn(value: str, digits: str) -> bool:
    """An ISBN-13 (978/979, EAN checksum) or a hyphenated ISBN-10: a book, not a phone number."""
    if len(digits) == 13 and digits[:3] in ("978", "979"):
        return sum(int(d) * (3 if i % 2 else 1) for i, d in enumerate(digits)) % 10 == 0
    return (
        len(digits) == 10 and value.count("-") == 3 and sum((10 - i) * int(d) for i, d in enumerate(digits)) % 11 == 0
    )


def _phone_ok(value: str) -> bool:
    """9 to 15 digits (E.164), and not an amount (`12 500 000 000`), a decimal number or an ISBN."""
    digits = _digits(value)
    if not 9 <= len(digits) <= 15:
        return False
    return not (_AMOUNT.fullmatch(value) or _DECIMAL.fullmatch(value) or _isbn(value, digits))


def _phones(run: str) -> Iterator[Span]:
    """Phone numbers in one or two lines of digits: two lines are one number only where the first is
    too short to be one, so a list of numbers, one a line, is not merged."""
    lines = [m.span() for m in _PHONE_LINE.finditer(run)]
    index = 0
    while index < len(lines):
        start, end = lines[index]
        joined = index + 1 < len(lines) and len(_digits(run[start:end])) < 9
        if joined and _phone_ok(run[start : lines[index + 1][1]]):
            yield start, lines[index + 1][1]
            index += 2
            continue
        if _phone_ok(run[start:end]):
            yield start, end
        index += 1


@dataclass(frozen=True)
class Detector:
    """A pattern, and which parts of each match are personal data.

    An empty kind keeps the text as it is and only stops later detectors from reading it: dates, so
    that `2024-01-15 14:00` is not read as a phone number.
    """

    kind: str
    pattern: re.Pattern[str]
    pick: Pick = _whole

    def spans(self, text: str) -> Iterator[Span]:
        """Values in text, in order; each search goes on after the last value found, so text is read about once."""
        position = 0
        while position <= len(text) and (match := self.pattern.search(text, position)) is not None:
            start = match.start()
            found = [(start + a, start + b) for a, b in self.pick(match.group()) if b > a]
            yield from found
            position = found[-1][1] if found else max(match.end(), start + 1)


BUILT_IN = (
    Detector("EMAIL", _EMAIL),
    Detector("IBAN", _IBAN, _iban),
    Detector("CARD", _CARD, _cards),
    Detector("IP", _IPV4, _when(_ip_ok)),
    Detector("IP", _IPV6, _when(_ip_ok)),
    Detector("", _DATE),
    Detector("PHONE", _PHONE, _phones),
)
"""Order matters: the more specific patterns claim their text before the phone pattern sees it."""


def _user_pattern(pattern: str) -> re.Pattern[str]:
    try:
        return re.compile(pattern)
    except re.error as error:
        raise ValueError(f"REDACT_PATTERNS: invalid regular expression {pattern} ({error})") from None


def _fold(text: str) -> tuple[str, list[int] | None]:
    """The text detectors read, and where each of its characters is in `text` (None: the same place)."""
    folded = text.translate(_FOLD)
    if _INVISIBLE.isdisjoint(folded):
        return folded, None
    origin = [index for index, char in enumerate(folded) if char not in _INVISIBLE]
    return "".join(folded[index] for index in origin), origin


def _blank(text: str, spans: list[Span]) -> str:
    pieces, last = [], 0
    for start, end in spans:
        pieces += [text[last:start], _BLANK * (end - start)]
        last = end
    pieces.append(text[last:])
    return "".join(pieces)


@dataclass
class Redactor:
    """Replaces sensitive values with placeholders, consistently within one request."""

    detectors: tuple[Detector, ...] = BUILT_IN
    mapping: dict[str, str] = field(default_factory=dict)  # original -> placeholder
    _counts: dict[str, int] = field(default_factory=dict)

    @classmethod
    def with_user_patterns(cls, patterns: list[str]) -> Redactor:
        """The user's own patterns (REDACT_PATTERNS) first, then the built-in ones.

        They read the folded text (an en dash is "-"). Raises ValueError naming a pattern that is not
        a valid regular expression, so a typo is reported as such instead of failing a request later.
        """
        user = tuple(Detector("CUSTOM", _user_pattern(p)) for p in patterns if p.strip())
        return cls(user + BUILT_IN)

    def _placeholder(self, kind: str, value: str) -> str:
        if value not in self.mapping:
            self._counts[kind] = self._counts.get(kind, 0) + 1
            self.mapping[value] = f"[{kind}_{self._counts[kind]}]"
        return self.mapping[value]

    def _find(self, text: str) -> list[tuple[int, int, str]]:
        """(start, end, kind) of each value, in text order; each detector reads the folded text with
        what earlier detectors found blanked out, so no two values overlap."""
        folded, origin = _fold(text)
        found = []
        for detector in self.detectors:
            spans = list(detector.spans(folded))
            if spans:
                folded = _blank(folded, spans)
                found += [(start, end, detector.kind) for start, end in spans if detector.kind]
        if origin is None:
            return sorted(found)
        return sorted((origin[start], origin[end - 1] + 1, kind) for start, end, kind in found)

    def redact(self, text: str) -> str:
        """The text with each personal value replaced by its placeholder and nothing else changed."""
        pieces, last = [], 0
        for start, end, kind in self._find(text):
            pieces += [text[last:start], self._placeholder(kind, text[start:end])]
            last = end
        pieces.append(text[last:])
        return "".join(pieces)

    def restore(self, text: str) -> str:
        """Put the originals back into text that came from the cloud, for display only.

        One pass, so an original that looks like a placeholder is never replaced again.
        """
        originals = {placeholder: original for original, placeholder in self.mapping.items()}
        return _PLACEHOLDER.sub(lambda m: originals.get(m.group(), m.group()), text)

    def stream_restorer(self) -> StreamRestorer:
        return StreamRestorer(self)

    @property
    def count(self) -> int:
        return len(self.mapping)


_PLACEHOLDER_START = re.compile(r"\[[A-Z]*(?:_\d*)?$")


class StreamRestorer:
    """Restores placeholders in text that arrives in pieces, for a client that cannot have a streamed
    piece replaced later: a piece ending in what may be the start of a placeholder is held back until
    the next piece says whether it is one."""

    def __init__(self, redactor: Redactor) -> None:
        self.redactor = redactor
        self._pending = ""

    def feed(self, piece: str) -> str:
        text = self._pending + piece
        tail = _PLACEHOLDER_START.search(text[-32:])
        cut = len(text) - len(tail.group()) if tail else len(text)
        self._pending = text[cut:]
        return self.redactor.restore(text[:cut])

    def flush(self) -> str:
        text, self._pending = self._pending, ""
        return self.redactor.restore(text)
