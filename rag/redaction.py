"""Masking personal data before anything is sent to a cloud backend.

Clear, tested patterns rather than a model-based detector, so it runs offline and predictably:
e-mail addresses, phone numbers, IBANs (checksum-verified), payment card numbers (Luhn-verified),
IPv4 and IPv6 addresses, and the user's own patterns. Within one request the same value always
gets the same placeholder, so the model can still tell "[EMAIL_1]" from "[EMAIL_2]", and the
answer can be shown with the originals restored.
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Callable
from dataclasses import dataclass, field

_EMAIL = re.compile(r"\b[\w.+-]+@[\w-]+(?:\.[\w-]+)*\.[A-Za-z]{2,}\b")
_IBAN = re.compile(r"\b[A-Z]{2}\d{2}(?: ?[A-Z0-9]{4}){2,7}(?: ?[A-Z0-9]{1,4})?\b")
_CARD = re.compile(r"\b\d(?:[ -]?\d){12,18}\b")
_PHONE = re.compile(r"(?<![\w+])\+?\(?\d[\d \t().-]{6,}\d\b")
_DATE = re.compile(r"^\d{4}[-./]\d{1,2}[-./]\d{1,2}$|^\d{1,2}[-./]\d{1,2}[-./]\d{4}$")
_IPV4 = re.compile(r"\b(?:\d{1,3}\.){3}\d{1,3}\b")
_IPV6 = re.compile(r"(?<![\w:.])(?=[0-9A-Fa-f:]*:[0-9A-Fa-f:]*:)[0-9A-Fa-f:]{3,39}(?![\w:])")


def _luhn(number: str) -> bool:
    digits = [int(d) for d in number if d.isdigit()]
    checksum = 0
    for index, digit in enumerate(reversed(digits)):
        if index % 2 == 1:
            digit = digit * 2 - 9 if digit * 2 > 9 else digit * 2
        checksum += digit
    return checksum % 10 == 0


def _iban_ok(value: str) -> bool:
    compact = value.replace(" ", "")
    if not 15 <= len(compact) <= 34:
        return False
    rearranged = compact[4:] + compact[:4]
    return int("".join(str(int(c, 36)) for c in rearranged)) % 97 == 1


def _ip_ok(value: str) -> bool:
    try:
        ipaddress.ip_address(value)
    except ValueError:
        return False
    return True


def _phone_ok(value: str) -> bool:
    """9 to 15 digits (E.164), and not a date such as 2024-01-15."""
    digits = sum(c.isdigit() for c in value)
    return 9 <= digits <= 15 and not _DATE.match(value.strip())


@dataclass(frozen=True)
class Detector:
    kind: str
    pattern: re.Pattern[str]
    valid: Callable[[str], bool] = lambda value: True


BUILT_IN = (
    Detector("EMAIL", _EMAIL),
    Detector("IBAN", _IBAN, _iban_ok),
    Detector("CARD", _CARD, _luhn),
    Detector("IP", _IPV4, _ip_ok),
    Detector("IP", _IPV6, _ip_ok),
    Detector("PHONE", _PHONE, _phone_ok),
)
"""Order matters: the more specific patterns claim their text before the phone pattern sees it."""


@dataclass
class Redactor:
    """Replaces sensitive values with placeholders, consistently within one request."""

    detectors: tuple[Detector, ...] = BUILT_IN
    mapping: dict[str, str] = field(default_factory=dict)  # original -> placeholder
    _counts: dict[str, int] = field(default_factory=dict)

    @classmethod
    def with_user_patterns(cls, patterns: list[str]) -> Redactor:
        user = tuple(Detector("CUSTOM", re.compile(p)) for p in patterns if p.strip())
        return cls(user + BUILT_IN)

    def _placeholder(self, kind: str, value: str) -> str:
        if value not in self.mapping:
            self._counts[kind] = self._counts.get(kind, 0) + 1
            self.mapping[value] = f"[{kind}_{self._counts[kind]}]"
        return self.mapping[value]

    def redact(self, text: str) -> str:
        for detector in self.detectors:
            text = detector.pattern.sub(
                lambda m, d=detector: self._placeholder(d.kind, m.group()) if d.valid(m.group()) else m.group(), text
            )
        return text

    def restore(self, text: str) -> str:
        """Put the originals back into text that came from the cloud, for display only."""
        for original, placeholder in self.mapping.items():
            text = text.replace(placeholder, original)
        return text

    @property
    def count(self) -> int:
        return len(self.mapping)
