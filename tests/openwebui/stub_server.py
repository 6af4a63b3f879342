"""A scripted stand-in for the app's `/v1` API: the same model ids, a bearer key, a streamed answer with a citation.

It checks what a client sends (the key, the model, the question) and records every request, so a test
can prove what Open WebUI asked for; the answer names the model it was asked for, so the page shows it.
"""

from __future__ import annotations

import json
import threading
import time
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

MODELS = ["rag-local", "rag-cloud", "rag-local-first", "rag-cloud-first"]


@dataclass(frozen=True)
class Recorded:
    method: str
    path: str
    authorization: str
    body: dict[str, Any]


def answer_for(model: str) -> str:
    return f"Answered by {model}: the greenhouse plants are watered at 6:30 every morning [1]."


class StubServer:
    """`with StubServer(key) as server:` serves http://127.0.0.1:PORT/v1 until the block ends."""

    def __init__(self, key: str) -> None:
        self.key = key
        self.requests: list[Recorded] = []
        self.hold_after_words: int | None = None  # when set, a stream stops there until `release` is set
        self.release = threading.Event()
        server = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args: object) -> None:
                pass

            def _send(self, status: int, body: bytes, content_type: str = "application/json") -> None:
                self.send_response(status)
                self.send_header("Content-Type", content_type)
                self.send_header("Content-Length", str(len(body)))
                if status == 401:
                    self.send_header("WWW-Authenticate", "Bearer")
                self.end_headers()
                self.wfile.write(body)

            def _authorised(self, body: dict[str, Any]) -> bool:
                authorization = self.headers.get("Authorization", "")
                server.requests.append(Recorded(self.command, self.path, authorization, body))
                if authorization == f"Bearer {server.key}":
                    return True
                error = {"message": "a valid key is needed", "type": "authentication_error", "code": "invalid_api_key"}
                self._send(401, json.dumps({"error": error}).encode())
                return False

            def do_GET(self) -> None:
                if not self._authorised({}):
                    return
                if self.path.rstrip("/") == "/v1/models":
                    data = [{"id": m, "object": "model", "created": 0, "owned_by": "rag"} for m in MODELS]
                    self._send(200, json.dumps({"object": "list", "data": data}).encode())
                else:
                    self._send(404, b'{"error": {"message": "not found"}}')

            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length", 0))
                body = json.loads(self.rfile.read(length) or b"{}")
                if not self._authorised(body):
                    return
                if self.path.rstrip("/") != "/v1/chat/completions":
                    self._send(404, b'{"error": {"message": "not found"}}')
                elif body.get("model") not in MODELS:
                    self._send(404, json.dumps({"error": {"message": f"no model {body.get('model')!r}"}}).encode())
                elif body.get("stream"):
                    self._stream(str(body["model"]))
                else:
                    message = {"role": "assistant", "content": answer_for(str(body["model"]))}
                    choice = {"index": 0, "message": message, "finish_reason": "stop"}
                    self._send(200, json.dumps(_completion(str(body["model"]), [choice])).encode())

            def _stream(self, model: str) -> None:
                self.send_response(200)
                self.send_header("Content-Type", "text/event-stream")
                self.send_header("Cache-Control", "no-cache")
                self.send_header("Connection", "close")
                self.end_headers()
                words = answer_for(model).split(" ")
                for i, word in enumerate(words):
                    if i == server.hold_after_words:
                        server.release.wait(timeout=300)
                    delta = {"role": "assistant", "content": word} if i == 0 else {"content": " " + word}
                    self._event(_chunk(model, delta, None))
                    time.sleep(0.05)
                # Like the app's last chunk: the finish, with the structured citations as an extra field.
                final = _chunk(model, {}, "stop")
                final["citations"] = [{"number": 1, "file": "greenhouse-faq.html", "cited": True}]
                self._event(final)
                self.wfile.write(b"data: [DONE]\n\n")
                self.wfile.flush()
                self.close_connection = True

            def _event(self, payload: dict[str, Any]) -> None:
                self.wfile.write(b"data: " + json.dumps(payload).encode() + b"\n\n")
                self.wfile.flush()

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.httpd.daemon_threads = True
        self.port = self.httpd.server_address[1]
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}/v1"

    def completions(self) -> list[Recorded]:
        return [r for r in self.requests if r.method == "POST" and r.path.rstrip("/") == "/v1/chat/completions"]

    def __enter__(self) -> StubServer:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


def _chunk(model: str, delta: dict[str, Any], finish: str | None) -> dict[str, Any]:
    choice = {"index": 0, "delta": delta, "finish_reason": finish}
    return {"id": "chatcmpl-stub", "object": "chat.completion.chunk", "created": 0, "model": model, "choices": [choice]}


def _completion(model: str, choices: list[dict[str, Any]]) -> dict[str, Any]:
    return {"id": "chatcmpl-stub", "object": "chat.completion", "created": 0, "model": model, "choices": choices}
