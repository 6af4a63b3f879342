"""End to end in Debian's Chromium: ask, get a streamed cited answer, switch to the cloud, ask again."""

from __future__ import annotations

import re
import shutil
from contextlib import contextmanager
from pathlib import Path

import pytest

from rag.harness.app_process import ARTIFACTS, BROWSER_ARGS, running_app
from rag.i18n import browser_language, tr

playwright = pytest.importorskip("playwright.sync_api")
CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"


@pytest.fixture(scope="module")
def app_url(tmp_path_factory: pytest.TempPathFactory, local_llm, cloud_llm):
    env = {
        **local_llm.app_environment("llama.cpp"),
        "OPENAI_API_KEY": "test-key-for-the-stand-in",
        "OPENAI_BASE_URL": cloud_llm.base_url,
        "CLOUD_MODEL": "stand-in-cloud",
        "CLOUD_CONTEXT_TOKENS": "4096",
    }
    with running_app(tmp_path_factory.mktemp("app"), env) as url:
        yield url


@contextmanager
def _chat(url: str, height: int = 1000, locale: str | None = None):
    """A fresh chat page in Chromium, once the app has said it is ready."""
    with playwright.sync_playwright() as p:
        args = [*BROWSER_ARGS, f"--lang={locale}"] if locale else BROWSER_ARGS
        browser = p.chromium.launch(executable_path=CHROMIUM, args=args)
        page = browser.new_context(locale=locale, viewport={"width": 1300, "height": height}).new_page()
        page.goto(url)
        ready = tr(browser_language(locale), "welcome.ready", files=0, chunks=0).split("**")[0].strip()
        page.get_by_text(ready, exact=False).first.wait_for(timeout=180_000)
        try:
            yield page
        finally:
            browser.close()


def _choose_backend(page, name: str) -> None:
    page.locator("#chat-settings-open-modal").click()
    page.locator("#backend").click()
    page.get_by_role("option", name=name, exact=True).click()
    page.get_by_role("button", name="Confirm").click()


def _ask(page, question: str) -> None:
    page.locator("#chat-input").fill(question)
    page.keyboard.press("Enter")


def test_ask_local_then_switch_to_cloud(app_url: str) -> None:
    ARTIFACTS.mkdir(exist_ok=True)
    with _chat(app_url) as page:
        page.get_by_text("llama.cpp (gemma-3-270m-q4_k_m, on this machine)", exact=False).first.wait_for()
        _ask(page, "How much memory does a 7B model need with 4-bit quantization?")
        page.get_by_text("course-handbook.pdf, page 5", exact=False).first.wait_for(timeout=180_000)
        answer = page.locator(".step").filter(has_text="course-handbook.pdf, page 5").last.inner_text()
        assert "llama.cpp (gemma-3-270m-q4_k_m, on this machine) · retrieval" in answer
        first_line = answer.splitlines()[0]
        assert first_line.strip() and "llama.cpp" not in first_line, (
            "the streamed answer is there, not only its sources"
        )
        assert not answer.startswith("According to ["), "the prompt's lead is not shown as the answer"
        assert "nothing left this machine · answered by the local model (policy: local only)" in answer
        assert page.get_by_text("Used Retrieval", exact=False).count() >= 1
        evidence = answer.split("Evidence", 1)[1].split("Sources", 1)[0]
        quote, cited = re.search(r"“(.+?)” (\[\d\])", evidence).groups()  # type: ignore[union-attr]
        assert "4-bit" in quote or "7B" in quote or "GB" in quote, quote
        step = page.locator(".step").filter(has_text="course-handbook.pdf, page 5").last
        step.locator("a.element-link", has_text=cited).first.click()
        highlighted = page.locator("#side-view-content .font-bold").filter(
            has_text=quote[:30]
        )  # bold, as Chainlit renders it
        highlighted.first.wait_for(timeout=30_000)
        page.screenshot(path=str(ARTIFACTS / "browser-local-answer.png"), full_page=True)

        _choose_backend(page, "Cloud only")
        _ask(page, "When are the plants in the greenhouse watered?")
        cloud_answer = page.locator(".step").filter(has_text="Cloud API (stand-in-cloud, in the cloud) · retrieval")
        cloud_answer.last.wait_for(timeout=180_000)
        assert "greenhouse-faq.html" in cloud_answer.last.inner_text()
        assert re.search(r"sent to cloud: [1-5] chunks from", cloud_answer.last.inner_text())
        page.screenshot(path=str(ARTIFACTS / "browser-cloud-answer.png"), full_page=True)

        what_left = page.get_by_role("button", name="What left this machine")
        assert what_left.count() == 1, "only the cloud answer sent anything"
        what_left.click()
        page.get_by_text("Exactly what was sent for this answer: 1 request(s)", exact=False).first.wait_for()
        sent = page.locator(".step").filter(has_text="Exactly what was sent").last
        sent.get_by_text('"messages"', exact=False).first.wait_for(timeout=30_000)
        assert "When are the plants in the greenhouse watered?" in sent.inner_text()
        assert "egress.json" in sent.inner_text()
        page.screenshot(path=str(ARTIFACTS / "browser-egress.png"), full_page=True)
    assert Path(ARTIFACTS / "browser-cloud-answer.png").stat().st_size > 10_000


def test_a_russian_question_about_an_english_page_is_searched_in_english_too(app_url: str) -> None:
    """The search step says what English was searched; the handbook's grading sentence answers; a question the
    samples do not answer is declined in its own language, whatever the page's."""
    with _chat(app_url) as page:
        _ask(page, "Сколько процентов итоговой оценки дают еженедельные лабораторные?")
        answer = page.locator(".step").filter(has_text="course-handbook.pdf").filter(has_text=" · total ")
        answer.last.wait_for(timeout=180_000)
        assert "40 percent" in answer.last.inner_text()
        page.get_by_text("Used Retrieval", exact=False).first.click()
        page.get_by_text("Also searched in English (translated on this machine):", exact=False).first.wait_for()
        _ask(page, "Коя е столицата на Австралия?")
        page.get_by_text("затова няма да гадая", exact=False).first.wait_for(timeout=180_000)
        assert page.get_by_text("so I will not guess", exact=False).count() == 0


LATIN_ALLOWED = {"Top", "top", "BM25", "ms", "data", "private", "llama", "cpp", "gemma", "q4_k_m", "Cloud", "API",
                 "stand", "cloud", "in", "Close"}  # fmt: skip
"""Latin words a Bulgarian or Russian page may show: names of models and servers, units, folder names, and
"Close", the screen-reader label of Chainlit's dialog button, which Chainlit's own translations lack."""


def _english(text: str) -> set[str]:
    return {word for word in re.findall(r"[A-Za-z][A-Za-z_0-9]{1,}", text) if word not in LATIN_ALLOWED} - {"p50"}


@pytest.mark.parametrize(
    ("locale", "placeholder"), [("bg-BG", "Напишете съобщение..."), ("ru-RU", "Введите сообщение...")]
)
def test_interface_follows_the_browser_language(app_url: str, locale: str, placeholder: str) -> None:
    """Chainlit's own chrome and everything the app writes: welcome, settings, answer lines, sources, actions."""
    language = browser_language(locale)
    with _chat(app_url, locale=locale) as page:
        assert page.locator("#chat-input").get_attribute("placeholder") == placeholder
        welcome = page.locator(".step").filter(has_text=tr(language, "welcome.choose")[:25]).first.inner_text()
        assert _english(welcome) == set(), welcome
        page.locator("#chat-settings-open-modal").click()
        dialog = page.get_by_role("dialog")
        dialog.wait_for()
        assert _english(dialog.inner_text()) == set(), dialog.inner_text()
        page.keyboard.press("Escape")
        _ask(page, "How much memory does a 7B model need with 4-bit quantization?")
        route = tr(language, "route.answered_by_local", policy=tr(language, "policy.local"))
        page.get_by_text(route, exact=False).first.wait_for(timeout=180_000)
        answer = page.locator(".step").filter(has_text=route).last.inner_text()
        for key in ("answer.sources", "egress.nothing_left"):
            assert tr(language, key) in answer, key
        footer = answer.splitlines()[-2:]  # the figures, then what left the machine and who answered
        assert _english(" ".join(footer)) <= {"llama", "cpp", "gemma", "q4_k_m"} | LATIN_ALLOWED, footer
        # The figures' labels ("first token", "retrieval") are checked in the footer above: the answer also
        # quotes the English document, which may use the same words.
        for english in ("Sources", "Evidence", "nothing left", "answered by"):
            assert english not in answer, english
        assert page.get_by_role("button", name=tr(language, "app.compare_action")).count() >= 1
        page.screenshot(path=str(ARTIFACTS / f"browser-{locale}.png"), full_page=True)


def test_a_task_preset_sets_the_numbers_and_the_current_settings_can_be_saved_as_one(app_url: str) -> None:
    with _chat(app_url) as page:
        page.locator("#chat-settings-open-modal").click()
        page.locator("#preset").click()
        page.get_by_role("option", name="Creative", exact=True).click()
        page.get_by_role("button", name="Confirm").click()
        page.get_by_text("Task preset “Creative” applied", exact=False).wait_for(timeout=30_000)
        page.locator("#chat-settings-open-modal").click()
        dialog = page.get_by_role("dialog")
        assert "768" in dialog.inner_text(), "the panel shows the preset's max tokens"
        name = "Lab 3 exam ![x](http://127.0.0.1:9/tracker.png)"  # a name is the user's text, shown as text
        page.locator("#save_preset").fill(name)
        page.get_by_role("button", name="Confirm").click()
        page.get_by_text("as the preset “Lab 3 exam", exact=False).wait_for(timeout=30_000)
        assert page.locator("img[src*='tracker.png']").count() == 0, "no image fetched from a preset's name"
        page.locator("#chat-settings-open-modal").click()
        page.locator("#preset").click()
        assert page.get_by_role("option", name=name, exact=True).count() == 1


def test_both_mode_shows_two_measured_answers_and_a_comparison(app_url: str) -> None:
    ARTIFACTS.mkdir(exist_ok=True)
    with _chat(app_url, height=1400) as page:
        _choose_backend(page, "Both side by side")
        _ask(page, "What does TTFT measure?")
        local = page.locator(".step").filter(has_text="llama.cpp (gemma-3-270m-q4_k_m, on this machine) · retrieval")
        cloud = page.locator(".step").filter(has_text="Cloud API (stand-in-cloud, in the cloud) · retrieval")
        local.last.wait_for(timeout=180_000)
        cloud.last.wait_for(timeout=180_000)
        for answer in (local.last.inner_text(), cloud.last.inner_text()):
            assert "first token" in answer and "tokens/s" in answer and "out tokens" in answer and "cost" in answer
        assert "course-handbook.pdf, page 2" in local.last.inner_text()

        side = page.locator(".step").filter(has_text="Side by side").last
        side.wait_for(timeout=60_000)
        headers = side.locator("th")
        assert headers.count() == 2, side.inner_text()
        left, right = headers.nth(0).bounding_box(), headers.nth(1).bounding_box()
        assert left and right and right["x"] >= left["x"] + left["width"] - 1 and abs(right["y"] - left["y"]) < 2
        assert "on this machine" in headers.nth(0).inner_text() and "in the cloud" in headers.nth(1).inner_text()
        said = side.inner_text()
        assert ("sooner than" in said or "of each other" in said) and "cost" in said, said
        page.screenshot(path=str(ARTIFACTS / "browser-side-by-side.png"), full_page=True)

        page.get_by_role("button", name="Compare backends in this chat").first.click()
        table = page.locator(".step").filter(has_text="TTFT p50")
        table.last.wait_for(timeout=60_000)
        text = table.last.inner_text()
        assert "llama.cpp (gemma-3-270m-q4_k_m)" in text and "Cloud API (stand-in-cloud)" in text
        assert "measurements.csv" in text
        page.screenshot(path=str(ARTIFACTS / "browser-both-and-comparison.png"), full_page=True)


def test_uploaded_file_is_saved_indexed_and_answered_from(app_url: str, tmp_path: Path) -> None:
    upload = tmp_path / "field trip.md"
    upload.write_text("# Field trip\n\nThe botanical garden field trip leaves at 7:45 from the east gate.\n")
    with _chat(app_url) as page:
        page.locator("input[type=file]").first.set_input_files(str(upload))
        page.get_by_text("field trip.md", exact=False).first.wait_for(timeout=30_000)
        _ask(page, "When does the botanical garden field trip leave?")
        page.get_by_text("Indexing uploads", exact=False).first.wait_for(timeout=60_000)
        answer = page.locator(".step").filter(has_text="uploads/field trip.md").filter(has_text=" · total ")
        answer.last.wait_for(timeout=180_000)
        page.screenshot(path=str(ARTIFACTS / "browser-upload.png"), full_page=True)


def test_a_question_typed_the_moment_the_box_appears_is_answered(app_url: str) -> None:
    """The page shows its message box before the chat is ready; the box waits, visibly, instead of dropping it."""
    with playwright.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=BROWSER_ARGS)
        page = browser.new_page(viewport={"width": 1300, "height": 1000})
        page.goto(app_url)
        box = page.locator("#chat-input")
        box.wait_for(state="attached", timeout=60_000)
        waiting = box.get_attribute("placeholder")
        box.fill("How much memory does a 7B model need with 4-bit quantization?")  # waits until the box opens
        page.keyboard.press("Enter")
        answer = page.locator(".step").filter(has_text="course-handbook.pdf, page 5").filter(has_text=" · total ")
        answer.last.wait_for(timeout=180_000)
        assert page.get_by_text("How much memory does a 7B model need", exact=False).count() >= 1
        browser.close()
    assert waiting in ("Starting the chat, one moment…", "Type your message here..."), waiting
