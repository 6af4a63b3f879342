"""In the browser: with CHAT_HISTORY=on a chat survives an app restart, with its settings, sources and history."""

from __future__ import annotations

import json
import shutil
import sqlite3
from contextlib import closing
from pathlib import Path

import pytest
import requests

from rag.chat.history import turns_from_steps
from rag.harness.app_process import ARTIFACTS, BROWSER_ARGS, running_app

playwright = pytest.importorskip("playwright.sync_api")
CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
API_KEY = "sk-history-test-key-that-must-not-be-stored-5b1c"
QUESTION = "When are the plants in the greenhouse watered?"
FOLLOW_UP = "And what should students wear there?"


def _open(p, url: str):
    browser = p.chromium.launch(executable_path=CHROMIUM, args=BROWSER_ARGS)
    page = browser.new_context(viewport={"width": 1300, "height": 1000}).new_page()
    page.goto(url)
    page.get_by_text("Ready to answer", exact=False).wait_for(timeout=180_000)
    return browser, page


def _ask(page, question: str) -> None:
    page.locator("#chat-input").fill(question)
    page.keyboard.press("Enter")


def _query(database: Path, sql: str) -> list[dict]:
    """Read and close at once: an open cursor would hold a lock the running app has to wait for."""
    with closing(sqlite3.connect(database)) as connection:
        connection.row_factory = sqlite3.Row
        return [dict(row) for row in connection.execute(sql)]


def _stored_settings(database: Path, page, seconds: float = 20) -> dict:
    """The chat's settings as stored; written just after the answer, so allow a slow machine a moment."""
    for _ in range(int(seconds * 2)):
        threads = _query(database, 'SELECT "metadata" FROM threads')
        settings = json.loads(threads[0]["metadata"] or "{}").get("chat_settings") if threads else None
        if settings:
            return settings
        page.wait_for_timeout(500)
    return {}


def _stored_steps(database: Path) -> list[dict]:
    return _query(database, 'SELECT * FROM steps ORDER BY "createdAt"')


def test_a_chat_comes_back_after_a_restart(tmp_path: Path, local_llm, fault_server) -> None:
    env = {
        "CHAT_HISTORY": "on",
        "HISTORY_DIR": str(tmp_path / "history"),
        **local_llm.app_environment(),
        "OPENAI_API_KEY": API_KEY,
        "OPENAI_BASE_URL": fault_server.url("ok"),
        "CLOUD_MODEL": "stand-in-cloud",
    }
    database = tmp_path / "history" / "chats.db"
    ARTIFACTS.mkdir(exist_ok=True)
    with running_app(tmp_path, env) as url, playwright.sync_playwright() as p:
        browser, page = _open(p, url)
        page.locator("#chat-settings-open-modal").click()
        page.locator("#backend").click()
        page.get_by_role("option", name="Cloud only", exact=True).click()
        page.locator("#mode").click()
        page.get_by_role("option", name="Dense (meaning)", exact=True).click()
        page.get_by_role("button", name="Confirm").click()
        _ask(page, QUESTION)
        page.locator(".step").filter(has_text="sent to cloud").last.wait_for(timeout=120_000)
        assert _stored_settings(database, page).get("mode") == "dense", "stored while the browser is still open"
        browser.close()
    requests_before_restart = len(fault_server.bodies)
    assert QUESTION not in "".join(fault_server.bodies[:-1])

    with running_app(tmp_path, env) as url, playwright.sync_playwright() as p:
        browser, page = _open(p, url)
        page.get_by_text(QUESTION).first.click()  # the chat in the history sidebar
        old_answer = page.locator(".step").filter(has_text="sent to cloud")
        old_answer.last.wait_for(timeout=30_000)
        assert "The answer is in [1]." in old_answer.last.inner_text()
        assert "greenhouse-faq.html" in old_answer.last.inner_text()

        page.locator("#chat-settings-open-modal").click()
        assert page.locator("#backend").inner_text().strip() == "Cloud only"
        assert page.locator("#mode").inner_text().strip() == "Dense (meaning)"
        page.get_by_role("button", name="Cancel").click()

        _ask(page, FOLLOW_UP)
        page.locator(".step").filter(has_text="sent to cloud").nth(1).wait_for(timeout=120_000)
        page.screenshot(path=str(ARTIFACTS / "browser-history-resumed.png"), full_page=True)
        page.get_by_role("button", name="Compare backends in this chat").last.click()
        page.get_by_text("This chat so far (2 answers)").wait_for(timeout=30_000)  # one from before the restart

        key = _query(database, """SELECT "objectKey" FROM elements WHERE "type" = 'text'""")[0]["objectKey"]
        cookies = {c["name"]: c["value"] for c in page.context.cookies()}
        own = requests.get(f"{url}/history/files/{key}", cookies=cookies, timeout=10)
        stranger = requests.get(f"{url}/history/files/{key}", timeout=10)
        stored_turns = turns_from_steps(_stored_steps(database))

        chat = page.locator("a[href^='/thread/']").filter(has_text=QUESTION).first
        chat.hover()
        chat.locator("#thread-options").click()
        page.get_by_role("menuitem", name="Delete").click()
        page.get_by_role("button", name="Confirm").click()
        page.locator("a[href^='/thread/']").filter(has_text=QUESTION).wait_for(state="detached", timeout=30_000)
        browser.close()

    follow_up = json.loads(fault_server.bodies[-1])
    assert len(fault_server.bodies) == requests_before_restart + 1
    sent = json.dumps(follow_up["messages"])
    assert FOLLOW_UP in sent and QUESTION in sent, "the earlier turn is part of the resumed conversation"

    assert own.status_code == 200 and own.text.startswith("**")  # a source shown beside the answer
    assert stranger.status_code in (401, 404)

    assert [t.question for t in stored_turns] == [QUESTION, FOLLOW_UP]
    stored_bytes = b"".join(f.read_bytes() for f in (tmp_path / "history").rglob("*") if f.is_file())
    assert API_KEY.encode() not in stored_bytes

    assert _stored_steps(database) == [], "a deleted chat leaves nothing behind"
    assert [f for f in (tmp_path / "history" / "files").rglob("*") if f.is_file()] == []
