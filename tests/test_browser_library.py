"""The document library in Chromium: list the documents, remove one (it is then never cited), and answer from
chosen documents only."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

from rag.harness.app_process import ARTIFACTS, BROWSER_ARGS, running_app
from tests.documents import write
from tests.fault_server import FaultServer

playwright = pytest.importorskip("playwright.sync_api")
CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"


@pytest.fixture(scope="module")
def library_app(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, Path]]:
    with FaultServer(answer="The answer is in [1].") as local:
        workdir = tmp_path_factory.mktemp("library")
        data = workdir / "data"
        write(data, "animals/horses.md", "# Horses\n\nHorses sleep standing up and have no stripes.\n")
        write(data, "animals/stripes.md", "# Stripes\n\nTigers have stripes; so do some fish and many moths.\n")
        write(data, "zebras.md", "# Zebras\n\nZebras have black and white stripes that confuse biting flies.\n")
        env = {"LOCAL_BASE_URL": local.url("ok"), "LOCAL_MODEL": "m"}
        with running_app(workdir, env) as url:
            yield url, workdir


def _answer_sources(page) -> str:
    """The Sources list under the last answer."""
    answer = page.locator(".step").filter(has_text="Sources").last
    return answer.inner_text().split("Sources", 1)[1]


def _ask_and_wait(page, question: str, answers_before: int) -> str:
    page.locator("#chat-input").fill(question)
    page.keyboard.press("Enter")
    answers = page.locator(".step").filter(has_text="Sources")
    page.wait_for_function(
        "n => document.querySelectorAll('.step').length > 0 && "
        "[...document.querySelectorAll('.step')].filter(s => s.innerText.includes('Sources')).length > n",
        arg=answers_before,
        timeout=120_000,
    )
    return answers.last.inner_text()


def test_the_library_lists_removes_and_scopes_documents(library_app: tuple[str, Path]) -> None:
    url, workdir = library_app
    ARTIFACTS.mkdir(exist_ok=True)
    with playwright.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=BROWSER_ARGS)
        page = browser.new_page(viewport={"width": 1300, "height": 1000})
        page.goto(url)
        page.get_by_role("button", name="Documents").wait_for(timeout=180_000)

        page.get_by_role("button", name="Documents").click()
        table = page.get_by_text("3 documents in the index.", exact=False)
        table.wait_for(timeout=30_000)
        listed = page.locator("table").last.inner_text()
        assert "animals/horses.md" in listed and "zebras.md" in listed
        page.screenshot(path=str(ARTIFACTS / "browser-library.png"), full_page=True)

        page.get_by_role("button", name="Remove zebras.md").click()
        page.get_by_role("button", name="Remove", exact=True).click()
        page.get_by_text("zebras.md was removed", exact=False).wait_for(timeout=60_000)
        assert not (workdir / "data" / "zebras.md").exists()
        first = _ask_and_wait(page, "What do zebra stripes confuse?", 0)
        assert "zebras.md" not in first.split("Sources", 1)[1]

        page.locator("#chat-settings-open-modal").click()
        chooser = page.locator("label[for=scope] + div input[role=combobox]")
        chooser.click()
        chooser.fill("stripes")
        page.get_by_role("option", name="animals/stripes.md", exact=True).click()
        page.get_by_role("button", name="Confirm").click()
        scoped = _ask_and_wait(page, "Which animals have stripes?", 1)
        sources = scoped.split("Sources", 1)[1]
        assert "animals/stripes.md" in sources and "horses.md" not in sources
        assert "Answered from the chosen documents only: animals/stripes.md" in scoped
        page.screenshot(path=str(ARTIFACTS / "browser-library-scoped.png"), full_page=True)
        page.wait_for_timeout(2000)  # the panel used to open by itself once the answer's passages arrived
        assert page.locator("#side-view-title").count() == 0, "the sources panel waits for a click"
        last = page.locator(".step").filter(has_text="Sources").last
        last.locator("a.element-link", has_text="[1]").first.click()
        panel = page.locator("#side-view-content")
        panel.wait_for(timeout=10_000)
        assert "animals/stripes.md" in panel.inner_text() and "horses" not in panel.inner_text().lower()

        page.reload()  # history is on by default: the chat comes back
        page.get_by_text("Which animals have stripes?", exact=True).first.wait_for(timeout=60_000)
        assert (
            "Answered from the chosen documents only"
            in page.locator(".step").filter(has_text="Sources").last.inner_text()
        )
        browser.close()
