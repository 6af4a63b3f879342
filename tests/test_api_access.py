"""The API's pieces on their own: who may call it, how requests are read, what history may go to a cloud."""

from __future__ import annotations

from pathlib import Path

import pytest

from rag.config import WebSettings
from rag.privacy.answer_ledger import AnswerLedger, Given
from rag.privacy.redaction import Redactor
from rag.web.api_access import ApiAccess, Denied
from rag.web.auth import reachable_host
from rag.web.openai_schema import ApiError, parse_request


def _access(tmp_path: Path, key: str = "", lines: str | None = None, host: str = "127.0.0.1") -> ApiAccess:
    keys_file = None
    if lines is not None:
        keys_file = tmp_path / "keys.txt"
        keys_file.write_text(lines, encoding="utf-8")
    return ApiAccess.from_settings(WebSettings(api_key=key, api_keys_file=keys_file), host)


def test_the_api_is_closed_until_a_key_is_configured(tmp_path: Path) -> None:
    with pytest.raises(Denied, match="RAG_API_KEY"):
        _access(tmp_path).client("Bearer anything")
    assert _access(tmp_path, "off").client(None) == "local"


def test_turning_the_key_off_is_refused_on_an_exposed_app(tmp_path: Path) -> None:
    exposed = _access(tmp_path, "off", host="0.0.0.0")
    assert not exposed.open and "loopback" in exposed.describe()
    with pytest.raises(Denied, match="reachable from other machines"):
        exposed.client(None)
    with pytest.raises(Denied):
        exposed.client("Bearer off")


@pytest.mark.parametrize(
    ("bound", "proxy", "open_without_key"),
    [
        ("127.0.0.1", "", True),
        ("::1", "127.0.0.1", True),
        ("", "", False),  # Chainlit binds "" as every interface
        ("127.0.0.1", "0.0.0.0", False),  # workers on loopback behind nginx on every interface
        ("0.0.0.0", "127.0.0.1", False),
    ],
)
def test_turning_the_key_off_needs_the_app_and_its_proxy_on_loopback(
    tmp_path: Path, bound: str, proxy: str, open_without_key: bool
) -> None:
    access = _access(tmp_path, "off", host=reachable_host(bound, proxy))
    assert access.open == open_without_key


def test_keys_file_names_clients_and_is_read_on_every_request(tmp_path: Path) -> None:
    access = _access(tmp_path, "main-key", "# comment\nwebui: key:with:colons\nplain-key-line\n")
    assert access.client("Bearer main-key") == "default"
    assert access.client("bearer key:with:colons") == "webui"
    assert access.client("Bearer plain-key-line") == "client 3"
    for wrong in (None, "", "Bearer", "Basic main-key", "Bearer main-key2", "main-key"):
        with pytest.raises(Denied):
            access.client(wrong)
    assert access.keys_file is not None
    access.keys_file.write_text("webui: rotated\n", encoding="utf-8")
    assert access.client("Bearer rotated") == "webui"
    with pytest.raises(Denied):
        access.client("Bearer key:with:colons")


def test_denials_never_name_a_key(tmp_path: Path) -> None:
    access = _access(tmp_path, "secret-main-key", "team: secret-team-key\n")
    with pytest.raises(Denied) as denied:
        access.client("Bearer secret-main-ke")
    assert "secret" not in str(denied.value) and "team" not in str(denied.value)
    assert "secret" not in access.describe()


def test_history_from_a_client_is_local_only_unless_the_app_gave_it_as_shareable() -> None:
    ledger = AnswerLedger()
    ledger.remember("Opens at 10:00 [1].\n\n**Sources**\n[1] library.md", Given("Opens at 10:00 [1].", False))
    ledger.remember("The merger is on 14 March [1].", Given("The merger is on 14 March [1].", True))
    messages = [
        {"role": "system", "content": "Be brief."},
        {"role": "user", "content": "When does it open?"},
        {"role": "assistant", "content": "Opens   at 10:00 [1].\n\n**Sources**\n[1] library.md\n"},
        {"role": "user", "content": [{"type": "text", "text": "And the merger?"}, {"type": "image_url"}]},
        {"role": "assistant", "content": "The merger is on 14 March [1]."},
        {"role": "user", "content": "Made-up history follows."},
        {"role": "assistant", "content": "Something the app never said."},
        {"role": "user", "content": "What else?"},
    ]
    request = parse_request({"model": "rag-cloud", "messages": messages}, ledger, cloud_available=True)
    assert request.question == "What else?" and request.values["system_prompt"] == "Be brief."
    assert [(t.question, t.answer, t.local_only) for t in request.history] == [
        ("When does it open?", "Opens at 10:00 [1].", False),
        ("And the merger?", "The merger is on 14 March [1].", True),
        ("Made-up history follows.", "Something the app never said.", True),
    ]


def test_ledger_forgets_the_oldest_answers_first() -> None:
    ledger = AnswerLedger(capacity=2)
    for text in ("one", "two", "three"):
        ledger.remember(text, Given(text, False))
    assert ledger.recall("one") is None and ledger.recall("two") == Given("two", False)
    ledger.remember("three", Given("three", True))
    ledger.remember("three", Given("three", False))
    assert ledger.as_turn_answer("three").local_only, "once local-only, always local-only"
    assert ledger.as_turn_answer("never said") == Given("never said", True)


def test_sampling_options_go_through_the_chat_settings_table() -> None:
    body = {
        "model": "rag-local",
        "messages": [{"role": "user", "content": "Hi?"}],
        "max_completion_tokens": 10**9,
        "temperature": "hot",
        "top_k": 40,
        "stream": True,
        "stream_options": {"include_usage": True},
        "rag": {"sources": 3, "mode": "bm25"},
    }
    request = parse_request(body, AnswerLedger(), cloud_available=False)
    assert request.stream and request.include_usage and request.policy.key == "local"
    assert request.values == {
        "temperature": "hot",
        "max_tokens": 10**9,
        "sampler_top_k": 40,
        "system_prompt": "",
        "top_k": 3,
        "mode": "bm25",
    }
    with pytest.raises(ApiError, match="needs a cloud model"):
        parse_request({**body, "model": "rag-cloud"}, AnswerLedger(), cloud_available=False)


def test_a_streamed_answer_gets_its_masked_values_back_even_split_across_pieces() -> None:
    redactor = Redactor()
    redactor.redact("Mail anna@example.org or bob@example.org, or [EMAIL_9] is just text.")
    restorer = redactor.stream_restorer()
    pieces = ["Write to [EM", "AIL_", "1] or [EMAIL_2", "]. Keep [EMAIL_9] and [x", "] as they are. [EMAIL_1"]
    out = "".join(restorer.feed(p) for p in pieces) + restorer.flush()
    assert out == "Write to anna@example.org or bob@example.org. Keep [EMAIL_9] and [x] as they are. [EMAIL_1"
