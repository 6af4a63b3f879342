"""A minimal client of Chainlit's Socket.IO protocol: what the browser does, without the browser."""

from __future__ import annotations

import asyncio
import time
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime

import requests
import socketio

LEAD = "According to ["


@dataclass
class Exchange:
    """One question's round trip, timed from the moment it was sent."""

    first_token_ms: float | None = None
    total_ms: float | None = None
    text: str = ""
    error: str | None = None


class ChatClient:
    """One chat session: connect, wait for the welcome message, ask questions one after the other.

    Like a browser, it keeps the cookies the app (or a proxy in front of it) sets and sends them with the
    socket and every later request, so a proxy's sticky-session cookie keeps the session on one worker.
    """

    def __init__(self, url: str) -> None:
        self.url = url
        self.http = requests.Session()
        self.session_id = str(uuid.uuid4())
        self.thread_id: str | None = None  # the stored chat's id, once the app has created it
        self.sio = socketio.AsyncClient(reconnection=False)
        self.ready = asyncio.Event()
        self.idle = asyncio.Event()
        self.done = asyncio.Event()
        self.asked = False
        self.welcome = ""
        self.current: Exchange | None = None
        self.started = 0.0
        self.streams: dict[str, str] = {}
        self.sio.on("update_message", self._update)
        self.sio.on("new_message", self._update)
        self.sio.on("stream_token", self._token)
        self.sio.on("task_start", self._task_start)
        self.sio.on("task_end", self._task_end)

    async def _update(self, step: dict) -> None:
        self.thread_id = step.get("threadId") or self.thread_id
        output = str(step.get("output", ""))
        if "Ready to answer" in output:
            self.welcome = output
            self.ready.set()
        elif self.current is not None and step.get("type") == "assistant_message":
            self.current.text = output
            if step.get("name") == "Error" or "No answer came back" in output or "cut off" in output:
                self.current.error = output[:200]

    async def _token(self, data: dict) -> None:
        exchange = self.current
        if exchange is None:
            return
        text = self.streams.get(data["id"], "") + data.get("token", "")
        self.streams[data["id"]] = text
        if exchange.first_token_ms is None and len(text.removeprefix(LEAD)) > 0 and text != LEAD:
            exchange.first_token_ms = (time.perf_counter() - self.started) * 1000

    async def _task_start(self, _: dict) -> None:
        self.idle.clear()

    async def _task_end(self, _: dict) -> None:
        """The server has finished a task: the chat start, or the question just asked.

        Chainlit also ends "tasks" that are not the question (it sends one when a connection settles, and
        one before each prompt it asks the user), and such an event can arrive just after a question was
        sent; a question counts as answered only once its reply (or an error) has come. A question that
        never gets one runs into the caller's timeout, which is reported as the error.
        """
        self.idle.set()
        if self.asked and self.current is not None and (self.current.text or self.current.error):
            self.done.set()

    async def _log_in(self) -> None:
        """Where the app logs people in without a prompt (chat history on one machine), do as the browser does."""
        config = (await asyncio.to_thread(self.http.get, f"{self.url}/auth/config", timeout=30)).json()
        if config.get("requireLogin") and config.get("headerAuth"):
            reply = await asyncio.to_thread(self.http.post, f"{self.url}/auth/header", timeout=30)
            reply.raise_for_status()

    def cookie(self, name: str) -> str | None:
        return self.http.cookies.get(name)

    def _cookie_header(self) -> dict[str, str]:
        cookies = "; ".join(f"{cookie.name}={cookie.value}" for cookie in self.http.cookies)
        return {"Cookie": cookies} if cookies else {}

    async def connect(self, timeout: float = 300) -> None:
        auth = {"clientType": "webapp", "sessionId": self.session_id, "userEnv": "{}"}
        await self._log_in()
        await self.sio.connect(
            self.url, socketio_path="/ws/socket.io", auth=auth, headers=self._cookie_header(), transports=["websocket"]
        )
        await self.sio.emit("connection_successful")
        await asyncio.wait_for(self.ready.wait(), timeout)
        await asyncio.wait_for(self.idle.wait(), timeout)

    async def change_settings(self, values: dict[str, object]) -> None:
        """What the settings panel sends when the user confirms it; returns once the app has taken them."""
        await self.sio.call("chat_settings_change", values, timeout=30)

    async def upload(self, name: str, content: bytes, mime: str = "text/markdown") -> requests.Response:
        """Attach a file as the browser does: an HTTP upload to this session, which lives on one worker only."""
        return await asyncio.to_thread(
            self.http.post,
            f"{self.url}/project/file",
            params={"session_id": self.session_id},
            files={"file": (name, content, mime)},
            timeout=60,
        )

    async def ask(self, question: str, timeout: float = 600, files: list[str] | None = None) -> Exchange:
        """Send a question (with the ids of files uploaded before, if any) and wait for the whole answer."""
        self.current, self.streams = Exchange(), {}
        self.done.clear()
        self.asked = False
        message = {
            "id": str(uuid.uuid4()),
            "threadId": "",
            "name": "User",
            "type": "user_message",
            "output": question,
            "createdAt": datetime.now(UTC).isoformat(),
        }
        self.started = time.perf_counter()
        references = [{"id": file_id} for file_id in files or []]
        await self.sio.emit("client_message", {"message": message, "fileReferences": references})
        self.asked = True
        try:
            await asyncio.wait_for(self.done.wait(), timeout)
            self.current.total_ms = (time.perf_counter() - self.started) * 1000
        except TimeoutError:
            self.current.error = f"no answer within {timeout:.0f} s"
        return self.current

    async def close(self) -> None:
        await self.sio.disconnect()
        self.http.close()
