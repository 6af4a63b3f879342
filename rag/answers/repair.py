"""Repairing an answer after its claims are checked: citations that exist, and no invented fact shown as fact.

Citation numbers that point at no source are dropped (or replaced by the passage that holds the
sentence's items), a sentence whose items are in another passage cites that one instead, a citation of a passage
that holds none of a sentence's items, beside one that holds them, is dropped, a URL in no source
loses its link, and, when the answer is written from evidence (the embedded default), a sentence that
fails its check, or an answer that says nothing, gives way to the evidence sentence it should have said;
an answer that holds is followed by that sentence.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from rag.answers.claims import ClaimReport, PassageIndex, SentenceCheck
from rag.answers.evidence import Evidence, in_other_script
from rag.answers.sentences import split_sentences

_CITATION = re.compile(r"\s?\[(\d+)\]")
_WORDS = re.compile(r"[^\W\d_]{2,}")
_FILE_NOTE = re.compile(r"\([^()]*\.\w{2,4}\)")
SAYS_NOTHING_WORDS = 3
"""An answer with fewer words, once its lead, citations and file names are gone, says nothing."""
_LEAD_WORDS = frozenset({"according", "to", "согласно", "според"})


@dataclass
class Repair:
    text: str
    replaced: int = 0  # sentences (or a whole empty answer) given way to evidence
    dropped_citations: list[int] = field(default_factory=list)
    moved_citations: list[int] = field(default_factory=list)  # valid numbers of sources that hold none of the sentence
    unlinked_urls: int = 0


def says_nothing(text: str) -> bool:
    """Only a lead, citation numbers and file names: "According to [5] (notes.md)"."""
    words = [
        w for w in _WORDS.findall(_FILE_NOTE.sub(" ", _CITATION.sub(" ", text))) if w.casefold() not in _LEAD_WORDS
    ]
    return len(words) < SAYS_NOTHING_WORDS


def vouched(report: ClaimReport, evidence: list[Evidence]) -> bool:
    """Whether a small model's answer can be shown before the evidence: it states something checkable (a
    number, name, command, file...), and the best quote holds every such item.

    Read on the dev half of eval/real: a small model's sentence in the evidence's own words, but without
    its fact ("the station is installed on an open site", asked how high), or with a fact from the wrong
    sentence, reads as an answer and is not one; the quote under it then contradicts the first line. Every
    item, not one: "4.8 GB ... 20 billion parameters" from a quote of 4.8 bits per weight and 4.4 GB held one.
    The best quote, not the second: asked for the NMU version of 1.5, a model took "1.5+nmu4" from the second
    quote's example of 1.5+nmu3.
    """
    items = [item for check in report.sentences for item in check.items]
    if not items or report.failed:
        return False
    shown = PassageIndex(quoted(evidence[:1]))
    return all(shown.holds(item) for item in items)


_LEAD = re.compile(
    r"\s*(?:according to|согласно|според)\s*((?:\[\d+\](?:\s*,\s*|\s+(?:and|и)\s+)?)+)\s*(?:\([^()]*\)\s*)?[,:]?\s*",
    re.IGNORECASE,
)


def without_lead(text: str) -> str:
    """ "According to [2], the port is 3000." -> "The port is 3000 [2].": the completion prompt's lead is how a base
    model is started, not how an answer should read; its citation moves to the end of the first sentence."""
    lead = _LEAD.match(text)
    rest = text[lead.end() :] if lead else ""
    if lead is None or not rest.strip():
        return text
    rest = rest[0].upper() + rest[1:]
    first = split_sentences(rest)[0]
    if _CITATION.search(first.text):
        return rest
    cited = " ".join(re.findall(r"\[\d+\]", lead.group(1)))
    end = first.end - 1 if rest[first.end - 1] in ".!?" else first.end
    return f"{rest[:end]} {cited}{rest[end:]}"


def quoted(evidence: list[Evidence]) -> str:
    """The evidence as an answer: each quote on a line of its own, with its source number."""
    return "\n\n".join(f"“{quote.text}” [{quote.number}]" for quote in evidence)


def in_other_language(text: str, evidence: list[Evidence], language: str) -> bool:
    """A small model's answer with next to none of the question's script, when the best quote is in it: a Russian
    question about a Russian page answered in English ("GOST is a bundle of BibTeX styles..."). Scripts, not
    languages: a short Bulgarian answer may read as Russian, a Russian one naming programs as English."""
    if not language:
        return False
    latin = language == "en"
    return in_other_script(text, latin) and not in_other_script(evidence[0].text, latin)


def _citations_fixed(text: str, check: SentenceCheck, source_count: int, repair: Repair) -> str:
    def fix(match: re.Match[str]) -> str:
        number = int(match.group(1))
        if number in check.idle:
            repair.moved_citations.append(number)
            return _removed(match)
        if 1 <= number <= source_count:
            return match.group()
        repair.dropped_citations.append(number)
        return f" [{check.supported_by}]" if check.supported_by else ""

    text = _CITATION.sub(fix, text)
    if check.supported_by and f"[{check.supported_by}]" not in text:
        body = text.rstrip()
        end = len(body) - 1 if body[-1:] in ".!?" else len(body)
        text = f"{body[:end]} [{check.supported_by}]{body[end:]}"
    return text


def _removed(match: re.Match[str]) -> str:
    """What a removed citation leaves: its leading space where another citation follows it directly ("[1][2]")."""
    followed = match.string.startswith("[", match.end())
    return match.group()[: len(match.group()) - len(match.group().lstrip())] if followed else ""


def _unlinked(text: str, check: SentenceCheck, repair: Repair) -> str:
    for item in check.failed:
        if item.kind == "url" and item.text in text:
            text = text.replace(item.text, f"`{item.text}`")
            repair.unlinked_urls += 1
    return text


def repaired(
    text: str,
    report: ClaimReport,
    evidence: list[Evidence],
    source_count: int,
    from_evidence: bool,
    language: str = "",
) -> Repair:
    """The answer as it should be shown; `from_evidence` lets failed sentences give way to the evidence, and an
    answer in another language than the question's (`language`) to a quote in the question's."""
    repair = Repair(text)
    if (
        from_evidence
        and evidence
        and (
            not text.strip()
            or says_nothing(text)
            or not vouched(report, evidence)
            or in_other_language(text, evidence, language)
        )
    ):
        repair.text, repair.replaced = quoted(evidence), 1
        return repair
    pieces, last, used = [], 0, False
    for check in report.sentences:
        sentence = check.sentence
        pieces.append(text[last : sentence.start])
        last = sentence.end
        if not check.ok and from_evidence and evidence:
            repair.replaced += 1
            if not used:
                pieces.append(quoted(evidence))
                used = True
            continue
        pieces.append(_unlinked(_citations_fixed(sentence.text, check, source_count, repair), check, repair))
    pieces.append(text[last:])
    repair.text = re.sub(r"[ \t]{2,}", " ", "".join(pieces)).strip()
    if from_evidence and evidence and not used:
        repair.text = with_quote(repair.text, evidence)
    return repair


def with_quote(text: str, evidence: list[Evidence]) -> str:
    """A small model's answer followed by the sentence it rests on: a reader sees the proof in the answer
    itself, and the fact even when the model's wording left it out (measured on the dev half of eval/real)."""
    quote = quoted(evidence)
    return text if quote in text else f"{text}\n\n{quote}"
