"""A Bulgarian or Russian question is also searched in English, translated by the model on this machine only."""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path

import openai
import pytest

from rag.answers.evidence import EvidenceFinder
from rag.chat.pipeline import CROSS_SCRIPT_GAP, Assistant, ChatOptions, is_relevant
from rag.chat.presentation import retrieval_summary
from rag.chat.translation import QuestionTranslator, usable
from rag.config import Settings, SettingsError
from rag.i18n import Language
from rag.index.embedding import Embedder
from rag.index.records import ChunkRecord
from rag.index.retrieval import Hit, Retriever, fuse_hits, mostly_latin
from rag.llm.backends import Backend, unavailable_local
from rag.llm.requests import Turn
from tests.helpers import llama_backend, run_cli

CORPUS = {
    "printer-manual.md": "# Replacing the toner\n\nOpen the front cover and pull the toner cartridge out by its "
    "handle. Shake the new cartridge five times before you insert it, then close the cover. The printer prints a "
    "test page by itself.\n\n# Paper jams\n\nA paper jam is cleared from the back door; never pull paper out of "
    "the front tray.",
    "бележки-курс.md": "# Бележки от курса\n\nНа третата лекция говорихме за принтери и тонер. Лекторът показа как "
    "се печата от командния ред с lpr. Домашното е да се отпечата една страница.",
    "заметки.md": "# Заметки лекции\n\nНа лекции мы обсуждали принтеры, картриджи и тонер. Преподаватель показал "
    "печать из командной строки.",
}
JAM = "Откъде се вади заседнала хартия?"
"""Bulgarian: "Where is jammed paper taken out from?" The Bulgarian course notes share its script, the English
manual answers it."""


def _translator(server) -> QuestionTranslator:
    return QuestionTranslator(lambda: llama_backend(server))


def test_the_embedded_model_translates_a_bulgarian_question(local_llm) -> None:
    english = _translator(local_llm).english("Как се сменя тонерът на принтера?")
    assert mostly_latin(english) and "toner" in english.casefold()


def test_a_bulgarian_question_finds_the_english_manual_through_its_translation(assistant: Assistant, local_llm) -> None:
    options = ChatOptions(passages=3)
    plain = assistant.retrieve(JAM, options)
    assert plain.hits[0].source != "printer-manual.md" and not plain.answerable, (
        "no longer shows the translation's part"
    )
    translated = Assistant(assistant.retriever, assistant.embedder, translator=_translator(local_llm))
    found = translated.retrieve(JAM, options)
    assert found.english and found.hits[0].source == "printer-manual.md"


def test_a_translation_is_asked_once_per_question(local_llm) -> None:
    asked: list[str] = []

    def local() -> Backend:
        asked.append("local")
        return llama_backend(local_llm)

    translator = QuestionTranslator(local)
    first = translator.english(JAM)
    assert first and translator.english(f"  {JAM.replace(' ', '  ')} ") == first and len(asked) == 1


def test_a_question_in_english_is_not_sent_to_be_translated() -> None:
    def no_model() -> Backend:
        raise AssertionError("an English question has nothing to translate")

    assert QuestionTranslator(no_model).english("Where is jammed paper taken out from?") == ""


def test_no_question_leaves_the_machine_to_be_translated(monkeypatch: pytest.MonkeyPatch) -> None:
    def no_client(*args: object, **kwargs: object) -> None:
        raise AssertionError("a client was made for a server on another machine")

    monkeypatch.setattr(openai, "OpenAI", no_client)
    on_the_network = Backend("local", "LAN server", "http://192.0.2.10:8080/v1", "m")
    assert QuestionTranslator(lambda: on_the_network).english(JAM) == ""


def test_a_failing_local_server_leaves_the_question_searched_as_asked(assistant: Assistant, fault_server) -> None:
    broken = Backend("local", "broken", fault_server.url("500"), "m", prompt_style="completion")
    translator = QuestionTranslator(lambda: broken)
    assert translator.english(JAM) == "" and translator.english(JAM) == ""
    assert len(fault_server.requests) == 2  # a failure is not remembered: the server may be back next time
    options = ChatOptions(passages=3)
    found = Assistant(assistant.retriever, assistant.embedder, translator=translator).retrieve(JAM, options)
    assert found.english == "" and [h.chunk.id for h in found.hits] == [
        h.chunk.id for h in assistant.retrieve(JAM, options).hits
    ]


def test_a_local_server_that_does_not_answer_leaves_the_question_searched_as_asked(fault_server) -> None:
    """The local server answers one request at a time: a question waiting behind a long answer is not held up."""
    stuck = Backend("local", "busy", fault_server.url("hang"), "m", prompt_style="completion")
    assert QuestionTranslator(lambda: stuck, timeout=1.0).english(JAM) == ""
    assert len(fault_server.requests) == 1


def test_a_local_model_that_cannot_start_is_not_tried_for_every_question() -> None:
    tries: list[str] = []

    def cannot_start() -> Backend:
        tries.append("start")
        return unavailable_local("no model file")

    translator = QuestionTranslator(cannot_start)
    assert translator.english(JAM) == "" and translator.english("Как се сменя тонерът?") == ""
    assert len(tries) == 1


def test_only_a_reply_that_reads_as_english_is_searched() -> None:
    assert usable(" Where is jammed paper taken out?\nBulgarian: Къде") == "Where is jammed paper taken out?"
    assert usable("Откъде се вади хартия?") == ""
    assert usable("\n") == ""
    assert usable('English: "Where is jammed paper taken out?"') == "Where is jammed paper taken out?"
    assert usable("“Where is jammed paper taken out?”") == "Where is jammed paper taken out?"


def test_the_translation_can_be_turned_off(assistant: Assistant) -> None:
    assert Settings.from_env({}).retrieval.translate_questions
    settings = Settings.from_env({"TRANSLATE_QUESTIONS": "off"})
    assert not settings.retrieval.translate_questions
    with pytest.raises(SettingsError, match="TRANSLATE_QUESTIONS"):
        Settings.from_env({"TRANSLATE_QUESTIONS": "sometimes"})
    retriever = assistant.retriever
    off = replace(retriever.settings, retrieval=settings.retrieval)
    untranslated = Assistant(
        Retriever(off, assistant.embedder), assistant.embedder, translator=QuestionTranslator(_never)
    )
    assert untranslated.translator is None and untranslated.retrieve(JAM, ChatOptions(passages=3)).english == ""


def _never() -> Backend:
    raise AssertionError("translation is off")


def _hit(chunk_id: int) -> Hit:
    return Hit(ChunkRecord(chunk_id, f"doc{chunk_id}.md", None, (), 0, 1, "text", ""), 1.0 / (chunk_id + 1))


def test_a_passage_both_searches_find_comes_first_with_its_best_dense_score() -> None:
    asked = [_hit(1), _hit(2), replace(_hit(3), dense_score=0.76)]
    translated = [replace(_hit(3), score=9.0, dense_score=0.83), _hit(4), _hit(5)]
    fused = fuse_hits([asked, translated], 3, 60)
    assert [hit.chunk.id for hit in fused] == [3, 1, 2]  # found by both; then the question's own order wins ties
    assert fused[0].score == asked[2].score and fused[0].dense_score == 0.83
    assert asked[2].dense_score == 0.76, "the searches' own hits are left as they were"


@pytest.mark.parametrize("language", ["en", "bg", "ru"])
def test_the_search_step_shows_the_english_that_was_searched(language: Language) -> None:
    summary = retrieval_summary([_hit(1)], 12.0, language, "Where is jammed paper taken out?")
    assert "Where is jammed paper taken out?" in summary.splitlines()[0]
    assert "Where is jammed paper" not in retrieval_summary([_hit(1)], 12.0, language)


def test_the_ask_command_says_what_it_searched_in_english(sample_index: Path, local_llm) -> None:
    env = {"LOCAL_BASE_URL": local_llm.base_url, "LOCAL_PROMPT_STYLE": "completion", "LOCAL_MODEL": "gemma"}
    question = "Кога се поливат растенията в оранжерията?"
    result = run_cli("-m", "rag.ask", "--json", "--index", str(sample_index), "--max-tokens", "16", question, env=env)
    assert result.returncode == 0, result.stderr
    payload = json.loads(result.stdout)
    assert mostly_latin(payload["searched_in_english"]), payload
    assert "greenhouse-faq.html" in {source["source"] for source in payload["sources"]}


def _corpus_hits() -> list[Hit]:
    return [
        Hit(ChunkRecord(n, source, None, (), 0, len(CORPUS[source]), CORPUS[source], ""), 1.0)
        for n, source in enumerate(("бележки-курс.md", "printer-manual.md"))
    ]


def test_an_english_sentence_is_scored_with_the_questions_translation_too(embedder: Embedder) -> None:
    finder = EvidenceFinder(embedder)
    assert "paper jam" not in finder.candidates(JAM, _corpus_hits())[0].sentence.text, "no longer needs it"
    best = finder.candidates(JAM, _corpus_hits(), "Where is jammed paper taken out?")[0]
    assert best.sentence.text.startswith("A paper jam is cleared from the back door")


def test_a_wrong_translation_does_not_outweigh_the_encoder(embedder: Embedder) -> None:
    """The embedded model's translation of this question, read as it came: it still quotes the shaking."""
    question = "Колко пъти трябва да се разклати новата тонер касета?"
    finder = EvidenceFinder(embedder)
    best = finder.candidates(question, _corpus_hits(), "How often do I need to cut the new terminal keys?")[0]
    assert best.sentence.text.startswith("Shake the new cartridge five times")


def test_a_russian_question_about_the_english_handbook_is_answered(
    sample_retriever: Retriever, embedder: Embedder, local_llm
) -> None:
    """Its English passages score below the relevance floor against the Russian question, as English text does
    against any Russian question; with the translation's search and the floor less the gap between scripts, the
    labs' share of the grade is found and quoted."""
    question = "Сколько процентов итоговой оценки дают еженедельные лабораторные?"
    options = ChatOptions()
    assert not Assistant(sample_retriever, embedder).retrieve(question, options).answerable, "no longer needs it"
    assistant = Assistant(sample_retriever, embedder, translator=_translator(local_llm))
    found = assistant.retrieve(question, options)
    assert found.answerable
    best = assistant.evidence.candidates(found.query, found.hits, found.english)[0]
    assert "40 percent" in best.sentence.text


def test_a_passage_in_another_script_is_relevant_a_little_below_the_floor() -> None:
    english = replace(_hit(1), chunk=replace(_hit(1).chunk, text="The weekly labs count for 40 percent."))
    russian = replace(_hit(2), chunk=replace(_hit(2).chunk, text="Лабораторные работы дают сорок процентов оценки."))
    question = "Сколько процентов дают лабораторные?"
    just_below = 0.8 - CROSS_SCRIPT_GAP / 2
    assert is_relevant(question, [replace(english, dense_score=just_below)], 0.8, multilingual=True)
    assert not is_relevant(question, [replace(russian, dense_score=just_below)], 0.8, multilingual=True)
    assert not is_relevant(question, [replace(english, dense_score=0.8 - 2 * CROSS_SCRIPT_GAP)], 0.8, multilingual=True)


def test_a_bulgarian_follow_up_is_translated_with_the_question_before_it(
    sample_retriever: Retriever, embedder: Embedder, local_llm
) -> None:
    """A follow-up alone ("And during the summer holidays?") names nothing to search for: what is translated and
    searched is the previous question with it, as for a follow-up in English."""
    assistant = Assistant(sample_retriever, embedder, translator=_translator(local_llm))
    history = [Turn("Кога се поливат растенията в оранжерията?", "В 6:00 и в 18:00 [1].")]
    found = assistant.retrieve("А през лятната ваканция?", ChatOptions(), history)
    assert found.query.startswith("Кога се поливат") and mostly_latin(found.english)
    assert found.answerable and found.hits[0].source == "greenhouse-faq.html"
    quotes = assistant.evidence.quote(found.query, found.hits, [], found.english)
    assert "summer holidays" in quotes[0].text
