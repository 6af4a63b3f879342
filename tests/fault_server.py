"""An OpenAI-compatible server that fails on purpose, for the failures a real server will not produce on demand.

The first path segment picks the behaviour: http://127.0.0.1:PORT/<mode>/v1 ...
  ok     a short, well-formed stream (with usage at the end when asked for, as OpenAI sends it)          429 / 500 / 401 / 404   that status with an error body
  cut    a few tokens, then the connection drops without finishing the stream
  flaky  503 with Retry-After: 1 the first `flaky_failures` times, then a normal stream
  hang   never answers (until the client gives up)
Without a mode (http://127.0.0.1:PORT/v1) it answers like Foundry Local: its model ids, and
/models/load/ID (0.10+) or /openai/load/ID (0.x). Every request is recorded.
"""

from __future__ import annotations

import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

LEAKED_KEY = "sk-test-THIS-KEY-MUST-NEVER-BE-SHOWN-1234"
FOUNDRY_MODELS = [
    "Phi-4-mini-instruct-generic-gpu:5",
    "Phi-4-mini-instruct-generic-cpu:5",
    "qwen2.5-0.5b-instruct-generic-cpu:4",
]


def _sse(payloads: list[dict]) -> bytes:
    return b"".join(b"data: " + json.dumps(p).encode() + b"\n\n" for p in payloads)


def _piece(chat: bool, text: str, finish: str | None = None) -> dict:
    if chat:
        return {"id": "x", "object": "chat.completion.chunk", "created": 0, "model": "m",
                "choices": [{"index": 0, "delta": {"content": text}, "finish_reason": finish}]}  # fmt: skip
    return {"id": "x", "object": "text_completion", "created": 0, "model": "m",
            "choices": [{"index": 0, "text": text, "finish_reason": finish}]}  # fmt: skip


class _Server(ThreadingHTTPServer):
    """A thread per request, and room for many connections at once (a load benchmark opens 50)."""

    daemon_threads = True
    request_queue_size = 128


class FaultServer:
    def __init__(self, answer: str = "The answer is in [1].", load_api: str = "new") -> None:
        self.requests: list[str] = []
        self.bodies: list[str] = []  # raw JSON of every POST: what left the machine
        self.flaky_failures = 2  # mode "flaky": this many 503s (Retry-After: 1) before it answers
        self.answer = answer
        self.load_api = load_api
        self.forced_mode: str | None = None  # when set, every request behaves as this mode, whatever its URL
        server = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args: object) -> None:
                pass

            def _json(self, status: int, body: dict | list, headers: dict[str, str] | None = None) -> None:
                data = json.dumps(body).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                for key, value in (headers or {}).items():
                    self.send_header(key, value)
                self.end_headers()
                self.wfile.write(data)

            def do_GET(self) -> None:
                server.requests.append("GET " + self.path)
                if self.path.endswith("/models"):
                    ids = FOUNDRY_MODELS if self.path.startswith("/v1/") else ["fault-model"]
                    self._json(200, {"object": "list", "data": [{"id": i, "object": "model"} for i in ids]})
                elif ("/models/load/" in self.path and server.load_api == "new") or (
                    "/openai/load/" in self.path and server.load_api == "old"
                ):
                    self._json(200, {"loaded": True})
                else:
                    self._json(404, {"error": {"message": "not found"}})

            def do_POST(self) -> None:
                server.requests.append("POST " + self.path)
                length = int(self.headers.get("Content-Length", 0))
                raw = self.rfile.read(length) or b"{}"
                server.bodies.append(raw.decode("utf-8"))
                request = json.loads(raw)
                mode = server.forced_mode or self.path.strip("/").split("/")[0]
                chat = self.path.endswith("/chat/completions")
                if mode == "flaky" and server.flaky_failures > 0:
                    server.flaky_failures -= 1
                    self._json(503, {"error": {"message": "overloaded, retry"}}, {"Retry-After": "1"})
                elif mode in ("429", "500", "404"):
                    headers = {"Retry-After": "1"} if mode == "429" else {}
                    self._json(int(mode), {"error": {"message": f"simulated {mode}", "type": "server_error"}}, headers)
                elif mode == "401":
                    message = f"Incorrect API key provided: {LEAKED_KEY}. Authorization: Bearer {LEAKED_KEY}"
                    self._json(
                        401, {"error": {"message": message, "type": "invalid_request_error", "code": "invalid_api_key"}}
                    )
                elif mode == "hang":
                    time.sleep(30)
                else:
                    self._stream(chat, request, cut=mode == "cut")

            def _stream(self, chat: bool, request: dict, cut: bool) -> None:
                self.send_response(200)
                self.send_header("Content-Type", "text/event-stream")
                self.send_header("Transfer-Encoding", "chunked")
                self.end_headers()
                words = server.answer.split(" ")
                pieces = [_piece(chat, (" " if i else "") + w) for i, w in enumerate(words)]
                if cut:
                    pieces = pieces[:3]
                for piece in pieces:
                    data = _sse([piece])
                    self.wfile.write(f"{len(data):x}\r\n".encode() + data + b"\r\n")
                    self.wfile.flush()
                    time.sleep(0.02)
                if cut:
                    self.wfile.write(b'40\r\ndata: {"partial')  # a chunk that never completes
                    self.wfile.flush()
                    self.close_connection = True
                    self.connection.shutdown(2)
                    return
                final = [_piece(chat, "", "stop")]
                if (request.get("stream_options") or {}).get("include_usage"):
                    usage = {"prompt_tokens": 11, "completion_tokens": len(words), "total_tokens": 11 + len(words)}
                    final.append(
                        {
                            "id": "x",
                            "object": "chat.completion.chunk",
                            "created": 0,
                            "model": "m",
                            "choices": [],
                            "usage": usage,
                        }
                    )
                data = _sse(final) + b"data: [DONE]\n\n"
                self.wfile.write(f"{len(data):x}\r\n".encode() + data + b"\r\n0\r\n\r\n")

        self.httpd = _Server(("127.0.0.1", 0), Handler)
        self.port = self.httpd.server_address[1]
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)

    def url(self, mode: str) -> str:
        return f"http://127.0.0.1:{self.port}/{mode}/v1"

    def __enter__(self) -> FaultServer:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()
