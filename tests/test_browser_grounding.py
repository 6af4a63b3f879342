"""In Chromium: an answer with an invented sentence and a citation of no source is marked, under the evidence quote."""

from __future__ import annotations

import shutil

import pytest

from rag.harness.app_process import ARTIFACTS, BROWSER_ARGS, running_app
from tests.fault_server import FaultServer

playwright = pytest.importorskip("playwright.sync_api")
CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
INVENTED = "Penguins schedule the firewall updates every winter [9]."


def test_unsupported_sentences_and_missing_sources_are_marked(tmp_path) -> None:
    answer = f"Ollama listens on port 11434 [1]. {INVENTED}"
    with FaultServer(answer=answer) as model:
        env = {"LOCAL_BASE_URL": model.url("ok"), "LOCAL_MODEL": "scripted", "LOCAL_LABEL": "Scripted model"}
        with running_app(tmp_path, env) as url, playwright.sync_playwright() as p:
            browser = p.chromium.launch(executable_path=CHROMIUM, args=BROWSER_ARGS)
            try:
                page = browser.new_context(viewport={"width": 1300, "height": 1000}).new_page()
                page.goto(url)
                page.get_by_text("Ready to answer", exact=False).wait_for(timeout=180_000)
                page.locator("#chat-input").fill("Which port does Ollama listen on?")
                page.keyboard.press("Enter")
                step = page.locator(".step").filter(has_text="Scripted model (scripted, on this machine) · retrieval")
                step.last.wait_for(timeout=120_000)
                shown = " ".join(step.last.inner_text().split())
                ARTIFACTS.mkdir(exist_ok=True)
                page.screenshot(path=str(ARTIFACTS / "browser-grounding-marks.png"), full_page=True)
            finally:
                browser.close()
    assert f"{INVENTED.replace(' [9]', '')} ⚠️" in shown, "marked, and without the citation of no source"
    assert "Ollama listens on port 11434 [1]. ⚠️" not in shown, "a sentence the sources support is not marked"
    assert "no source supports the marked sentence(s): check them." in shown
    assert "Citations of sources that do not exist were removed: [9]." in shown
    evidence = shown.split("Evidence", 1)[1].split("Sources", 1)[0]
    assert "11434" in evidence and "lab-setup.md" in evidence
