"""What leaves the machine: every cloud request is in the egress audit first, and no client can carry
local-only text to a cloud model inside a message of its own."""

from __future__ import annotations

import asyncio
import json
import os
import stat
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from rag import egress
from rag.chat.pipeline import QUOTED_ANSWER, Assistant, ChatOptions, answer_with
from rag.llm.backends import Backend
from rag.llm.egress_audit import EgressAudit, on_this_machine, requested_by
from rag.llm.generation import GenerationParams
from rag.llm.requests import Turn
from rag.privacy.local_only import LocalOnlyText
from rag.privacy.rules import PrivacyRules
from tests.fault_server import FaultServer

SECRET = "The Halvorsen merger closes on 14 March at a price of 41 million euros"
CORPUS = {  # indexed once for this module by the `assistant` fixture (conftest.py)
    "private/board.md": f"# Board minutes\n\nConfidential: {SECRET}. Nobody outside the board may know.\n",
    "library.md": "# Library hours\n\nThe library opens at 10:00 on Saturdays and closes at 14:00.\n",
}
PRIVACY = PrivacyRules()


def open_webui_follow_up_task(chat: list[tuple[str, str]]) -> str:
    """The message Open WebUI sends by default after each answer to suggest follow-up questions."""
    history = "\n".join(f"USER: {q}\nASSISTANT: {a}" for q, a in chat)
    return (
        "### Task:\nSuggest 3-5 relevant follow-up questions or prompts that the user might naturally ask next "
        "in this conversation as a **user**, based on the chat history, to help continue or deepen the "
        f'discussion.\n### Output:\nJSON format: {{ "follow_ups": ["Question 1?"] }}\n'
        f"### Chat History:\n<chat_history>\n{history}\n</chat_history>"
    )


def test_a_quotation_of_local_only_text_is_recognised_however_it_is_wrapped(tmp_path: Path) -> None:
    known = LocalOnlyText(tmp_path / "local-only.shingles")
    question = "When does the Halvorsen merger close?"
    known.remember(f"According to the minutes, {SECRET} [1].", own_words=question)
    assert known.quotes(open_webui_follow_up_task([(question, f"according to the minutes: {SECRET.upper()}!")]))
    assert known.quotes(f"Please translate: «{SECRET.lower()}»")
    assert not known.quotes(question), "the user's own question is theirs to ask anywhere"
    assert not known.quotes("When does the library open on Saturdays, and at what price is a library card?")
    assert not known.quotes("")
    assert SECRET.split()[1].encode() not in (tmp_path / "local-only.shingles").read_bytes(), "hashes, not text"
    assert stat.S_IMODE(os.stat(tmp_path / "local-only.shingles").st_mode) == 0o600


def test_every_worker_knows_what_another_one_answered(tmp_path: Path) -> None:
    path = tmp_path / "local-only.shingles"
    one, other = LocalOnlyText(path), LocalOnlyText(path)
    assert not other.quotes(SECRET)
    one.remember(SECRET)
    assert other.quotes(f"USER: hi ASSISTANT: {SECRET}")


def test_past_capacity_the_newest_quotations_are_kept(tmp_path: Path) -> None:
    path = tmp_path / "local-only.shingles"
    known = LocalOnlyText(path, capacity=50)
    old = " ".join(f"old{i}" for i in range(30))
    known.remember(old)
    known.remember(" ".join(f"mid{i}" for i in range(30)))
    new = " ".join(f"new{i}" for i in range(30))
    known.remember(new)  # 3 x 23 shingles: past capacity, the file keeps the newest 25
    reader = LocalOnlyText(path, capacity=50)
    assert all(reader.quotes(" ".join(new.split()[i : i + 8])) for i in range(23))
    assert not reader.quotes(" ".join(old.split()[:8]))
    assert path.stat().st_size == 25 * 8


@pytest.mark.parametrize(
    ("url", "here"),
    [
        ("http://127.0.0.1:8080/v1", True),
        ("http://localhost:11434/v1", True),
        ("http://[::1]:1234/v1", True),
        ("http://127.8.9.10/v1", True),
        ("https://api.openai.com/v1", False),
        ("http://192.168.1.20:11434/v1", False),
        ("http://localhost.evil.example/v1", False),
        ("http://127.0.0.1.nip.io/v1", False),
    ],
)
def test_only_loopback_addresses_count_as_this_machine(url: str, here: bool) -> None:
    assert on_this_machine(url) is here


def test_the_audit_keeps_requests_and_outcomes_for_its_owner_only(tmp_path: Path) -> None:
    audit = EgressAudit(tmp_path / "audit", retention_days=1)
    with requested_by("chat-1", "maria"):
        first = audit.request("OpenAI", "gpt-x", "https://api.example/v1/chat/completions", {"messages": [1]})
    audit.outcome(first, 200, (12, 3))
    second = audit.request("OpenAI", "gpt-x", "https://api.example/v1/chat/completions", {"messages": [2]})
    audit.outcome(second, 429, error="rate limited")
    records = audit.records()
    assert [r["payload"]["messages"] for r in records] == [[1], [2]]
    assert records[0]["chat"] == "chat-1" and records[0]["user"] == "maria" and records[0]["bytes"] > 0
    assert records[0]["outcome"]["tokens"] == {"prompt": 12, "completion": 3}
    assert records[1]["outcome"] == {"time": records[1]["outcome"]["time"], "status": 429, "error": "rate limited"}
    assert [r["id"] for r in audit.records(chat="chat-1")] == [first]
    assert audit.records(since=datetime.now(UTC) + timedelta(minutes=1)) == []
    assert stat.S_IMODE(os.stat(audit.path).st_mode) == 0o600
    assert stat.S_IMODE(os.stat(audit.path.parent).st_mode) == 0o700


def test_records_past_retention_are_dropped(tmp_path: Path) -> None:
    audit = EgressAudit(tmp_path, retention_days=7)
    old = (datetime.now(UTC) - timedelta(days=8)).isoformat()
    audit.path.write_text(json.dumps({"id": "old", "kind": "request", "time": old, "payload": {}}) + "\n")
    fresh = EgressAudit(tmp_path, retention_days=7)  # a new process prunes at its first request
    kept = fresh.request("OpenAI", "m", "https://api.example/v1/chat/completions", {})
    assert [r["id"] for r in fresh.records()] == [kept]


def _backends(tmp_path: Path, local: FaultServer, cloud: FaultServer) -> tuple[Backend, Backend, EgressAudit]:
    audit = EgressAudit(tmp_path / "audit")
    here = Backend(key="local", label="Quoting local", base_url=local.url("ok"), model="m", audit=audit)
    away = Backend("cloud", "Recording cloud", cloud.url("ok"), "m", is_local=False, audit=audit)
    return here, away, audit


def _ask(assistant: Assistant, backend: Backend, question: str, history: list[Turn] | None = None):
    options = ChatOptions(passages=4, params=GenerationParams(max_tokens=16))
    return asyncio.run(answer_with(assistant, backend, question, history or [], options))


def test_a_chat_quoted_in_a_user_message_never_carries_local_only_text_to_the_cloud(
    assistant: Assistant, tmp_path: Path
) -> None:
    """Open WebUI's default follow-up task quotes the whole chat in one user message: after a local answer
    made from a local-only document, that message is refused for the cloud, which receives nothing; the
    audit holds exactly the requests the cloud received, and nothing for the local answer."""
    question = "When does the Halvorsen merger close?"
    with FaultServer(answer=f"The minutes say: {SECRET} [1].") as local, FaultServer() as cloud:
        here, away, audit = _backends(tmp_path, local, cloud)
        private = _ask(assistant, here, question)
        assert private.local_only and SECRET in private.text
        assert audit.records() == [], "a local answer writes no record"

        task = open_webui_follow_up_task([(question, private.text)])
        refused = _ask(assistant, away, task)
        assert refused.text == QUOTED_ANSWER.render("en") and cloud.bodies == []
        assert refused.egress is not None and "the message quotes local-only text" in refused.egress.summary()

        # The chat carried as history, its answer not marked local-only by the client: held back, not sent.
        shared = _ask(assistant, away, "When does the library open on Saturdays?", [Turn(question, private.text)])
        assert shared.egress is not None and shared.egress.held_turns == 1
        sent = "\n".join(cloud.bodies)
        assert len(cloud.bodies) == 1 and "Halvorsen" not in sent and "41 million" not in sent
        (record,) = audit.records()
        assert record["payload"]["messages"] == json.loads(cloud.bodies[0])["messages"]
        assert record["outcome"]["status"] == 200 and record["endpoint"].startswith(cloud.url("ok"))


def test_the_egress_command_prints_the_log(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys) -> None:
    monkeypatch.setenv("AUDIT_DIR", str(tmp_path))
    audit = EgressAudit(tmp_path)
    with requested_by("chat-7"):
        audit.outcome(
            audit.request("OpenAI", "gpt-x", "https://api.example/v1/chat/completions", {"messages": []}), 200
        )
    assert egress.main(["--json", "--chat", "chat-7", "--since", "1h"]) == 0
    (printed,) = json.loads(capsys.readouterr().out)
    assert printed["model"] == "gpt-x" and printed["outcome"]["status"] == 200
    assert egress.main(["--chat", "another"]) == 0
    assert "No request has left this machine" in capsys.readouterr().out
    assert egress.main([]) == 0
    assert "chat=chat-7  OpenAI gpt-x" in capsys.readouterr().out
