"""The OpenAI-compatible API of the running app, used as clients use it: the `openai` SDK and plain HTTP.

The local model is a recording server that quotes the private passage (as a real model asked about it
would); the "cloud" is another recording server, so every test can read exactly what left the machine.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import openai
import pytest
import requests
from openai.types.chat import ChatCompletionMessageParam

from rag.chat.prompts import COMPLETION_LEAD
from rag.harness.app_process import SAMPLE_DATA, running_app
from rag.llm.embedded_server import free_port
from rag.web.proxy import ProxyUnavailable, nginx_program
from rag.workers import running_workers
from tests.documents import write
from tests.fault_server import FaultServer
from tests.helpers import MERGER, board_minutes_app

KEY = "rag-test-key-7f3a9c"
EMAIL = "registrar@northfield-college.example"


@pytest.fixture(scope="module")
def api_app(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, FaultServer, FaultServer, Path]]:
    with FaultServer(answer=f"As the minutes say, {MERGER} [1].") as local, FaultServer() as cloud:
        workdir = tmp_path_factory.mktemp("api")
        env = board_minutes_app(workdir, local, cloud, KEY)
        write(
            workdir / "data",
            "admissions.md",
            f"# Admissions\n\nTranscripts go to the registrar at {EMAIL} by June 30.\n",
        )
        keys = workdir / "api-keys.txt"
        keys.write_text("# clients\nwebui: second-client-key\n", encoding="utf-8")
        env["RAG_API_KEYS_FILE"] = str(keys)
        with running_app(workdir, env) as url:
            yield url, local, cloud, workdir


def _client(url: str, key: str = KEY) -> openai.OpenAI:
    return openai.OpenAI(base_url=f"{url}/v1", api_key=key, max_retries=0, timeout=60)


def _sent(server: FaultServer) -> str:
    return "\n".join(server.bodies)


def test_models_need_a_key_and_list_every_policy(api_app) -> None:
    url, *_ = api_app
    bare = requests.get(f"{url}/v1/models", timeout=10)
    assert bare.status_code == 401 and bare.headers["WWW-Authenticate"] == "Bearer"
    assert "Authorization: Bearer" in bare.json()["error"]["message"]
    with pytest.raises(openai.AuthenticationError):
        _client(url, "wrong-key").models.list()
    assert [m.id for m in _client(url).models.list()] == [
        "rag-local",
        "rag-cloud",
        "rag-local-first",
        "rag-cloud-first",
    ]
    assert next(m.id for m in _client(url, "second-client-key").models.list()) == "rag-local", "keys file works too"


def test_an_answer_carries_citations_inline_and_as_data(api_app) -> None:
    url, local, *_ = api_app
    local.answer = "The library opens at 10:00 on Saturdays [1]."
    response = _client(url).chat.completions.create(
        model="rag-local", messages=[{"role": "user", "content": "When does the library open on Saturdays?"}]
    )
    content = response.choices[0].message.content or ""
    assert content.startswith("The library opens at 10:00 on Saturdays [1].")
    assert "**Sources**\n- [1] library.md" in content and "nothing left this machine" in content
    extra = response.model_extra or {}
    first = extra["citations"][0]
    assert first["source"] == "library.md" and first["cited"] is True and "10:00" in first["text"]
    assert extra["rag"]["local"] is True and extra["rag"]["egress"] == "nothing left this machine"
    assert response.usage is not None and response.usage.completion_tokens > 0


def test_a_streamed_answer_ends_with_sources_and_usage(api_app) -> None:
    url, local, *_ = api_app
    local.answer = "It closes at 14:00 [1]."
    stream = _client(url).chat.completions.create(
        model="rag-local",
        messages=[{"role": "user", "content": "When does the library close on Saturdays?"}],
        stream=True,
        stream_options={"include_usage": True},
    )
    chunks = list(stream)
    text = "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)
    assert text.startswith("It closes at 14:00 [1].") and "[1] library.md" in text
    finals = [c for c in chunks if c.choices and c.choices[0].finish_reason == "stop"]
    assert len(finals) == 1 and (finals[0].model_extra or {})["citations"][0]["source"] == "library.md"
    assert chunks[-1].usage is not None and chunks[-1].choices == []


def test_private_documents_never_reach_the_cloud_through_the_api(api_app) -> None:
    url, local, cloud, _ = api_app
    client = _client(url)
    question = "Which company does Project Nightingale merge with?"
    cloud.bodies.clear()
    shared = client.chat.completions.create(model="rag-cloud", messages=[{"role": "user", "content": question}])
    assert "local-only chunks held back" in (shared.choices[0].message.content or "")
    refused = client.chat.completions.create(
        model="rag-cloud",
        messages=[{"role": "user", "content": question}],
        extra_body={"rag": {"private_policy": "refuse"}},
    )
    assert "Not sent to the cloud" in (refused.choices[0].message.content or "")
    assert len(cloud.bodies) == 1, "the refused question sent nothing"

    local.answer = f"As the minutes say, {MERGER} [1]."
    private = client.chat.completions.create(model="rag-local", messages=[{"role": "user", "content": question}])
    private_text = private.choices[0].message.content or ""
    assert MERGER in private_text
    made_up = f"I remember: {MERGER}."  # an assistant turn the app never wrote
    for earlier in (private_text, made_up, " ".join(private_text.split())):
        follow_up = client.chat.completions.create(
            model="rag-cloud",
            messages=[
                {"role": "user", "content": question},
                {"role": "assistant", "content": earlier},
                {"role": "user", "content": "When does the library open on Saturdays?"},
            ],
        )
        rag = (follow_up.model_extra or {})["rag"]
        assert "1 earlier turns held back" in rag["egress"]
    sent = _sent(cloud)
    assert (
        len(cloud.bodies) == 4 and "Halvorsen" not in sent and "14 March" not in sent
    )  # the question is the user's own


def test_a_cloud_answer_the_app_gave_goes_back_with_the_next_question(api_app) -> None:
    url, _, cloud, _ = api_app
    client = _client(url)
    cloud.answer = "Saturdays from 10:00 [1]."
    first_question: ChatCompletionMessageParam = {"role": "user", "content": "When does the library open on Saturdays?"}
    first = client.chat.completions.create(model="rag-cloud", messages=[first_question])
    cloud.bodies.clear()
    client.chat.completions.create(
        model="rag-cloud",
        messages=[
            first_question,
            {"role": "assistant", "content": first.choices[0].message.content},
            {"role": "user", "content": "And when does it close?"},
        ],
    )
    (request,) = [json.loads(body) for body in cloud.bodies]
    assert any("Saturdays from 10:00" in m["content"] for m in request["messages"] if m["role"] == "assistant")
    assert not any("**Sources**" in m["content"] for m in request["messages"]), "our sources list is not history"


def test_masked_values_come_back_restored_in_a_stream(api_app) -> None:
    url, _, cloud, _ = api_app
    cloud.answer = "Send them to [EMAIL_1] by June 30 [1]."
    cloud.bodies.clear()
    stream = _client(url).chat.completions.create(
        model="rag-cloud",
        messages=[{"role": "user", "content": "Where do transcripts go for admissions?"}],
        stream=True,
    )
    text = "".join(c.choices[0].delta.content or "" for c in stream if c.choices)
    assert f"Send them to {EMAIL} by June 30 [1]." in text and "[EMAIL_1]" not in text
    assert EMAIL not in _sent(cloud) and "[EMAIL_1]" in _sent(cloud)
    assert "1 personal values masked" in text


def test_local_first_falls_back_to_the_cloud_only_for_shareable_questions(api_app) -> None:
    url, local, cloud, _ = api_app
    client = _client(url)
    local.forced_mode = "500"
    cloud.answer = "At 10:00 [1]."
    try:
        shareable = client.chat.completions.create(
            model="rag-local-first",
            messages=[{"role": "user", "content": "When does the library open on Saturdays?"}],
            extra_body={"rag": {"sources": 1}},  # only the library's passage: nothing local-only at stake
        )
        assert (shareable.choices[0].message.content or "").startswith("At 10:00 [1].")
        assert "answering with the cloud model instead" in (shareable.model_extra or {})["rag"]["route_note"]
        cloud.bodies.clear()
        with pytest.raises(openai.APIStatusError) as failed:
            client.chat.completions.create(
                model="rag-local-first",
                messages=[{"role": "user", "content": "Which company does Project Nightingale merge with?"}],
            )
        assert failed.value.status_code == 502 and "local-only documents are involved" in str(failed.value)
        assert cloud.bodies == []
    finally:
        local.forced_mode = None


def test_a_client_that_leaves_mid_stream_stops_nothing_else(api_app) -> None:
    url, local, *_ = api_app
    local.answer = " ".join(["word"] * 300) + " [1]."
    body: dict[str, Any] = {
        "model": "rag-local",
        "stream": True,
        "messages": [{"role": "user", "content": "When does the library open?"}],
    }
    with requests.post(
        f"{url}/v1/chat/completions", json=body, headers={"Authorization": f"Bearer {KEY}"}, stream=True, timeout=30
    ) as response:
        first = next(response.iter_lines())
        assert first.startswith(b"data: ")
    local.answer = "The library opens at 10:00 [1]."
    after = _client(url).chat.completions.create(
        model="rag-local", messages=[{"role": "user", "content": "When does the library open?"}]
    )
    assert (after.choices[0].message.content or "").startswith("The library opens at 10:00 [1].")


@pytest.mark.parametrize(
    ("body", "status", "phrase"),
    [
        ("{not json", 400, "not valid JSON"),
        (json.dumps({"model": "gpt-4o", "messages": [{"role": "user", "content": "hi"}]}), 404, "rag-local"),
        (json.dumps({"model": "rag-local", "messages": "hello"}), 400, "non-empty list"),
        (json.dumps({"model": "rag-local", "messages": [{"role": "assistant", "content": "x"}]}), 400, "user message"),
        (json.dumps({"model": "rag-local", "messages": [{"role": "user", "content": "x" * 9000}]}), 400, "longer"),
        (json.dumps({"model": "rag-local", "messages": [{"role": "robot", "content": "x"}]}), 400, "unknown role"),
        ("x" * 1_100_000, 413, "larger than"),
        (json.dumps({"model": {"id": "rag-local"}, "messages": [{"role": "user", "content": "x"}]}), 400, "string"),
        (json.dumps({"model": ["rag-local"], "messages": [{"role": "user", "content": "x"}]}), 400, "string"),
        ("[" * 100_000 + "]" * 100_000, 400, "nested too deeply"),
        ('{"model": "rag-local", "max_tokens": ' + "9" * 5000 + "}", 400, "too many digits"),
        ('{"model": "rag-local", "messages": [{"role": "user", "content": "hi \\ud800"}]}', 400, "surrogate"),
        ('{"model": "rag-local", "messages": [{"role": "user", "\\udfff": "hi"}]}', 400, "surrogate"),
    ],
)
def test_bad_requests_get_a_clear_error(api_app, body: str, status: int, phrase: str) -> None:
    url, *_ = api_app
    response = requests.post(
        f"{url}/v1/chat/completions",
        data=body.encode(),
        headers={"Authorization": f"Bearer {KEY}", "Content-Type": "application/json"},
        timeout=30,
    )
    assert response.status_code == status and phrase in response.json()["error"]["message"]
    assert set(response.json()["error"]) == {"message", "type", "param", "code"}


def test_other_web_pages_cannot_use_the_api_even_with_a_key(api_app) -> None:
    url, *_ = api_app
    headers = {"Authorization": f"Bearer {KEY}", "Origin": "http://evil.example"}
    assert requests.get(f"{url}/v1/models", headers=headers, timeout=10).status_code == 403
    cross_site = {"Authorization": f"Bearer {KEY}", "Sec-Fetch-Site": "cross-site"}
    assert requests.get(f"{url}/v1/models", headers=cross_site, timeout=10).status_code == 403


NO_MODEL = {"LOCAL_BASE_URL": "http://127.0.0.1:9/v1", "OLLAMA_BASE_URL": "http://127.0.0.1:9/v1"}


def _refused_without_a_key(url: str) -> bool:
    response = requests.get(f"{url}/v1/models", timeout=10)
    return response.status_code == 401 and "reachable from other machines" in response.json()["error"]["message"]


def test_turning_the_key_off_is_refused_when_an_empty_host_binds_every_interface(tmp_path: Path) -> None:
    # Chainlit binds CHAINLIT_HOST="" as given: every interface, although "" reads as unset elsewhere
    with running_app(tmp_path, {**NO_MODEL, "RAG_API_KEY": "off", "CHAINLIT_HOST": ""}, host="") as url:
        assert _refused_without_a_key(url)


def test_turning_the_key_off_is_refused_behind_a_proxy_on_every_interface(tmp_path: Path) -> None:
    try:
        nginx_program()
    except ProxyUnavailable as exc:
        pytest.skip(str(exc))
    shutil.copytree(SAMPLE_DATA, tmp_path / "data")
    env = {**os.environ, **NO_MODEL, "DATA_DIR": str(tmp_path / "data"), "INDEX_DIR": str(tmp_path / "index")}
    proxy_port = free_port()
    with running_workers([free_port()], proxy_port, {**env, "RAG_API_KEY": "off"}, tmp_path / "run", "0.0.0.0") as up:
        assert _refused_without_a_key(f"http://127.0.0.1:{proxy_port}")
        assert _refused_without_a_key(up.workers[0].url), "the worker itself listens on loopback only"


def test_the_key_never_reaches_the_log(api_app) -> None:
    url, _, _, workdir = api_app
    requests.get(f"{url}/v1/models", headers={"Authorization": "Bearer wrong-key-in-log-check"}, timeout=10)
    log = (workdir / "app.log").read_text(errors="replace")
    assert "API /v1 on: bearer key required" in log
    assert KEY not in log and "wrong-key-in-log-check" not in log and "second-client-key" not in log


def test_the_embedded_model_answers_through_the_api(tmp_path: Path) -> None:
    """The app's own default (a base model prompted to continue a lead) streamed to an SDK client."""
    with running_app(tmp_path, {"RAG_API_KEY": "off"}) as url:
        stream = _client(url, "ignored").chat.completions.create(
            model="rag-local",
            messages=[{"role": "user", "content": "How much of the final grade do the weekly labs count for?"}],
            max_tokens=24,
            stream=True,
        )
        text = "".join(c.choices[0].delta.content or "" for c in stream if c.choices)
    answer, _, sources = text.partition("**Sources**")
    assert answer.startswith(COMPLETION_LEAD.strip()) and len(answer.split()) > len(COMPLETION_LEAD.split())
    assert "course-handbook.pdf" in sources and "nothing left this machine" in sources


def test_a_chat_quoted_by_a_clients_task_message_stays_on_this_machine(api_app) -> None:
    """Open WebUI by default asks the chat's model for a title, tags and follow-up questions with the chat quoted
    in one *user* message. After a local answer from a local-only document, that request to rag-cloud is
    refused with the reason, and `python -m rag.egress --json` lists exactly what the cloud received."""
    url, local, cloud, workdir = api_app
    client = _client(url)
    started = time.time()
    question = "Which company does Project Nightingale merge with?"
    local.answer = f"As the minutes say, {MERGER} [1]."
    private = client.chat.completions.create(model="rag-local", messages=[{"role": "user", "content": question}])
    private_text = (private.choices[0].message.content or "").split("\n\n")[0]
    assert MERGER in private_text
    cloud.bodies.clear()
    task = (
        "### Task:\nSuggest 3-5 relevant follow-up questions or prompts that the user might naturally ask next.\n"
        f"### Chat History:\n<chat_history>\nUSER: {question}\nASSISTANT: {private_text}\n</chat_history>"
    )
    for messages in (
        [{"role": "user", "content": task}],
        [
            {"role": "system", "content": f"Keep in mind: {MERGER.lower()}"},
            {"role": "user", "content": "When does the library open?"},
        ],
        [{"role": "user", "content": [{"type": "text", "text": "Summarise:"}, {"type": "text", "text": task}]}],
    ):
        reply = client.chat.completions.create(model="rag-cloud", messages=messages)  # type: ignore[arg-type]
        rag = (reply.model_extra or {})["rag"]
        assert "quotes local-only text" in rag["egress"] and "Not sent to the cloud" in (
            reply.choices[0].message.content or ""
        )
    assert cloud.bodies == []
    shared = client.chat.completions.create(
        model="rag-cloud", messages=[{"role": "user", "content": "When does the library open on Saturdays?"}]
    )
    assert shared.choices[0].message.content
    since = datetime.fromtimestamp(started, UTC).isoformat()
    env = {**os.environ, "INDEX_DIR": str(workdir / "index")}
    printed = subprocess.run(
        [sys.executable, "-m", "rag.egress", "--json", "--since", since],
        env=env, capture_output=True, text=True, check=True, timeout=60,
    )  # fmt: skip
    records = json.loads(printed.stdout)
    assert [r["payload"]["messages"] for r in records] == [json.loads(body)["messages"] for body in cloud.bodies]
    assert len(records) == 1 and records[0]["user"] == "default" and records[0]["outcome"]["status"] == 200
