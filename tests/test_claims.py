"""Every claim checked against the cited passage; citations that exist; declines before any model runs."""

from __future__ import annotations

import asyncio
from pathlib import Path

from rag.answers.claims import check_claims, items_in
from rag.answers.evidence import Evidence
from rag.answers.repair import repaired, says_nothing, without_lead
from rag.ask import to_json
from rag.chat.answer_view import answer_block
from rag.chat.pipeline import Assistant, ChatOptions, Conversation, distinct
from rag.chat.routing import POLICIES
from rag.config import Settings
from rag.index.embedding import Embedder
from rag.index.names import names_in
from rag.index.records import ChunkRecord
from rag.index.retrieval import Hit, Retriever
from rag.ingest.pipeline import ingest
from rag.llm.backends import Backend

DOCKER = "Start it with docker run -d -p 3000:8080 ghcr.io/open-webui/open-webui:main and open the page."
PRICES = "The small model costs 0,15 USD per million input tokens. Office hours are on Tuesday at 14:00."
EVIDENCE = [Evidence("Open WebUI listens on port 3000 of the host.", 1, "a.md", None, 0, 10, 0.9)]


def test_numbers_ports_and_weekdays_must_be_in_the_cited_passage() -> None:
    report = check_claims(
        "According to [1], the host port 8000 is open. It costs 0.15 USD [2]. Come on Thursday [2].",
        [DOCKER, PRICES],
    )
    failed = {check.sentence.text: [item.text for item in check.failed] for check in report.failed}
    assert failed == {"According to [1], the host port 8000 is open.": ["8000"], "Come on Thursday [2].": ["Thursday"]}
    assert report.checked == 3, "the price (4,4 = 4.4, with its unit) passed"


def test_a_unit_that_differs_from_the_passage_fails() -> None:
    assert check_claims("It costs 0.15 EUR [1].", [PRICES]).failed
    assert not check_claims("It costs 0,15 USD [1].", [PRICES]).failed


def test_urls_files_commands_and_names_are_items() -> None:
    kinds = {item.kind: item.text for item in items_in("Run `apt update` in /etc/apt, see https://x.example/a by Ian.")}
    assert kinds == {"code": "apt update", "file": "/etc/apt", "url": "https://x.example/a", "name": "Ian"}


def test_a_number_with_another_unit_is_another_number() -> None:
    handbook = "The Q4_K_M format keeps about 4.8 bits per weight, so a 7 billion model needs roughly 4.4 GB."
    report = check_claims("The model needs 4.8 GB of memory [1].", [handbook])
    assert [item.text for item in report.failed[0].failed] == ["4.8 GB"], "4.8 bits are not 4.8 GB"
    assert not check_claims("It needs 4.4 GB and keeps 4.8 bits per weight [1].", [handbook]).failed
    assert [item.text for item in check_claims("It needs 4.8GB [1].", [handbook]).failed[0].failed] == ["4.8 GB"]


def test_a_version_is_checked_whole_and_a_date_as_numbers() -> None:
    """ "1.5+nmu4" checked as 1.5 passed against a passage about 1.5+nmu1."""
    policy = "If the current version is 1.5, an NMU gets version 1.5+nmu1; 2.36-9+deb12u1 is a stable update."
    assert [(i.kind, i.text) for i in items_in("Use 1.5+nmu4 or 2.36-9+deb12u1 [1].")] == [
        ("version", "1.5+nmu4"),
        ("version", "2.36-9+deb12u1"),
    ]
    assert [i.text for i in check_claims("It gets 1.5+nmu4 [1].", [policy]).failed[0].failed] == ["1.5+nmu4"]
    assert not check_claims("It gets 1.5+nmu1 [1].", [policy]).failed
    assert [i.kind for i in items_in("Released on 2024-05-01.")] == ["number", "number", "number"]


def test_a_right_claim_citing_the_wrong_passage_cites_the_right_one() -> None:
    """Instead of the wrong one, not beside it: a reader who follows [1] finds nothing of the sentence there (seen in
    the browser: "The weekly labs give 40 percent of the final grade [2] [1]", [2] the release notes)."""
    report = check_claims("Office hours are on Tuesday [1].", [DOCKER, PRICES])
    assert not report.failed and report.sentences[0].supported_by == 2
    fixed = repaired("Office hours are on Tuesday [1].", report, [], 2, from_evidence=False)
    assert fixed.text == "Office hours are on Tuesday [2]." and fixed.moved_citations == [1]
    both = "Office hours are on Tuesday [1][2]."
    fixed = repaired(both, check_claims(both, [DOCKER, PRICES]), [], 2, from_evidence=False)
    assert fixed.text == "Office hours are on Tuesday [2]."
    shared = "The page is on port 3000 and office hours are on Tuesday [1] [2]."
    fixed = repaired(shared, check_claims(shared, [DOCKER, PRICES]), [], 2, from_evidence=False)
    assert fixed.text == shared and fixed.moved_citations == [], "each cited passage holds part of the sentence"


def test_citations_of_sources_that_do_not_exist_are_dropped_or_mapped() -> None:
    text = "The page is on port 3000 [7]. See [6]."
    fixed = repaired(text, check_claims(text, [DOCKER]), [], 1, from_evidence=False)
    assert fixed.text.startswith("The page is on port 3000 [1].")
    assert "[7]" not in fixed.text and "[6]" not in fixed.text and sorted(fixed.dropped_citations) == [6, 7]


def test_an_invented_url_is_never_a_link() -> None:
    text = "Details at https://www.npmjs.com/package/node-event-sync [1]."
    fixed = repaired(text, check_claims(text, [DOCKER]), [], 1, from_evidence=False)
    assert "`https://www.npmjs.com/package/node-event-sync`" in fixed.text and fixed.unlinked_urls == 1


def test_answering_from_evidence_a_failed_sentence_gives_way_to_the_evidence() -> None:
    text = "According to [1], the host port 8000 is open."
    fixed = repaired(text, check_claims(text, [DOCKER]), EVIDENCE, 1, from_evidence=True)
    assert fixed.text == "“Open WebUI listens on port 3000 of the host.” [1]" and fixed.replaced == 1


def test_an_answer_that_says_nothing_gives_way_to_the_evidence() -> None:
    assert says_nothing("Согласно [5] (local-llm-vs-cloud-api.ru.md)")
    assert not says_nothing("Согласно [1], порт 3000 открыт на хосте.")
    fixed = repaired("According to [5] (notes.md)", check_claims("x", [DOCKER]), EVIDENCE, 1, from_evidence=True)
    assert fixed.text.startswith("“Open WebUI")


def test_answering_from_evidence_only_an_answer_that_vouches_for_itself_comes_first() -> None:
    """Nothing checkable, or a fact the shown quote does not hold: the evidence is the more trustworthy first
    line, even in the evidence's own words (they read as an answer without being one). A checkable claim that
    the sources and the quote hold keeps the model's answer, followed by the quote."""
    quote = "“Open WebUI listens on port 3000 of the host.” [1]"
    for vague in ("The server is generally available through the usual interface [1].", "It listens on the port [1]."):
        fixed = repaired(vague, check_claims(vague, [DOCKER]), EVIDENCE, 1, from_evidence=True)
        assert fixed.text == quote and fixed.replaced == 1
    mixed = "Use host port 3000 or 8080 [1]."  # 8080 is in the passage, not in the quote shown
    assert repaired(mixed, check_claims(mixed, [DOCKER]), EVIDENCE, 1, from_evidence=True).text == quote
    kept = "Use host port 3000 [1]."
    shown = repaired(kept, check_claims(kept, [DOCKER]), EVIDENCE, 1, from_evidence=True).text
    assert shown == f"{kept}\n\n{quote}", "the answer comes with the sentence it rests on"
    vague = "The server is generally available through the usual interface [1]."
    assert repaired(vague, check_claims(vague, [DOCKER]), EVIDENCE, 1, from_evidence=False).text == vague


def test_an_answer_is_vouched_for_by_the_best_quote_not_the_second() -> None:
    """Two quotes are shown when the scores cannot choose; a fact only the second holds is the model's guess."""
    policy = (
        "For example, if the current version is 1.5, then an NMU would get version 1.5+nmu1. For example, if the "
        "current version is 1.5+nmu3 (a native package which has already been NMUed), the NMU would get 1.5+nmu4."
    )
    first, second = (
        policy.index("For example, if the current version is 1.5,"),
        policy.index("For example, if the c", 9),
    )
    quotes = [
        Evidence(policy[first:second].strip(), 1, "nmu.html", None, first, second, 0.8),
        Evidence(policy[second:], 1, "nmu.html", None, second, len(policy), 0.75),
    ]
    wrong = "A non-maintainer upload of 1.5 gets version 1.5+nmu4 [1]."
    fixed = repaired(wrong, check_claims(wrong, [policy]), quotes, 1, from_evidence=True)
    assert fixed.replaced == 1 and "1.5+nmu4 [1]." not in fixed.text.split("\n\n")[0]
    assert fixed.text.split("\n\n") == ["“" + quotes[0].text + "” [1]", "“" + quotes[1].text + "” [1]"]
    right = "A non-maintainer upload of 1.5 gets version 1.5+nmu1 [1]."
    kept = repaired(right, check_claims(right, [policy]), quotes, 1, from_evidence=True)
    assert kept.replaced == 0 and kept.text.startswith(right)


def test_the_prompts_lead_is_not_how_an_answer_reads() -> None:
    assert without_lead("According to [2], the port is 3000.") == "The port is 3000 [2]."
    assert without_lead("Според [1] (a.md), ученикът може да вземе три книги. Друго.") == (
        "Ученикът може да вземе три книги [1]. Друго."
    )
    assert without_lead("Согласно [1], порт 3000 [2].") == "Порт 3000 [2]."
    assert without_lead("Според [1] и [3], партидата е от SA.") == "Партидата е от SA [1] [3]."
    assert without_lead("According to [5] (notes.md)") == "According to [5] (notes.md)", (
        "nothing after it: says nothing"
    )


def _hit(text: str, source: str = "a.md") -> Hit:
    return Hit(ChunkRecord(1, source, None, (), 0, len(text), text, ""), 1.0)


def test_a_passage_is_never_listed_twice() -> None:
    whole = _hit("First part. Second part of the same passage.")
    inside = _hit("second part of the same   passage.")
    other = _hit("Something else entirely.")
    assert distinct([whole, inside, other]) == [whole, other]


def test_failed_claims_are_marked_with_what_did_not_match(assistant: Assistant) -> None:
    backend = Backend(key="cloud", label="c", base_url="http://127.0.0.1:9/v1", model="m", is_local=False)
    retrieval = assistant.retrieve("Which port does the lab server use?", ChatOptions(passages=3))
    answer, _ = assistant.start(backend, "Which port does the lab server use?", retrieval, [], ChatOptions())
    answer.text = "The lab server listens on port 65530 [1]."
    assistant._check("Which port does the lab server use?", answer)
    block = answer_block(answer, {}, "en")
    assert "The lab server listens on port 65530 [1]. ⚠️" in block and "Not in the cited sources: 65530" in block


def test_a_question_the_documents_do_not_answer_is_declined_without_a_model(assistant: Assistant) -> None:
    def no_model(key: str) -> Backend:
        raise AssertionError("nothing may be generated for a declined question")

    question = "What is the boiling point of liquid nitrogen at sea level?"
    exchange = asyncio.run(assistant.ask(question, Conversation(), ChatOptions(), POLICIES["local"], no_model))
    payload = to_json(exchange)
    assert exchange.answers == [] and payload["declined"] is True
    sources = payload["sources"]
    assert payload["answer"] == exchange.note_text and isinstance(sources, list) and sources
    assert not any(source["cited"] for source in sources)


def test_paraphrased_questions_the_samples_answer_are_not_declined(assistant: Assistant) -> None:
    """Asked in other words than the documents use, or in another language: the best sentence scores low, and a
    decline would hide the answer (the office hours; the English greenhouse page asked in Russian)."""
    for question in ("When can I meet the lecturer outside class?", "Когда поливают растения в теплице?"):
        retrieval = assistant.retrieve(question, ChatOptions())
        assert retrieval.answerable, (question, retrieval.evidence_score)


def test_names_a_question_asks_about_are_found_in_every_language() -> None:
    names = names_in("How do I enable HTTP/3 (QUIC) in Node.js? I use Python 3.11 and pyproject.toml, says Ivan.")
    assert [(n.text, n.technical) for n in names] == [
        ("HTTP/3", True),
        ("QUIC", True),
        ("Node.js", True),
        ("Python", False),
        ("pyproject.toml", True),
        ("Ivan", False),
    ]
    assert [n.text for n in names_in("Как в aptitude откатить систему, спросил Иван?")] == ["aptitude", "Иван"]
    assert names_in("Колко книги може да вземе един ученик?") == [], "a capital that starts a sentence is no name"
    assert names_in("Does a 7B model fit?") == [], "a size, not a name: a document may say 7 billion"
    task = "### Task: Suggest 3-5 follow-up questions. Output JSON: {follow_ups: []}. " + "USER: When? " * 20
    assert names_in(task) == [], "a client's task prompt is not a question about names"


def test_a_question_about_a_name_no_document_holds_is_declined_naming_it(assistant: Assistant) -> None:
    def no_model(key: str) -> Backend:
        raise AssertionError("nothing may be generated for a declined question")

    question = "Which port does the lab server use for QUIC?"
    exchange = asyncio.run(assistant.ask(question, Conversation(), ChatOptions(), POLICIES["local"], no_model))
    assert exchange.declined and exchange.retrieval.unmentioned == ("QUIC",)
    assert exchange.note_text.startswith("None of your documents mention QUIC, so I will not guess.")
    russian = "Какой порт использует лабораторный сервер для QUIC?"
    exchange = asyncio.run(assistant.ask(russian, Conversation(), ChatOptions(), POLICIES["local"], no_model))
    assert exchange.note_text.startswith("Ни в одном из ваших документов не упоминается QUIC")
    asked = assistant.retrieve("Which port does the lab server use?", ChatOptions())
    assert asked.answerable and asked.unmentioned == ()


def test_a_name_written_otherwise_in_the_documents_and_a_question_across_languages_are_answered(
    assistant: Assistant,
) -> None:
    """The handbook says "7 billion parameters", not "7B"; the greenhouse page is English, the question Russian.
    Both were declined once: a wrong decline hides an answer the documents hold."""
    for question in (
        "How much memory does a 7B model need with 4-bit quantization?",
        "Когда поливают растения в теплице?",
    ):
        retrieval = assistant.retrieve(question, ChatOptions())
        assert retrieval.answerable, (question, retrieval.evidence_score, retrieval.unmentioned)


def test_answering_from_evidence_an_answer_in_another_script_than_the_question_gives_way_to_the_quote() -> None:
    """Asked in Russian about a Russian page, a small model answered in English: the Russian quote is the answer.
    About an English page the English quote is what the reader gets anyway, so the model's English answer stays."""
    page = "Пакет стилей GOST для BibTeX изначально написал Maksym Polyakov."
    quote = [Evidence(page, 1, "gost.md", None, 0, len(page), 0.8)]
    english = "GOST was first written by Maksym Polyakov [1]."
    report = check_claims(english, [page])
    assert repaired(english, report, quote, 1, from_evidence=True, language="ru").text == f"“{page}” [1]"
    assert repaired(english, report, quote, 1, from_evidence=True, language="en").text.startswith(english)
    russian = "Его написал Maksym Polyakov [1]."
    kept = repaired(russian, check_claims(russian, [page]), quote, 1, from_evidence=True, language="ru")
    assert kept.text.startswith(russian) and kept.replaced == 0


def test_a_name_spelled_in_cyrillic_by_the_documents_does_not_decline_an_english_question(
    tmp_path: Path, embedder: Embedder
) -> None:
    """An English question about a Bulgarian history page names people as English does ("Tsar Boris", "Hitler"),
    the page as Bulgarian does: declined once as "None of your documents mention Tsar, Boris, Hitler". A name no
    document holds in either spelling still declines, and one only another user's upload holds is missing to the
    asker: the Cyrillic lookup never tells one user what another uploaded."""
    data = tmp_path / "data"
    (data / "bg").mkdir(parents=True)
    (data / "bg" / "история.md").write_text(
        "# Из историята\n\nСлед срещата си с Хитлер през 1943 година цар Борис III казва, че България няма да изпрати"
        " войски на Източния фронт. Скоро след това царят умира внезапно в София.\n",
        encoding="utf-8",
    )
    private = data / "uploads" / "users" / "mira"
    private.mkdir(parents=True)
    (private / "бележки.md").write_text("Наполеон е бил император на французите.\n", encoding="utf-8")
    settings = Settings(data_dir=data, index_dir=tmp_path / "index")
    ingest(settings, embedder=embedder)
    assistant = Assistant(Retriever(settings, embedder), embedder)
    question = "What did Tsar Boris III say after his meeting with Hitler?"
    retrieval = assistant.retrieve(question, ChatOptions())
    assert retrieval.unmentioned == () and retrieval.answerable, retrieval
    napoleon = names_in("Did Napoleon meet Tsar Boris?")
    assert assistant._absent(napoleon, ChatOptions(owner="ivan"), 0.0) == ["Napoleon"]
    assert assistant._absent(napoleon, ChatOptions(owner="mira"), 0.0) == [], "her own upload holds Наполеон"
