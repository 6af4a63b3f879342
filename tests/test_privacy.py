"""Local-only documents never reach a cloud backend, and personal data is masked in everything sent."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

import pytest

from rag.chat.pipeline import REFUSED_ANSWER, Assistant, ChatOptions, answer_with
from rag.config import Settings
from rag.index.embedding import Embedder
from rag.index.retrieval import Retriever
from rag.ingest.pipeline import ingest
from rag.ingest.report import format_report
from rag.llm.backends import Backend
from rag.llm.embedded_server import free_port
from rag.llm.generation import GenerationParams
from rag.llm.requests import Turn
from rag.privacy.redaction import Redactor
from rag.privacy.rules import PrivacyRules
from tests.documents import write
from tests.fault_server import FaultServer
from tests.helpers import ask_routed, llama_backend

SECRET_DIAGNOSIS = "zetavirus-syndrome"
PATIENT_EMAIL = "maria.ivanova@clinic.example"
LAB_EMAIL = "lab.admin@school.example"
LAB_PHONE = "+359 2 987 6543"
QUESTION = "Who do I contact about the lab results and the patient's diagnosis?"


CORPUS = {  # indexed once for this module by the `assistant` fixture (conftest.py)
    "private/patient.md": (
        f"# Patient record\n\nLab results: the patient's diagnosis is {SECRET_DIAGNOSIS}. Contact {PATIENT_EMAIL}.\n"
    ),
    "hr/salaries.md": "# Salaries\n\nLab results and diagnosis of the payroll audit: all salaries are confidential.\n",
    "lab.md": (
        f"# Lab contacts\n\nFor lab results contact {LAB_EMAIL} or call {LAB_PHONE}. "
        "Diagnosis questions go to the duty doctor.\n"
    ),
}
PRIVACY = PrivacyRules(private_patterns=("private/*", "hr", "hr/*"))


def _cloud(server: FaultServer) -> Backend:
    return Backend(key="cloud", label="Recording cloud", base_url=server.url("ok"), model="m", is_local=False)


def _ask(assistant: Assistant, backend: Backend, **options: object):
    chat = ChatOptions(passages=5, params=GenerationParams(max_tokens=16), **options)  # type: ignore[arg-type]
    history = [Turn(f"My e-mail is {PATIENT_EMAIL}", "Noted.")]
    return asyncio.run(answer_with(assistant, backend, QUESTION, history, chat))


def test_cloud_gets_only_shareable_and_masked_text(assistant: Assistant, fault_server: FaultServer) -> None:
    answer = _ask(assistant, _cloud(fault_server))
    sent = "\n".join(fault_server.bodies)
    assert len(fault_server.bodies) == 1
    for secret in (SECRET_DIAGNOSIS, PATIENT_EMAIL, LAB_EMAIL, LAB_PHONE, "salaries are confidential"):
        assert secret not in sent, secret
    assert "[EMAIL_1]" in sent and "[PHONE_1]" in sent and "duty doctor" in sent
    assert {h.source for h in answer.sources} == {"lab.md"}
    assert LAB_EMAIL in answer.sources[0].text, "the reader sees the passage as written; only the request is masked"
    assert answer.egress is not None and answer.egress.held_back == 2 and answer.egress.masked == 3
    summary = answer.egress.summary()
    assert summary.startswith("sent to cloud: 1 chunks from 1 files") and "2 local-only chunks held back" in summary


def test_refuse_policy_sends_nothing(assistant: Assistant, fault_server: FaultServer) -> None:
    answer = _ask(assistant, _cloud(fault_server), private_policy="refuse")
    assert fault_server.bodies == [] and answer.text == REFUSED_ANSWER.render("en")
    assert answer.egress is not None and answer.egress.summary().startswith("nothing left this machine")


def test_local_backend_sends_nothing_to_the_cloud(assistant: Assistant, fault_server: FaultServer, local_llm) -> None:
    local = llama_backend(local_llm)
    answer = _ask(assistant, local)
    assert fault_server.bodies == []
    assert "private/patient.md" in {h.source for h in answer.sources}
    assert answer.egress is not None and answer.egress.summary() == "nothing left this machine"


def test_placeholders_in_the_answer_are_restored_for_display_only(
    assistant: Assistant, fault_server: FaultServer
) -> None:
    fault_server.answer = "Write to [EMAIL_2] or call [PHONE_1] [1]."  # [EMAIL_1] is the user's own, from the history
    restored = _ask(assistant, _cloud(fault_server))
    assert restored.text == f"Write to {LAB_EMAIL} or call {LAB_PHONE} [1]."
    kept = _ask(assistant, _cloud(fault_server), restore_redacted=False)
    assert kept.text == "Write to [EMAIL_2] or call [PHONE_1] [1]."
    assert all(LAB_EMAIL not in json.loads(body)["messages"][-1]["content"] for body in fault_server.bodies)


@pytest.mark.parametrize(
    ("text", "masked"),
    [
        ("mail a.b+c@mail.example.org now", "mail [EMAIL_1] now"),
        ("call +1 (555) 010-9999 today", "call [PHONE_1] today"),
        ("IBAN DE89 3704 0044 0532 0130 00 please", "IBAN [IBAN_1] please"),
        ("card 5500-0000-0000-0004 ok", "card [CARD_1] ok"),
        ("host 10.0.0.7 and fe80::1ff:fe23:4567:890a", "host [IP_1] and [IP_2]"),
        ("ticket PATIENT-123456", "ticket [CUSTOM_1]"),
    ],
)
def test_each_kind_is_masked(text: str, masked: str) -> None:
    assert Redactor.with_user_patterns([r"PATIENT-\d{6}"]).redact(text) == masked


def test_ordinary_numbers_are_left_alone() -> None:
    text = (
        "On 2024-01-15 at 14:00:00, 2,000 tokens on port 11434 cost 0.0006 USD; version 1.2.3.4000; 1234 5678 9012 3456"
    )
    assert Redactor().redact(text) == text


def test_same_value_same_placeholder_within_a_request() -> None:
    redactor = Redactor()
    assert redactor.redact("a@x.example, b@y.example, a@x.example") == "[EMAIL_1], [EMAIL_2], [EMAIL_1]"
    assert redactor.restore("[EMAIL_2] wrote") == "b@y.example wrote"


def test_private_paths_ignore_letter_case_and_warn_about_typos(tmp_path: Path, embedder: Embedder) -> None:
    data = tmp_path / "data"
    environ = {"PRIVATE_PATHS": "finance/*, finanse/*", "DATA_DIR": str(data), "INDEX_DIR": str(tmp_path / "index")}
    settings = Settings.from_env(environ=environ)
    write(data, "Finance/q3.md", "# Q3\n\nQuarterly revenue of the bakery rose by twelve percent.\n")
    write(data, "Private/diary.md", "# Diary\n\nThe diary worries about the bakery revenue.\n")
    write(data, "public.md", "# Opening hours\n\nThe bakery opens at seven; revenue questions go to the owner.\n")
    report = ingest(settings, embedder=embedder)
    assert report.warnings == ["PRIVATE_PATHS entry 'finanse/*' matches no file"]
    assert "warning: PRIVATE_PATHS entry 'finanse/*' matches no file" in format_report(report).splitlines()
    shareable, private = PrivacyRules.from_settings(settings.privacy).shareable(
        Retriever(settings, embedder).search("bakery revenue", k=5)
    )
    assert {h.source for h in private} == {"Finance/q3.md", "Private/diary.md"}
    assert {h.source for h in shareable} == {"public.md"}


def test_no_cloud_fallback_for_local_only_documents(assistant: Assistant, fault_server: FaultServer) -> None:
    down = Backend(key="local", label="down", base_url=f"http://127.0.0.1:{free_port()}/v1", model="m", is_local=True)
    backends = {"local": down, "cloud": _cloud(fault_server)}
    question = "Who do I contact about the lab results and the patient's diagnosis?"
    exchange = ask_routed(
        assistant, "local-first", backends, question, ChatOptions(params=GenerationParams(max_tokens=12))
    )
    (answer,) = exchange.answers
    assert answer.backend.key == "local" and answer.error is not None
    assert "not falling back to the cloud" in str(exchange.note)
    assert fault_server.bodies == []
