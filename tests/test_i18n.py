"""The user's language: one catalog with every message in English, Bulgarian and Russian, and no English
left on a Bulgarian or Russian reader's screen (file names, model names and units aside)."""

from __future__ import annotations

import ast
import asyncio
import re
from pathlib import Path

import pytest

from rag.answers.answer import Answer
from rag.chat.answer_view import answer_block
from rag.chat.options import settings_panel
from rag.chat.pipeline import NO_CONTEXT_ANSWER, REFUSED_ANSWER, Assistant, ChatOptions, answer_with, in_language_of
from rag.chat.presentation import retrieval_summary, welcome
from rag.chat.presets import load_presets
from rag.config import RetrievalSettings, Settings
from rag.i18n import LANGUAGES, Language, browser_language, catalog, fields
from rag.index.embedding import Embedder
from rag.index.retrieval import Retriever
from rag.ingest.pipeline import IngestReport
from rag.llm.backends import Backend, cloud_backend
from rag.llm.generation import GenerationParams
from rag.measure.comparison import markdown_table, summarize
from rag.web.uploads import save_uploads, upload_summary
from tests.fault_server import FaultServer
from tests.helpers import ROOT

ALLOWED = {
    "ms",
    "Top",
    "top",
    "API",
    "OPENAI_API_KEY",
    "OPENAI_BASE_URL",
    "OpenAI",
    "BM25",
    "USD",
    "csv",
    "measurements",
    "data",
    "private",
    "env",
}
"""Latin words a Bulgarian or Russian page may show: units, settings' technical names, file and folder names."""
_KEY = re.compile(r"""(?:\btr\([^,()]+,\s*|Text\.of\()f?["']([a-z_.\-{}]+)["']""")
_LATIN_WORD = re.compile(r"[A-Za-z][A-Za-z_]{2,}")


SOURCES = [ROOT / "app.py", *(ROOT / "rag").rglob("*.py")]


def _code_keys() -> set[str]:
    """Message keys passed straight to `tr` or `Text.of` ("x.{...}" where the key is built)."""
    return {key for path in SOURCES for key in _KEY.findall(path.read_text(encoding="utf-8"))}


def _literals() -> tuple[set[str], set[str]]:
    """Every string constant in the code, and the fixed start of every f-string (a key built at run time)."""
    constants, prefixes = set(), set()
    for path in SOURCES:
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Constant) and isinstance(node.value, str):
                constants.add(node.value)
            elif isinstance(node, ast.JoinedStr) and node.values and isinstance(node.values[0], ast.Constant):
                prefixes.add(str(node.values[0].value))
    return constants, {prefix for prefix in prefixes if re.fullmatch(r"[a-z_]+\.[a-z_.]*", prefix)}


def test_every_language_has_every_message_with_the_same_fields() -> None:
    english = catalog("en")
    for language in LANGUAGES:
        messages = catalog(language)
        assert set(messages) == set(english), language
        for key, pattern in messages.items():
            assert fields(pattern) == fields(english[key]), (language, key)
            assert pattern.strip() or key.endswith("saved_new"), (language, key)


def test_every_message_the_code_asks_for_exists_and_every_message_is_used() -> None:
    keys = set(catalog("en"))
    asked = _code_keys()
    assert {key for key in asked if "{" not in key} - keys == set(), "messages the code asks for but the catalog lacks"
    for prefix in {key.split("{")[0] for key in asked if "{" in key}:
        assert any(key.startswith(prefix) for key in keys), prefix
    constants, prefixes = _literals()
    unused = {key for key in keys if key not in constants and not any(key.startswith(p) for p in prefixes)}
    assert unused == set(), "messages nothing uses"


def test_the_browser_language_picks_the_first_the_catalog_has() -> None:
    assert browser_language("bg-BG,bg;q=0.9,en;q=0.8") == "bg"
    assert browser_language("de-DE,ru;q=0.8") == "ru"
    assert browser_language("fr") == "en" and browser_language(None) == "en"


def _latin_left(text: str, known: set[str]) -> set[str]:
    return {word for word in _LATIN_WORD.findall(text) if word not in ALLOWED and word not in known}


def _words_of(*texts: str) -> set[str]:
    return {word for text in texts for word in _LATIN_WORD.findall(text)}


@pytest.fixture(scope="module")
def cloud_answer(sample_retriever: Retriever, embedder: Embedder) -> Answer:
    """A real cloud answer with sources, evidence, metrics and an egress line (a recording cloud answers)."""
    with FaultServer(
        "Throughput is reported as output tokens per second [1]. It is measured per answer [7]."
    ) as server:
        backend = Backend(key="cloud", label="Cloud", base_url=server.url("ok"), model="m", is_local=False)
        options = ChatOptions(passages=3, params=GenerationParams(max_tokens=24))
        return asyncio.run(
            answer_with(Assistant(sample_retriever, embedder), backend, "How is throughput reported?", [], options)
        )


@pytest.mark.parametrize("language", ["bg", "ru"])
def test_an_answer_and_its_details_have_no_english_in_bulgarian_and_russian(
    cloud_answer: Answer, language: Language
) -> None:
    answer = cloud_answer
    assert answer.sources and answer.metrics is not None and answer.egress is not None and answer.egress.cloud
    assert answer.repair is not None and answer.repair.dropped_citations == [7], "cites [7] of 3: the note is rendered"
    block = answer_block(answer, {}, language)
    data = _words_of(answer.text, *(hit.text for hit in answer.sources), *(hit.source for hit in answer.sources))
    data |= _words_of(*(quote.text for quote in answer.evidence), answer.backend.label, answer.backend.model)
    assert _latin_left(block, data) == set(), block
    assert block != answer_block(answer, {}, "en")
    summary = retrieval_summary(answer.sources, 12.0, language)
    assert _latin_left(summary, data) == set(), summary


@pytest.mark.parametrize("language", ["bg", "ru"])
def test_a_failed_answer_says_what_to_do_in_the_readers_language(
    sample_retriever: Retriever, embedder: Embedder, language: Language
) -> None:
    backend = Backend(key="cloud", label="Cloud", base_url="http://127.0.0.1:9/v1", model="m", is_local=False)
    options = ChatOptions(passages=2, params=GenerationParams(max_tokens=8, timeout=5, retries=0))
    answer = asyncio.run(
        answer_with(Assistant(sample_retriever, embedder), backend, "How is throughput reported?", [], options)
    )
    assert answer.error is not None
    block = answer_block(answer, {}, language)
    data = _words_of(*(hit.text for hit in answer.sources), *(hit.source for hit in answer.sources), "Cloud m http")
    assert _latin_left(block, data) == set(), block


@pytest.mark.parametrize("language", ["bg", "ru"])
def test_welcome_settings_uploads_and_comparison_in_bulgarian_and_russian(
    tmp_path: Path, cloud_answer: Answer, language: Language
) -> None:
    no_cloud = cloud_backend(Settings.from_env(environ={}).cloud)
    local = Backend(key="local", label="Gemma", base_url="http://127.0.0.1:1/v1", model="gemma-3-270m")
    text = welcome(local, no_cloud, 42, 7, language)
    presets = {key: preset.label(language) for key, preset in load_presets(ROOT / "presets.toml").items()}
    panel = settings_panel("-", {"local": ["gemma-3-270m"]}, RetrievalSettings(), {}, language, presets)
    labels = [field.label for field in panel] + [name for field in panel for name in (field.choices or {})]
    source = tmp_path / "upload.bin"
    source.write_bytes(b"not a document")
    saved = save_uploads([(source, "tool.exe"), (source, "notes.txt")], tmp_path / "data", 25)
    report = IngestReport(generation="g", added=["uploads/notes.txt"])
    uploads = upload_summary(saved, report, language)
    assert cloud_answer.metrics is not None
    table = markdown_table(summarize([cloud_answer.metrics]), language)
    known = _words_of("Gemma gemma-3-270m tool.exe uploads notes.txt Cloud", ".pdf .md .xlsx .pptx .docx .epub")
    known |= _words_of(", ".join(sorted(re.findall(r"\.\w+", uploads))))
    for shown in (text, *labels, uploads, table):
        assert _latin_left(shown, known | {"top_p", "p50", "p95"}) == set(), shown


def test_answers_that_stand_in_for_a_model_follow_the_question_language() -> None:
    assert in_language_of("Какво е пропускателната способност?", NO_CONTEXT_ANSWER) == NO_CONTEXT_ANSWER.render("bg")
    assert in_language_of("Что такое пропускная способность?", REFUSED_ANSWER) == REFUSED_ANSWER.render("ru")
    assert in_language_of("What is throughput?", NO_CONTEXT_ANSWER).startswith("I could not find")
