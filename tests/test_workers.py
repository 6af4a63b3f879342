"""Two app workers behind nginx on one PostgreSQL, as `python -m rag.workers` deploys them.

A throwaway PostgreSQL with pgvector holds the index (the samples, ingested by `python -m ingest`) and the
chat history; two `chainlit run app.py` workers and Debian's nginx run on free loopback ports; the model
is a recording OpenAI-compatible server that answers at once. Sessions chat through the proxy: each stays
on one worker for its socket and its HTTP requests (nginx's access log says which served what), both
workers answer, a chat written through one worker is read through the other, and a document uploaded
while both answer is answerable from both. Chromium does the same as a person would: its page, its
Socket.IO requests (long-polling first, then the websocket) and its upload all reach one worker.
Skipped when requirements-postgres.txt or nginx is missing.
"""

from __future__ import annotations

import asyncio
import re
import shutil
import time
from collections import defaultdict
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests

from rag.harness.app_process import BROWSER_ARGS
from rag.harness.postgres import PostgresUnavailable, find_installation
from rag.harness.socket_client import ChatClient, Exchange
from rag.web.proxy import ProxyUnavailable, nginx_program
from rag.workers import ROOT, Deployment, Worker
from tests.fault_server import FaultServer

pytest.importorskip("psycopg")
pytestmark = pytest.mark.slow

QUESTIONS = [
    "How much of the final grade do the weekly labs count for?",
    "When can I meet the lecturer outside class?",
    "How many repetitions per question does Lab 2 require?",
    "How much memory does a 7B model need with 4-bit quantization?",
]
NEW_FACT = "The Quagga Festival in Tallinn is held every year on the ninth of Brumaire, with lanterns on the harbour."
NEW_QUESTION = "When is the Quagga Festival in Tallinn held?"
ACCESS_LINE = re.compile(r'"(?P<request>[^"]*)" (?P<status>\d+) (?P<upstream>\S+) sticky=(?P<sticky>\S+)')


def _require_tools() -> None:
    try:
        find_installation()
        nginx_program()
    except (PostgresUnavailable, ProxyUnavailable) as exc:
        pytest.skip(str(exc))


@pytest.fixture(scope="module")
def deployment(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Deployment]:
    _require_tools()
    from rag.harness.deployment import running_deployment

    with FaultServer(answer="It is in the sources [1].") as model:
        env = {"LOCAL_BASE_URL": model.url("ok"), "OLLAMA_BASE_URL": "http://127.0.0.1:9/v1"}
        with running_deployment(tmp_path_factory.mktemp("workers"), env) as (running, _):
            yield running


def _access(deployment: Deployment) -> list[dict[str, str]]:
    lines = deployment.access_log.read_text(encoding="utf-8").splitlines()
    return [match.groupdict() for line in lines if (match := ACCESS_LINE.search(line))]


def _websockets_logged(deployment: Deployment, cookies: list[str | None], wait: float = 10) -> list[dict[str, str]]:
    """The access log once it holds an upgraded websocket for each session: nginx writes one when the connection
    closes, a moment after the client has closed it."""
    deadline = time.monotonic() + wait
    while True:
        rows = _access(deployment)
        upgraded = {
            row["sticky"] for row in rows if row["request"].startswith("GET /ws/socket.io/") and row["status"] == "101"
        }
        if set(cookies) <= upgraded or time.monotonic() > deadline:
            return rows
        time.sleep(0.2)


def _worker_of(deployment: Deployment, client: ChatClient) -> Worker:
    """The worker nginx sent this client's requests to, from its access log."""
    upstreams = {row["upstream"] for row in _access(deployment) if row["sticky"] == client.cookie("rag_worker")}
    assert len(upstreams) == 1, upstreams
    port = int(upstreams.pop().rsplit(":", 1)[1])
    return next(worker for worker in deployment.workers if worker.port == port)


async def _sessions_on_each_worker(deployment: Deployment, each: int) -> dict[int, list[ChatClient]]:
    """Open chats through the proxy until every worker holds `each` of them (the proxy spreads them at random)."""
    placed: dict[int, list[ChatClient]] = defaultdict(list)
    for _ in range(30):
        client = ChatClient(deployment.url)
        await client.connect(timeout=120)
        placed[_worker_of(deployment, client).port].append(client)
        if all(len(placed[worker.port]) >= each for worker in deployment.workers):
            return placed
    raise AssertionError(f"30 sessions, and still not {each} on every worker: {dict(placed)}")


async def _close(clients: list[ChatClient]) -> None:
    await asyncio.gather(*(client.close() for client in clients))


def _answered(exchange: Exchange) -> bool:
    return exchange.error is None and "It is in the sources [1]." in exchange.text and "Sources" in exchange.text


def test_each_session_stays_on_one_worker_and_both_workers_answer(deployment: Deployment) -> None:
    async def chat() -> tuple[dict[int, list[ChatClient]], list[Exchange]]:
        placed = await _sessions_on_each_worker(deployment, each=2)
        clients = [client for group in placed.values() for client in group]
        try:
            asked = [client.ask(QUESTIONS[n % len(QUESTIONS)], timeout=120) for n, client in enumerate(clients)]
            return placed, list(await asyncio.gather(*asked))
        finally:
            await _close(clients)

    placed, exchanges = asyncio.run(chat())
    assert all(_answered(exchange) for exchange in exchanges), [e.error or e.text[:200] for e in exchanges]
    rows = _websockets_logged(deployment, [c.cookie("rag_worker") for group in placed.values() for c in group])
    for port, clients in placed.items():
        for client in clients:
            mine = [row for row in rows if row["sticky"] == client.cookie("rag_worker")]
            assert {row["upstream"] for row in mine} == {f"127.0.0.1:{port}"}, "every request on the session's worker"
            assert any(row["request"].startswith("GET /ws/socket.io/") and row["status"] == "101" for row in mine)
    assert set(placed) == {worker.port for worker in deployment.workers}


def test_a_chat_written_through_one_worker_is_read_through_the_other(deployment: Deployment) -> None:
    async def chat() -> tuple[ChatClient, Exchange]:
        client = ChatClient(deployment.url)
        await client.connect(timeout=120)
        try:
            return client, await client.ask(QUESTIONS[0], timeout=120)
        finally:
            await client.close()

    client, exchange = asyncio.run(chat())
    assert _answered(exchange) and client.thread_id is not None
    writer = _worker_of(deployment, client)
    reader = next(worker for worker in deployment.workers if worker is not writer)
    login = {"access_token": client.cookie("access_token") or ""}  # signed by the writer, checked by the reader

    thread = _get_thread(reader, client.thread_id, login)
    outputs = [step.get("output") or "" for step in thread["steps"]]
    assert QUESTIONS[0] in outputs
    assert any("It is in the sources [1]." in output and "course-handbook.pdf" in output for output in outputs)
    sources = [element for element in thread["elements"] if element.get("url")]
    assert sources, "the passages shown beside the answer are stored too"
    passage = requests.get(reader.url + sources[0]["url"], cookies=login, timeout=30)
    assert passage.status_code == 200 and passage.text.strip()


def _get_thread(worker: Worker, thread_id: str, cookies: dict[str, str]) -> dict:
    """The stored chat as the sidebar reads it; the answer's last writes may land a moment after the answer."""
    deadline = time.monotonic() + 30
    while True:
        reply = requests.get(f"{worker.url}/project/thread/{thread_id}", cookies=cookies, timeout=30)
        assert reply.status_code == 200, reply.text
        thread: dict = reply.json()
        if thread["elements"] or time.monotonic() > deadline:
            return thread
        time.sleep(0.5)


def test_an_upload_reaches_the_worker_of_its_session_and_its_own_files_folder(deployment: Deployment) -> None:
    note = ("notes.md", b"# Notes\n\nA short note.\n", "text/markdown")

    async def upload() -> tuple[requests.Response, requests.Response, list[Path]]:
        client = ChatClient(deployment.url)
        await client.connect(timeout=120)
        try:
            through_proxy = await client.upload(*note)
            worker = _worker_of(deployment, client)
            other = next(w for w in deployment.workers if w is not worker)
            # the same session's upload, with the same login, sent to the worker that does not hold the session
            elsewhere = requests.post(
                f"{other.url}/project/file",
                params={"session_id": client.session_id},
                files={"file": note},
                cookies={"access_token": client.cookie("access_token") or ""},
                timeout=30,
            )
            stored = list((ROOT / ".files").glob(f"run-{worker.process.pid}-*/{client.session_id}/*"))
            return through_proxy, elsewhere, stored
        finally:
            await client.close()

    through_proxy, elsewhere, stored = asyncio.run(upload())
    assert through_proxy.status_code == 200, through_proxy.text
    assert elsewhere.status_code == 404, elsewhere.text  # "Session not found": what stickiness prevents
    assert len(stored) == 1 and stored[0].read_bytes() == note[1], "in the files folder of the session's worker"
    folders = {folder.name.split("-")[1] for folder in (ROOT / ".files").glob("run-*")}
    assert {str(w.process.pid) for w in deployment.workers} <= folders, "one files folder per worker"


def test_a_document_uploaded_while_both_workers_answer_is_answerable_from_both(deployment: Deployment) -> None:
    document = "\n\n".join(
        [f"# Quagga Festival\n\n{NEW_FACT}"]
        + [
            f"## Day {n}\n\nOn day {n} of the festival the choir sings song number {n * 7} by the old lighthouse."
            for n in range(60)
        ]
    ).encode()

    async def run() -> tuple[list[tuple[float, Exchange]], float, float, Exchange, list[Exchange]]:
        placed = await _sessions_on_each_worker(deployment, each=2)
        uploader = placed[deployment.workers[0].port].pop()
        chatting = [client for group in placed.values() for client in group]
        stop = asyncio.Event()
        answers: list[tuple[float, Exchange]] = []

        async def keep_asking(client: ChatClient, offset: int) -> None:
            n = offset
            while not stop.is_set():
                answers.append((time.monotonic(), await client.ask(QUESTIONS[n % len(QUESTIONS)], timeout=120)))
                n += 1

        background = [asyncio.create_task(keep_asking(client, n)) for n, client in enumerate(chatting)]
        try:
            await asyncio.sleep(1)
            started = time.monotonic()
            reply = await uploader.upload("quagga-festival.md", document)
            indexed = await uploader.ask(NEW_QUESTION, timeout=180, files=[reply.json()["id"]])
            finished = time.monotonic()
            await asyncio.sleep(1)
        finally:
            stop.set()
            await asyncio.gather(*background)
            await _close([*chatting, uploader])
        after = [await _ask_once(worker.url, NEW_QUESTION) for worker in deployment.workers]
        return answers, started, finished, indexed, after

    answers, started, finished, indexed, after = asyncio.run(run())
    assert all(_answered(exchange) for _, exchange in answers), [
        (e.error, e.text[:300]) for _, e in answers if not _answered(e)
    ]
    assert any(started < at < finished for at, _ in answers), "answers kept coming while the document was indexed"
    assert indexed.error is None and "quagga-festival.md" in indexed.text, indexed.text[:500]
    for exchange in after:  # asked of each worker directly
        assert _answered(exchange) and "quagga-festival.md" in exchange.text, exchange.text[:500]


async def _ask_once(url: str, question: str) -> Exchange:
    client = ChatClient(url)
    await client.connect(timeout=120)
    try:
        return await client.ask(question, timeout=120)
    finally:
        await client.close()


def test_a_browser_chats_and_uploads_through_the_proxy_on_one_worker(deployment: Deployment, tmp_path: Path) -> None:
    sync_api = pytest.importorskip("playwright.sync_api")
    upload = tmp_path / "ferry times.md"
    upload.write_text("# Ferry\n\nThe island ferry to Naissaar leaves the old harbour at 8:15 every Saturday.\n")
    with sync_api.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=shutil.which("chromium") or "/usr/bin/chromium", args=BROWSER_ARGS)
        try:
            context = browser.new_context(viewport={"width": 1300, "height": 1000})
            page = context.new_page()
            page.goto(deployment.url)
            page.get_by_text("Ready to answer", exact=False).first.wait_for(timeout=120_000)
            page.locator("input[type=file]").first.set_input_files(str(upload))
            page.get_by_text("ferry times.md", exact=False).first.wait_for(timeout=60_000)
            page.locator("#chat-input").fill("When does the island ferry to Naissaar leave?")
            page.keyboard.press("Enter")
            answer = page.locator(".step").filter(has_text="uploads/ferry times.md").filter(has_text=" · total ")
            answer.last.wait_for(timeout=120_000)
            assert "It is in the sources [1]." in answer.last.inner_text()
            sticky = next(cookie["value"] for cookie in context.cookies() if cookie["name"] == "rag_worker")
        finally:
            browser.close()
    mine = [row for row in _access(deployment) if row["sticky"] == sticky]
    assert len({row["upstream"] for row in mine}) == 1, mine  # the page, its socket and its upload on one worker
    requests_made = [row["request"] for row in mine]
    assert any(r.startswith("GET / ") for r in requests_made) and any(
        r.startswith("POST /project/file") for r in requests_made
    )
    assert any(r.startswith("GET /ws/socket.io/") for r in requests_made)
