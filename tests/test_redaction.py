"""Masking before the cloud: each format in Bulgarian, Russian and English sentences, ordinary text
left exactly as it is, originals restored exactly, adversarial input, and the user's own patterns.

Timing is not asserted here (adversarial input only has a generous guard that the call returns):
`python -m bench.redaction_speed` measures it.
"""

from __future__ import annotations

import re
import sys
import unicodedata

import pytest

from rag.privacy.redaction import Redactor

MASKED = {
    # Phone numbers
    "bg-slash": ("Обадете се на 02/987 65 43 след обяд.", "Обадете се на [PHONE_1] след обяд."),
    "bg-nbsp": (
        "Телефонът на лабораторията е +359\u00a02\u00a0987\u00a06543, обадете се до 17 ч.",
        "Телефонът на лабораторията е [PHONE_1], обадете се до 17 ч.",
    ),
    "bg-narrow-nbsp": ("Регистратура: +359\u202f2\u202f987\u202f6543.", "Регистратура: [PHONE_1]."),
    "bg-line-break": (
        "Пишете ми или звънете на +359 88\n123 4567 до петък.",
        "Пишете ми или звънете на [PHONE_1] до петък.",
    ),
    "bg-mobile": (
        "Мобилният ми номер е 0888 123 456, звънете вечер.",
        "Мобилният ми номер е [PHONE_1], звънете вечер.",
    ),
    "bg-one-a-line": ("Телефони:\n0888 123 456\n0888 654 321\n", "Телефони:\n[PHONE_1]\n[PHONE_2]\n"),
    "bg-after-date": ("На 15.01.2024 звънете на 0888 123 456.", "На 15.01.2024 звънете на [PHONE_1]."),
    "ru-line-break": ("Мой номер +7 495\n765-43-21, звоните после обеда.", "Мой номер [PHONE_1], звоните после обеда."),
    "ru-en-dash": ("Позвоните по номеру +7–495–765–43–21 до пятницы.", "Позвоните по номеру [PHONE_1] до пятницы."),
    "ru-em-dash": ("Телефон приёмной: +7—495—765—43—21.", "Телефон приёмной: [PHONE_1]."),
    "ru-brackets": (
        "Звоните по телефону 8 (495) 765-43-21 в рабочее время.",
        "Звоните по телефону [PHONE_1] в рабочее время.",
    ),
    "ru-minus-sign": ("Секретарь: +7\u00a0495\u00a0765\u221243\u221221.", "Секретарь: [PHONE_1]."),
    "en-uk": ("Call the front desk on +44 20 7946 0958 before noon.", "Call the front desk on [PHONE_1] before noon."),
    "en-us": ("call +1 (555) 010-9999 today", "call [PHONE_1] today"),
    "en-crlf": ("Reach me on +44 20\r\n7946 0958 tomorrow.", "Reach me on [PHONE_1] tomorrow."),
    "en-after-number": ("Rooms 101 and 102 +359 2 987 6543 (reception)", "Rooms 101 and 102 [PHONE_1] (reception)"),
    # Card numbers
    "bg-card-dots": (
        "Номерът на картата ми е 4111.1111.1111.1111, моля, не го споделяйте.",
        "Номерът на картата ми е [CARD_1], моля, не го споделяйте.",
    ),
    "ru-card-double-spaces": (
        "Номер карты 4111  1111  1111  1111 действует до 05/27.",
        "Номер карты [CARD_1] действует до 05/27.",
    ),
    "en-card-then-expiry": ("My card 4111 1111 1111 1111 05/27 was declined.", "My card [CARD_1] 05/27 was declined."),
    "en-card-nbsp": ("Card 5500\u00a00000\u00a00000\u00a00004 is on file.", "Card [CARD_1] is on file."),
    "en-card-en-dash": ("The card 5500–0000–0000–0004 expired.", "The card [CARD_1] expired."),
    "en-two-cards": (
        "Cards 4111 1111 1111 1111 4012 8888 8888 1881 are blocked.",
        "Cards [CARD_1] [CARD_2] are blocked.",
    ),
    # IBANs
    "bg-iban-lowercase": (
        "Преведете сумата по сметка bg80bnbg96611020345678 до края на месеца.",
        "Преведете сумата по сметка [IBAN_1] до края на месеца.",
    ),
    "bg-iban-dashes": (
        "IBAN: BG80-BNBG-9661-1020-3456-78, титуляр Иван Петров.",
        "IBAN: [IBAN_1], титуляр Иван Петров.",
    ),
    "ru-iban-spaces": (
        "Переведите деньги на счёт DE89 3704 0044 0532 0130 00 до пятницы.",
        "Переведите деньги на счёт [IBAN_1] до пятницы.",
    ),
    "en-iban-then-word": ("Pay to ES91 2100 0418 4502 0005 1332 this week.", "Pay to [IBAN_1] this week."),
    "en-iban-nbsp": (
        "Send it to GB29\u00a0NWBK\u00a06016\u00a01331\u00a09268\u00a019 please.",
        "Send it to [IBAN_1] please.",
    ),
    # E-mail addresses
    "en-spaced-at": ("Write to ivan.petrov @ example.com for the report.", "Write to [EMAIL_1] for the report."),
    "en-bracketed": (
        "Contact ivan (at) example (dot) com or ivan[at]example[dot]com.",
        "Contact [EMAIL_1] or [EMAIL_2].",
    ),
    "en-bracketed-capitals": ("Mail IVAN [AT] EXAMPLE [DOT] COM today.", "Mail [EMAIL_1] today."),
    "en-word-at": ("Reach me at ivan at example (dot) com tomorrow.", "Reach me at [EMAIL_1] tomorrow."),
    "en-spaced-dots": ("My address is ivan . petrov @ example . com, thanks.", "My address is [EMAIL_1], thanks."),
    "en-fullwidth-at": ("Send it to ivan＠example.com now.", "Send it to [EMAIL_1] now."),
    "bg-idn": (
        "Пишете на анна@пример.рф или на ivan.petrov@пример.бг.",
        "Пишете на [EMAIL_1] или на [EMAIL_2].",
    ),
    "bg-bracketed": ("Имейлът ми е ivan(at)abv(dot)bg, пишете.", "Имейлът ми е [EMAIL_1], пишете."),
    "ru-sobaka": ("Мой адрес: ivan (собака) mail (точка) ru, пишите.", "Мой адрес: [EMAIL_1], пишите."),
    "ru-spaced-at": ("Пишите на ivan.petrov @ mail.ru до вечера.", "Пишите на [EMAIL_1] до вечера."),
    "ru-idn": ("Пишите Петру на пётр@почта.рф до вечера.", "Пишите Петру на [EMAIL_1] до вечера."),
    "en-idn": ("Write to ivan.petrov@пример.бг for the invoice.", "Write to [EMAIL_1] for the invoice."),
    "ru-punycode": ("Адрес ivan@xn--e1afmkfd.xn--p1ai работает.", "Адрес [EMAIL_1] работает."),
    # IP addresses
    "en-ip": ("host 10.0.0.7 and fe80::1ff:fe23:4567:890a", "host [IP_1] and [IP_2]"),
    # Written to slip past: invisible characters, wide separators, other separators, spelled-out signs
    "en-card-zero-width": ("Card 4111\u200b1111\u200b1111\u200b1111 is on file.", "Card [CARD_1] is on file."),
    "en-card-soft-hyphens": ("Card 4111\u00ad1111\u00ad1111\u00ad1111 is on file.", "Card [CARD_1] is on file."),
    "bg-phone-word-joiner": ("Звънете на 0888\u2060123\u2060456 вечер.", "Звънете на [PHONE_1] вечер."),
    "en-email-zero-width": ("Write to maria\u200b.ivanova@clinic\u200b.example now.", "Write to [EMAIL_1] now."),
    "en-card-wide-separators": ("Card 4111 - 1111 - 1111 - 1111 expired.", "Card [CARD_1] expired."),
    "en-card-slashes": ("Card 4111/1111/1111/1111 expired.", "Card [CARD_1] expired."),
    "en-card-underscores": ("Card 4111_1111_1111_1111 expired.", "Card [CARD_1] expired."),
    "ru-phone-wide-separators": ("Звоните: +7 - 495 - 765 - 43 - 21.", "Звоните: [PHONE_1]."),
    "bg-iban-dots": ("Сметка BG80.BNBG.9661.1020.3456.78 на фирмата.", "Сметка [IBAN_1] на фирмата."),
    "en-email-braces": ("Mail maria {at} clinic {dot} example today.", "Mail [EMAIL_1] today."),
    "en-email-caps-words": ("Mail maria AT clinic DOT example today.", "Mail [EMAIL_1] today."),
}

ORDINARY = {
    "en-dates-times": "The meeting on 2024-01-15 14:00 moved to 15.01.2024 10:30.",
    "bg-dates": "Срещата е на 2024-01-15 от 14:00 ч., а срокът е 15.01.2024 г.",
    "ru-date-range": "Встреча перенесена: 15.01.2024 - 20.01.2024, в 10:30.",
    "en-us-dates": "From 01/15/2024 to 02/20/2024 the office is closed.",
    "en-versions": "Python 3.11.7 and 3.12.1 are installed; version 1.2.3.4000 too.",
    "en-years": "Between 1989 and 2024, and again in 2022 2023.",
    "en-pages": "See pages 120–135 and pp. 1024-1096 (chapters 3-5).",
    "bg-prices": "Цената е 1 299,99 лв., а бюджетът — 12 500 000 000 лв.",
    "ru-prices": "Стоимость 1.250.000.000 руб., или $1,250,000,000.00.",
    "en-isbn": "ISBN 978-3-16-148410-0 and ISBN 0-306-40615-2 are cited.",
    "ru-short-numbers": "Номер заказа 12345678, код 1234 5678, всего 99999999 шт.",
    "en-at-words": "Let's meet at noon at the cafe; look at the data at page 5.",
    "en-at-sites": "The docs are at docs.python.org and the code at github.com/org/repo.",
    "bg-decimals": "Пи е 3.14159265358979, координатите са 42.6977082, 23.3218675.",
    "en-brackets": "Say hello at the desk (at the back) [dot matrix printer].",
    "en-numbers": "On 2024-01-15 at 14:00:00, 2,000 tokens on port 11434 cost 0.0006 USD; 1234 5678 9012 3456",
    "bg-unicode-punctuation": "Цена\u00a0— 5\u00a0лв.; сезон 2024–2025; ред\u2028нов.",
    "en-at-dot-caps": "The AT command set and the DOT language are documented AT length.",
    "en-soft-hyphens": "Inter\u00adnational\u00adization of 2024\u200b-01-15 and page 12\u200b34.",
}

ADVERSARIAL_SIZE = 128 * 1024
"""Big enough that a pattern that backtracks quadratically (the old e-mail one took 3 s on 32 KB of
`a.a.a`) cannot finish within the guard below; linear masking takes about 0.1 s."""
HANG_GUARD_S = 30
"""Seconds before an adversarial test counts as hung: a guard that the call returns, not a benchmark."""


def _repeat(piece: str, tail: str = "") -> str:
    return piece * (ADVERSARIAL_SIZE // len(piece)) + tail


ADVERSARIAL = {
    "dots": _repeat("a."),
    "at-without-tld": "a@" + _repeat("a."),
    "long-local-part": _repeat("a", "@"),
    "at-signs": _repeat("a@"),
    "spaced-dots": _repeat("a . "),
    "bracketed-at": _repeat("x (at) "),
    "at-words": _repeat("meet at "),
    "digits-and-spaces": _repeat("1 "),
    "one-digit-run": _repeat("1"),
    "digits-over-lines": _repeat("1\n"),
    "eight-digits-a-line": _repeat("1234 5678\n"),
    "card-like-groups": _repeat("4111 "),
    "short-digit-runs": _repeat("1 " * 78 + "x "),
    "short-card-like-runs": _repeat("4111 " * 31 + "x "),
    "bad-card-checksums": _repeat("4111 1111 1111 1112; "),
    "iban-like": _repeat("bg11 aaaa "),
    "dotted-numbers": _repeat("1."),
    "hex-and-colons": _repeat("a:"),
    "brackets": _repeat("(1) "),
}


def _characters(*categories: str) -> list[str]:
    return [chr(c) for c in range(sys.maxunicode + 1) if unicodedata.category(chr(c)) in categories]


UNICODE_SPACES = [c for c in _characters("Zs") if c != " "]
UNICODE_DASHES = [c for c in _characters("Pd") if c != "-"] + ["\u2212"]


@pytest.mark.parametrize(("text", "masked"), MASKED.values(), ids=MASKED.keys())
def test_personal_data_is_masked_and_restored_exactly(text: str, masked: str) -> None:
    redactor = Redactor()
    assert redactor.redact(text) == masked
    assert redactor.restore(masked) == text


@pytest.mark.parametrize("text", ORDINARY.values(), ids=ORDINARY.keys())
def test_ordinary_text_is_not_masked(text: str) -> None:
    assert Redactor().redact(text) == text


@pytest.mark.parametrize("space", UNICODE_SPACES, ids=lambda c: f"U+{ord(c):04X}")
def test_every_unicode_space_inside_a_phone_number(space: str) -> None:
    assert Redactor().redact(f"Телефон: +359{space}2{space}987{space}6543.") == "Телефон: [PHONE_1]."


@pytest.mark.parametrize("dash", UNICODE_DASHES, ids=lambda c: f"U+{ord(c):04X}")
def test_every_unicode_dash_inside_a_phone_number(dash: str) -> None:
    assert Redactor().redact(f"Телефон: +7{dash}495{dash}765{dash}43{dash}21.") == "Телефон: [PHONE_1]."


def test_only_the_values_change_and_the_mapping_holds_the_originals() -> None:
    text = "Звоните\u00a0— +7–495–765–43–21\u00a0— или пишете на ivan (at) mail (dot) ru."
    redactor = Redactor()
    masked = redactor.redact(text)
    assert masked == "Звоните\u00a0— [PHONE_1]\u00a0— или пишете на [EMAIL_1]."
    assert redactor.mapping == {"+7–495–765–43–21": "[PHONE_1]", "ivan (at) mail (dot) ru": "[EMAIL_1]"}
    assert redactor.count == 2 and redactor.restore(masked) == text


def test_placeholders_are_numbered_in_text_order_and_reused() -> None:
    redactor = Redactor()
    first = redactor.redact("Call 0888 123 456 or +359 2 987 6543; again 0888 123 456.")
    assert first == "Call [PHONE_1] or [PHONE_2]; again [PHONE_1]."
    assert redactor.redact("Still +359 2 987 6543.") == "Still [PHONE_2]."


def test_restore_replaces_each_placeholder_once() -> None:
    redactor = Redactor.with_user_patterns([r"ref:\S+"])
    masked = redactor.redact("ref:[EMAIL_2] from a@x.example and b@y.example")
    assert masked == "[CUSTOM_1] from [EMAIL_1] and [EMAIL_2]"
    assert redactor.restore("[CUSTOM_1], [EMAIL_2], [EMAIL_9]") == "ref:[EMAIL_2], b@y.example, [EMAIL_9]"


@pytest.mark.timeout(HANG_GUARD_S)
@pytest.mark.parametrize("text", ADVERSARIAL.values(), ids=ADVERSARIAL.keys())
def test_adversarial_input_returns_unmasked(text: str) -> None:
    assert Redactor().redact(text) == text


@pytest.mark.timeout(HANG_GUARD_S)
@pytest.mark.parametrize("prefix", [ADVERSARIAL["dots"], ADVERSARIAL["digits-and-spaces"], ADVERSARIAL["spaced-dots"]])
def test_a_value_after_adversarial_input_is_still_masked(prefix: str) -> None:
    text = f"{prefix} ivan@example.com, +359 2 987 6543"
    assert Redactor().redact(text) == f"{prefix} [EMAIL_1], [PHONE_1]"


def test_an_invalid_user_pattern_is_named_in_a_clear_error() -> None:
    with pytest.raises(ValueError, match=re.escape(r"REDACT_PATTERNS: invalid regular expression PATIENT-(\d+")):
        Redactor.with_user_patterns([r"PATIENT-\d{6}", r"PATIENT-(\d+"])


def test_user_patterns_come_first_and_read_folded_dashes() -> None:
    redactor = Redactor.with_user_patterns([r"PATIENT-\d{6}", r"ivan@example\.com", "  "])
    masked = redactor.redact("Пациент PATIENT–123456, лекар ivan@example.com.")
    assert masked == "Пациент [CUSTOM_1], лекар [CUSTOM_2]."
    assert redactor.restore(masked) == "Пациент PATIENT–123456, лекар ivan@example.com."


def test_a_user_pattern_that_matches_the_empty_string_masks_nothing_and_ends() -> None:
    assert Redactor.with_user_patterns([r"z*", r"(?:)"]).redact("мейл a@b.example") == "мейл [EMAIL_1]"
