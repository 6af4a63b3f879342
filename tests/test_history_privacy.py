"""Local-only text never reaches the cloud through the conversation history, under every routing policy.

The local model here is a recording server that quotes the private passage in its answer, as a real
model asked about it would; the "cloud" is another recording server, so each test can read exactly
what left the machine.
"""

from __future__ import annotations

import json

import pytest

from rag.answers.answer import Answer
from rag.chat.pipeline import REFUSED_ANSWER, Assistant, ChatOptions, Conversation
from rag.llm.backends import Backend
from rag.llm.generation import GenerationParams
from rag.llm.requests import Turn
from rag.privacy.rules import PrivacyRules
from tests.fault_server import FaultServer
from tests.helpers import ask_routed

MERGER = "Project Nightingale merges with Halvorsen Ltd on 14 March"
PRIVATE_QUESTION = "Which company does Project Nightingale merge with?"
SHAREABLE_QUESTION = "When does the library open on Saturdays?"


CORPUS = {  # indexed once for this module by the `assistant` fixture (conftest.py)
    "private/board.md": f"# Board minutes\n\nConfidential: {MERGER}. Project Nightingale is secret.\n",
    "library.md": "# Library hours\n\nThe library opens at 10:00 on Saturdays and closes at 14:00.\n",
}
PRIVACY = PrivacyRules()


@pytest.fixture()
def servers():
    with FaultServer(answer=f"As the minutes say, {MERGER} [1].") as local, FaultServer() as cloud:
        yield local, cloud


def _backends(local: FaultServer, cloud: FaultServer, local_mode: str = "ok") -> dict[str, Backend]:
    return {
        "local": Backend("local", "Quoting local model", local.url(local_mode), "m"),
        "cloud": Backend("cloud", "Recording cloud", cloud.url("ok"), "m", is_local=False),
    }


def _options(**extra: object) -> ChatOptions:
    return ChatOptions(passages=4, params=GenerationParams(max_tokens=16), **extra)  # type: ignore[arg-type]


def _ask(assistant: Assistant, policy: str, backends: dict[str, Backend], question: str, chat: Conversation) -> Answer:
    exchange = ask_routed(assistant, policy, backends, question, _options(), chat)
    exchange.answers[-1].route_note = exchange.note or exchange.answers[-1].route_note
    return exchange.answers[-1]


def _sent(cloud: FaultServer) -> str:
    return "\n".join(json.dumps(json.loads(body), ensure_ascii=False) for body in cloud.bodies)


def _private_turn(assistant: Assistant, backends: dict[str, Backend]) -> Conversation:
    chat = Conversation()
    answer = _ask(assistant, "local", backends, PRIVATE_QUESTION, chat)
    assert MERGER in answer.text and answer.local_only and chat.turns[0].local_only
    return chat


@pytest.mark.parametrize("policy", ["cloud", "cloud-first"])
def test_a_local_answer_from_private_documents_is_not_sent_with_a_later_cloud_question(
    assistant: Assistant, servers, policy: str
) -> None:
    local, cloud = servers
    backends = _backends(local, cloud)
    chat = _private_turn(assistant, backends)
    answer = _ask(assistant, policy, backends, SHAREABLE_QUESTION, chat)
    assert answer.backend.key == "cloud" and answer.ok, answer.route_note
    sent = _sent(cloud)
    assert cloud.bodies and "Halvorsen" not in sent and "Nightingale" not in sent
    assert answer.egress is not None and answer.egress.held_turns == 1 and answer.egress.turns == 0
    assert "1 earlier turns held back (they used local-only documents)" in answer.egress.summary()
    assert not answer.local_only  # made by the cloud from shareable text only


def test_shareable_turns_still_go_with_a_cloud_question_and_are_counted(assistant: Assistant, servers) -> None:
    local, cloud = servers
    backends = _backends(local, cloud)
    chat = Conversation([Turn("What is open on Saturdays?", "The library [1].")])
    answer = _ask(assistant, "cloud", backends, SHAREABLE_QUESTION, chat)
    assert "What is open on Saturdays?" in _sent(cloud)
    assert answer.egress is not None and answer.egress.turns == 1
    assert "the question and 1 earlier turns of this chat" in answer.egress.summary()


def test_taint_follows_a_local_answer_that_was_given_the_private_turn(assistant: Assistant, servers) -> None:
    """A later local answer to a harmless question saw the private turn in its prompt and may repeat it."""
    local, cloud = servers
    backends = _backends(local, cloud)
    chat = _private_turn(assistant, backends)
    follow_up = _ask(assistant, "local", backends, SHAREABLE_QUESTION, chat)
    assert follow_up.local_only and chat.turns[1].local_only
    answer = _ask(assistant, "cloud", backends, "Does the library close at 14:00 on Saturdays?", chat)
    assert "Halvorsen" not in _sent(cloud) and answer.egress is not None and answer.egress.held_turns == 2


def test_refuse_policy_sends_nothing_when_history_holds_local_only_text(assistant: Assistant, servers) -> None:
    local, cloud = servers
    backends = _backends(local, cloud)
    chat = _private_turn(assistant, backends)
    options = _options(private_policy="refuse")
    answer = ask_routed(assistant, "cloud", backends, SHAREABLE_QUESTION, options, chat).answers[-1]
    assert answer.text == REFUSED_ANSWER.render("en") and cloud.bodies == []
    assert answer.egress is not None and "nothing was sent anywhere" in answer.egress.summary()


def test_local_first_never_falls_back_to_the_cloud_with_local_only_history(assistant: Assistant, servers) -> None:
    local, cloud = servers
    chat = _private_turn(assistant, _backends(local, cloud))
    failing = _backends(local, cloud, local_mode="500")
    answer = _ask(assistant, "local-first", failing, SHAREABLE_QUESTION, chat)
    assert answer.backend.key == "local" and answer.error is not None
    assert "not falling back to the cloud" in str(answer.route_note) and cloud.bodies == []
