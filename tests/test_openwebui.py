"""A real Open WebUI as a client, in Debian's Chromium: pick a model, ask, watch the answer stream in.

Open WebUI lives in its own venv (`.venv-openwebui`, about 2.9 GB with torch); `make test-openwebui` creates it
and runs this module with OPEN_WEBUI_BIN set. Without it, every test here is skipped.

Each test starts one Open WebUI pointed at one OpenAI-compatible target (a base URL ending in /v1 and a key):
the scripted stand-in for the app's API (`tests/openwebui/stub_server.py`), which checks and records what
Open WebUI sends, and the app's own `/v1`, with the real RAG behind it.
"""

from __future__ import annotations

import json
import os
import re
import secrets
import shutil
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import pytest
import requests

from rag.harness.app_process import ARTIFACTS, BROWSER_ARGS, ROOT, running_app
from rag.llm.embedded_server import free_port
from rag.workers import stop_app
from tests.fault_server import FaultServer
from tests.helpers import MERGER, board_minutes_app
from tests.openwebui.stub_server import MODELS, StubServer, answer_for

playwright = pytest.importorskip("playwright.sync_api")
CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
OPEN_WEBUI = Path(os.environ.get("OPEN_WEBUI_BIN") or ROOT / ".venv-openwebui" / "bin" / "open-webui")

pytestmark = [
    pytest.mark.openwebui,
    pytest.mark.slow,
    pytest.mark.skipif(
        not OPEN_WEBUI.exists(), reason=f"Open WebUI is not installed ({OPEN_WEBUI}); `make test-openwebui` installs it"
    ),
]

KEY = "sk-openwebui-test-5d2e8b"
QUESTION = "When are the plants in the greenhouse watered?"

OFFLINE_SETTINGS = {
    "WEBUI_AUTH": "False",  # single user, no login page: the first visit signs in as the admin
    "ENABLE_OLLAMA_API": "False",  # no Ollama connection to probe on localhost:11434
    "ENABLE_OPENAI_API": "True",
    "OFFLINE_MODE": "True",  # no Hugging Face downloads, no version check, no pip installs for plugins
    "HF_HUB_OFFLINE": "1",
    "RAG_EMBEDDING_ENGINE": "openai",  # no local sentence-transformers model loaded (or fetched) at startup
    "BYPASS_EMBEDDING_AND_RETRIEVAL": "True",  # Open WebUI's own RAG stays off: retrieval is the target's job
    # One question, one completion: no extra requests to the target for a title, tags or follow-ups.
    "ENABLE_TITLE_GENERATION": "False",
    "ENABLE_TAGS_GENERATION": "False",
    "ENABLE_FOLLOW_UP_GENERATION": "False",
    "ENABLE_AUTOCOMPLETE_GENERATION": "False",
}
"""How Open WebUI runs here: offline, on loopback, in a fresh data folder, talking only to the target."""


@dataclass(frozen=True)
class Target:
    """An OpenAI-compatible server for Open WebUI: its base URL (ending in /v1) and the bearer key it wants."""

    base_url: str
    key: str


@contextmanager
def running_open_webui(
    target: Target, workdir: Path, timeout: float = 240, settings: dict[str, str] = OFFLINE_SETTINGS
) -> Iterator[str]:
    """Yield the URL of a fresh Open WebUI whose only connection is `target`, ready for a browser."""
    data = workdir / "open-webui-data"
    data.mkdir(parents=True, exist_ok=True)
    inherited = {k: v for k, v in os.environ.items() if not k.startswith(("OPENAI_", "OLLAMA_", "WEBUI_"))}
    env = {
        **inherited,
        **settings,
        "DATA_DIR": str(data),
        "WEBUI_SECRET_KEY": secrets.token_hex(16),
        "OPENAI_API_BASE_URLS": target.base_url,
        "OPENAI_API_KEYS": target.key,
    }
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    log_path = workdir / "open-webui.log"
    log = open(log_path, "wb")  # noqa: SIM115 - the child process writes to it for its whole life
    process = subprocess.Popen(
        [str(OPEN_WEBUI), "serve", "--host", "127.0.0.1", "--port", str(port)],
        cwd=workdir, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True,
    )  # fmt: skip
    try:
        deadline = time.monotonic() + timeout
        while not _healthy(url):
            if process.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"Open WebUI did not start: {log_path.read_text(errors='replace')[-3000:]}")
            time.sleep(0.5)
        _mark_release_notes_seen(url)
        yield url
    finally:
        stop_app(process)
        log.close()


def _healthy(url: str) -> bool:
    try:
        return requests.get(f"{url}/health", timeout=2).status_code == 200
    except requests.RequestException:
        return False


def _mark_release_notes_seen(url: str) -> None:
    """What "Okay, Let's Go!" on the What's New dialog stores, so a fresh instance opens straight on the chat."""
    version = requests.get(f"{url}/api/config", timeout=10).json()["version"]
    signin = requests.post(f"{url}/api/v1/auths/signin", json={"email": "", "password": ""}, timeout=30)
    signin.raise_for_status()
    headers = {"Authorization": f"Bearer {signin.json()['token']}"}
    update = requests.post(
        f"{url}/api/v1/users/user/settings/update", json={"ui": {"version": version}}, headers=headers, timeout=10
    )
    update.raise_for_status()


@contextmanager
def chat_page(url: str) -> Iterator:
    with playwright.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=BROWSER_ARGS)
        page = browser.new_page(viewport={"width": 1300, "height": 1000})
        page.goto(url)
        page.locator("#model-selector-model-button").wait_for(timeout=120_000)
        try:
            yield page
        finally:
            browser.close()


def offered_models(page) -> list[str]:
    """The models in Open WebUI's picker, in its order; the picker stays open."""
    page.locator("#model-selector-model-button").click()
    options = page.locator("#model-selector-list [role=option]")
    options.first.wait_for(timeout=30_000)
    return [
        re.sub(r"^Select (.+) model$", r"\1", label or "")
        for label in (o.get_attribute("aria-label") for o in options.all())
    ]


def choose_model(page, model: str) -> None:
    """Pick `model` in the open picker; the button then names it."""
    page.get_by_role("option", name=f"Select {model} model", exact=True).click()
    assert page.locator("#model-selector-model-button").get_attribute("aria-label") == f"Selected model: {model}"


def ask(page, question: str) -> None:
    page.locator("#chat-input").click()
    page.keyboard.type(question)
    page.keyboard.press("Enter")


def finished_answer(page, timeout: float = 60_000):
    """The last assistant message, once Open WebUI shows its actions (they appear when the stream has ended)."""
    page.get_by_role("button", name="Regenerate").last.wait_for(timeout=timeout)
    return page.locator(".chat-assistant").last


# The targets. Each test gets its own Open WebUI, since Open WebUI takes its connection from the environment
# of its first start; pointing a test at another server is a matter of yielding another Target.


@pytest.fixture(scope="module")
def stub() -> Iterator[StubServer]:
    with StubServer(KEY) as server:
        yield server


@pytest.fixture(scope="module")
def stub_webui(stub: StubServer, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    with running_open_webui(Target(stub.base_url, KEY), tmp_path_factory.mktemp("openwebui-stub")) as url:
        yield url


@pytest.fixture(scope="module")
def app_target(tmp_path_factory: pytest.TempPathFactory, local_llm) -> Iterator[Target]:
    """The app itself, with the real local model and RAG_API_KEY set: its `/v1` is the target."""
    env = {
        **local_llm.app_environment("llama.cpp"),
        "RAG_API_KEY": KEY,
    }
    with running_app(tmp_path_factory.mktemp("openwebui-app"), env) as url:
        models = requests.get(f"{url}/v1/models", headers={"Authorization": f"Bearer {KEY}"}, timeout=30)
        if models.status_code == 404:
            pytest.skip("the app has no OpenAI-compatible API yet: GET /v1/models answered 404")
        assert models.status_code == 200, models.text
        yield Target(f"{url}/v1", KEY)


@pytest.fixture(scope="module")
def app_webui(app_target: Target, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    with running_open_webui(app_target, tmp_path_factory.mktemp("openwebui-app-client")) as url:
        yield url


def test_open_webui_streams_the_answer_of_the_chosen_model(stub: StubServer, stub_webui: str) -> None:
    ARTIFACTS.mkdir(exist_ok=True)
    model = "rag-cloud-first"  # not the first in the list, so the choice is what picks it
    expected = answer_for(model)
    with chat_page(stub_webui) as page:
        assert offered_models(page) == MODELS, "Open WebUI lists the target's models, fetched with the key"
        choose_model(page, model)

        stub.hold_after_words = 5  # the stream stops after five words until the test has seen them
        try:
            ask(page, QUESTION)
            partial = " ".join(expected.split(" ")[:5])
            page.locator(".chat-assistant", has_text=partial).last.wait_for(timeout=60_000)
            shown = page.locator(".chat-assistant").last.inner_text()
            assert expected not in shown, f"the answer shows as it streams, before it is complete: {shown!r}"
            assert page.get_by_role("button", name="Regenerate").count() == 0, "the message is not finished yet"
        finally:
            stub.release.set()

        answer = finished_answer(page)
        assert answer.inner_text().strip() == expected
        assert page.locator("#response-message-model-name").last.inner_text() == model
        page.screenshot(path=str(ARTIFACTS / "openwebui-stub-answer.png"), full_page=True)

    completions = stub.completions()
    assert len(completions) == 1, "one question, one completion: no title, tag or follow-up requests"
    sent = completions[0]
    assert sent.authorization == f"Bearer {KEY}"
    assert sent.body["model"] == model and sent.body["stream"] is True
    assert sent.body["messages"][-1] == {"role": "user", "content": QUESTION}
    assert all(r.authorization == f"Bearer {KEY}" for r in stub.requests), "every request carried the key"


def test_open_webui_answers_from_the_apps_api_with_citations(app_webui: str) -> None:
    ARTIFACTS.mkdir(exist_ok=True)
    with chat_page(app_webui) as page:
        assert offered_models(page) == ["rag-local"], "no cloud model configured: the local policy alone"
        choose_model(page, "rag-local")
        ask(page, "How much memory does a 7B model need with 4-bit quantization?")
        text = finished_answer(page, timeout=300_000).inner_text()
        page.screenshot(path=str(ARTIFACTS / "openwebui-app-answer.png"), full_page=True)
    # The bundled model answers to a completion prompt that starts its answer with a citation.
    assert re.match(r"According to \[\d+\]", text), f"the streamed answer with its inline citation: {text!r}"
    sources = text.partition("Sources")[2]
    assert "course-handbook.pdf, page 5" in sources, f"the sources the app appends name the handbook: {text!r}"
    assert "nothing left this machine" in sources, "the app's egress line, at the end of the answer"


TASK_DEFAULTS = {name: value for name, value in OFFLINE_SETTINGS.items() if not name.endswith("_GENERATION")}
"""Open WebUI as it ships: after each answer it asks the chat's model for a title, tags and follow-up questions,
each request quoting the chat in one user message."""


@pytest.fixture(scope="module")
def private_app(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Target, FaultServer, Path]]:
    """The app with a local-only document, a local model that quotes it and a recording cloud."""
    with FaultServer(answer=f"As the minutes say, {MERGER} [1].") as local, FaultServer() as cloud:
        workdir = tmp_path_factory.mktemp("openwebui-private")
        with running_app(workdir, board_minutes_app(workdir, local, cloud, KEY)) as url:
            yield Target(f"{url}/v1", KEY), cloud, workdir


def test_open_webui_with_its_task_features_on_carries_nothing_local_only_to_the_cloud(
    private_app: tuple[Target, FaultServer, Path], tmp_path: Path
) -> None:
    """A local answer from a local-only document, then a switch to rag-cloud in the same chat: Open WebUI sends
    the chat back with the next question and quotes it in its title, tag and follow-up requests. The cloud
    receives none of it, and the egress audit lists exactly what it did receive."""
    target, cloud, workdir = private_app
    with running_open_webui(target, tmp_path, settings=TASK_DEFAULTS) as url, chat_page(url) as page:
        offered_models(page)
        choose_model(page, "rag-local")
        ask(page, "Which company does Project Nightingale merge with?")
        assert "Halvorsen" in finished_answer(page).inner_text()
        offered_models(page)
        choose_model(page, "rag-cloud")
        ask(page, "When does the library open on Saturdays?")
        finished_answer(page)
        deadline = time.monotonic() + 60  # the follow-up questions come after the answer
        while time.monotonic() < deadline and _cloud_calls(workdir) < 2:
            time.sleep(1)
        page.screenshot(path=str(ARTIFACTS / "openwebui-private-then-cloud.png"), full_page=True)
    assert _cloud_calls(workdir) >= 2, "Open WebUI asked rag-cloud more than the question: its task requests"
    sent = "\n".join(cloud.bodies)
    assert cloud.bodies and "Halvorsen" not in sent and "14 March" not in sent and "Nightingale" not in sent
    printed = subprocess.run(
        [sys.executable, "-m", "rag.egress", "--json"],
        env={**os.environ, "INDEX_DIR": str(workdir / "index")}, capture_output=True, text=True, check=True,
    )  # fmt: skip
    records = json.loads(printed.stdout)
    assert [r["payload"]["messages"] for r in records] == [json.loads(body)["messages"] for body in cloud.bodies]


def _cloud_calls(workdir: Path) -> int:
    """How many requests for rag-cloud the app has taken (answered, held back or refused)."""
    return (workdir / "app.log").read_text(errors="replace").count(": rag-cloud")
