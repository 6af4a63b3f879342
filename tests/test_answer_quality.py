"""Answer evaluation: each measure judged on answers whose right verdict is known, and the command against a real server."""

from __future__ import annotations

import json
from pathlib import Path

from rag.answers.answer import Answer
from rag.answers.evidence import Evidence
from rag.answers.language import language_of
from rag.answers.quality import AnswerCase, Summary, echo_share, judge, load_cases
from rag.answers.repair import quoted
from rag.index.records import ChunkRecord
from rag.index.retrieval import Hit
from rag.llm.backends import Backend
from tests.helpers import run_cli

ANSWER_SET = Path(__file__).resolve().parent.parent / "eval" / "real" / "answers.jsonl"
BACKEND = Backend("local", "Local", "http://127.0.0.1:9", "m")
PASSAGE = "Install Ollama and start it. It listens on port 11434 and offers an OpenAI-compatible API."


def _hit(text: str, source: str) -> Hit:
    return Hit(ChunkRecord(0, source, None, (), 0, len(text), text, ""), 1.0)


CASE = AnswerCase("Which port does Ollama listen on?", ("11434",), "lab-setup.md", "It listens on port 11434", "en")
UNANSWERABLE = AnswerCase("How do I enable HTTP/3 in Node.js?", (), None, None, "en")
SOURCES = [_hit(PASSAGE, "lab-setup.md"), _hit("Labs count for 40 percent of the grade.", "handbook.pdf")]


def _answer(text: str, cited: list[int], **kw: object) -> Answer:
    return Answer(text, BACKEND, SOURCES, cited=cited, **kw)  # type: ignore[arg-type]


def test_a_right_cited_answer_scores_fully() -> None:
    judged = judge(CASE, _answer("Ollama listens on port 11434 [1].", [1]), "Answer from the sources.")
    assert judged.fact_recall == 1.0 and judged.citations_right_file == 1.0 and judged.citations_with_evidence == 1.0
    assert judged.language_ok is True and judged.echo is False and judged.declined is False


def test_a_wrong_citation_an_invented_fact_and_a_copied_prompt_are_caught() -> None:
    wrong = judge(CASE, _answer("It uses port 8080 [2].", [2]), "")
    assert wrong.fact_recall == 0.0 and wrong.citations_right_file == 0.0
    echo = judge(CASE, _answer(PASSAGE + " " + PASSAGE, []), "")
    assert echo.echo is True and echo.citations_right_file is None
    assert echo_share("Ollama listens on port 11434 [1].", [PASSAGE]) == 0.0


def test_declines_and_languages() -> None:
    assert judge(UNANSWERABLE, _answer("The documents do not mention HTTP/3.", []), "").declined is True
    assert judge(UNANSWERABLE, _answer("Use the http3 flag [1].", [1]), "").declined is False
    assert judge(UNANSWERABLE, _answer("", [], no_context=True), "").declined is True
    manual = "-S сортировать по размеру файла; если КРИТЕРИЙ не указан, по имени."
    quote = [Evidence(manual, 1, "ls.1.txt", None, 0, len(manual), 0.7)]
    sorting = AnswerCase("Какой ключ ls сортирует файлы по размеру?", ("-S",), "ls.1.txt", None, "ru")
    judged = judge(sorting, _answer(quoted(quote), [1], evidence=quote), "")
    assert judged.declined is False, "the quote's own 'не указан' is the manual's words, not a decline"
    assert judge(sorting, _answer("Не указан. " + quoted(quote), [1], evidence=quote), "").declined is True
    assert [
        language_of(t) for t in ("Port 11434.", "Библиотеката работи в събота.", "Библиотека открыта в субботу.")
    ] == [
        "en",
        "bg",
        "ru",
    ]
    russian = AnswerCase("Где хранится формат бумаги?", ("/etc/papersize",), "ru/x.txt", None, "ru")
    assert judge(russian, _answer("It is in /etc/papersize.", []), "").language_ok is False


def test_the_summary_and_the_shipped_answer_set() -> None:
    summary = Summary()
    summary.judged.append((CASE, judge(CASE, _answer("Port 11434 [1].", [1]), "")))
    summary.judged.append((UNANSWERABLE, judge(UNANSWERABLE, _answer("Use the http3 flag.", []), "")))
    row = summary.row()
    assert row["fact_recall"] == 1.0 and row["decline_accuracy"] == 0.0 and row["questions"] == 2
    cases = load_cases(ANSWER_SET)
    answerable = [c for c in cases if c.answerable]
    assert len(answerable) >= 60 and len(cases) - len(answerable) >= 10
    assert sum(c.lang in ("bg", "ru") for c in answerable) >= len(answerable) / 3
    assert all(c.facts for c in answerable)


def test_the_command_judges_a_real_model(sample_index: Path, local_llm, tmp_path: Path) -> None:
    questions = tmp_path / "answers.jsonl"
    records = [
        {"question": "Which port does Ollama listen on?", "source": "lab-setup.md", "answer": ["11434"], "lang": "en"},
        # Unrelated to every sample document. (A question that only sounds like them, such as enabling HTTP/3
        # in Node.js, scores above the floor with multilingual-e5, whose cosines crowd near 0.8.)
        {"question": "Who won the 2018 football world cup?", "answerable": False, "lang": "en"},
    ]
    questions.write_text("\n".join(json.dumps(r) for r in records))
    env = {"LOCAL_BASE_URL": local_llm.base_url, "LOCAL_PROMPT_STYLE": "completion", "LOCAL_MODEL": "gemma"}
    args = ["--answers", "--json", "--questions", str(questions), "--index", str(sample_index), "--max-tokens", "24"]
    result = run_cli("-m", "rag.eval", *args, env=env)
    assert result.returncode == 0, result.stderr
    (row,) = json.loads(result.stdout).values()
    assert row["questions"] == 2 and row["errors"] == 0
    assert row["quote_fact_recall"] == 1.0, "the evidence quote holds the port"
    assert row["decline_accuracy"] == 1.0, "nothing relevant is found for the football question, so the app declines"
    assert row["ttft_p50_ms"] > 0 and 0 <= row["fact_recall"] <= 1
