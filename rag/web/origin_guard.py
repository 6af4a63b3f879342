"""Only the app's own pages may talk to it: other web pages open in the same browser are refused.

A browser lets any page it shows open a WebSocket to 127.0.0.1 or send it requests, and WebSockets
are outside CORS: without a check on the server, a page from any site could connect to the app's
socket, ask questions and read the passages (local-only ones included). So every HTTP request and
WebSocket handshake is checked before Chainlit sees it:

- `Origin`, when the browser sends one, must be the app's own origin (the address the request was
  made to) or one listed in ALLOWED_ORIGINS (for a reverse proxy on another name);
- without `Origin`, a browser's `Sec-Fetch-Site` must not say the request came from another page
  (cross-site or same-site); top-level navigations are allowed, since they only open the app;
- on an app that listens on loopback only, the `Host` must be a loopback name (or an allowed
  origin's host), which defeats DNS rebinding (a hostile name that resolves to 127.0.0.1).

Clients that are not browsers (curl, the OpenAI SDK, the socket benchmark) send no `Origin` and no
`Sec-Fetch-*` headers and are let through: they are programs the user runs, not pages.

Every HTTP response also gets a Content-Security-Policy that keeps the page from fetching anything
outside the app (so an image in a document or an answer cannot track readers or carry passages out
in its URL), cannot be framed, and does not sniff content types.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Iterable, MutableMapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from rag.web.auth import is_loopback

log = logging.getLogger(__name__)

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]

CONTENT_SECURITY_POLICY = "; ".join(
    (
        "default-src 'self'",
        "script-src 'self' 'unsafe-inline'",  # Chainlit's page sets its config in an inline script
        "style-src 'self' 'unsafe-inline'",
        "img-src 'self' data: blob:",
        "font-src 'self' data:",
        "connect-src 'self'",
        "media-src 'self' data: blob:",
        "frame-src 'self' blob:",
        "worker-src 'self' blob:",
        "object-src 'none'",
        "base-uri 'self'",
        "form-action 'self'",
        "frame-ancestors 'none'",
    )
)
SECURITY_HEADERS = (
    (b"content-security-policy", CONTENT_SECURITY_POLICY.encode()),
    (b"x-frame-options", b"DENY"),
    (b"x-content-type-options", b"nosniff"),
    (b"referrer-policy", b"no-referrer"),
)
_DEFAULT_PORTS = {"http": 80, "https": 443, "ws": 80, "wss": 443}


def _netloc(scheme: str, host: str) -> str:
    """`host[:port]` in lower case, with the scheme's default port left out, so equal places compare equal."""
    parts = urlsplit(f"{scheme}://{host}")
    try:
        port = parts.port
    except ValueError:
        return host.lower()
    name = (parts.hostname or "").lower()
    name = f"[{name}]" if ":" in name else name
    return name if port in (None, _DEFAULT_PORTS.get(scheme)) else f"{name}:{port}"


def _hostname(host: str) -> str:
    return (urlsplit(f"http://{host}").hostname or "").lower()


@dataclass(frozen=True)
class OriginPolicy:
    """Which pages may use the app: its own origin, and the extra origins a deployment lists."""

    loopback_only: bool
    allowed_origins: frozenset[str] = frozenset()

    @classmethod
    def for_app(cls, listen_host: str, allowed: Iterable[str]) -> OriginPolicy:
        origins = frozenset(o.strip().rstrip("/").lower() for o in allowed if o.strip())
        return cls(is_loopback(listen_host), origins)

    def _origin_allowed(self, origin: str, host: str) -> bool:
        parts = urlsplit(origin)
        if parts.scheme not in ("http", "https") or not parts.netloc:
            return False  # "null" (sandboxed frames, file:// pages) and anything odd
        own = _netloc(parts.scheme, parts.netloc)
        listed = {_netloc(urlsplit(o).scheme, urlsplit(o).netloc) for o in self.allowed_origins}
        return own == _netloc(parts.scheme, host) or own in listed

    def _host_allowed(self, host: str) -> bool:
        if not self.loopback_only:
            return True
        name = _hostname(host)
        return not name or is_loopback(name) or name in {_hostname(urlsplit(o).netloc) for o in self.allowed_origins}

    def refusal(self, headers: dict[str, str]) -> str | None:
        """Why a request must be refused, or None when it comes from the app's own page or a program."""
        host = headers.get("host", "")
        if not self._host_allowed(host):
            return f"host {host!r} is not this app's address"
        origin = headers.get("origin")
        if origin is not None:
            return None if self._origin_allowed(origin, host) else f"request from another origin ({origin})"
        site = headers.get("sec-fetch-site", "none")
        if site in ("cross-site", "same-site") and headers.get("sec-fetch-mode") != "navigate":
            return f"request from another site ({site})"
        return None


def _headers(scope: Scope) -> dict[str, str]:
    return {name.decode("latin-1").lower(): value.decode("latin-1") for name, value in scope.get("headers", [])}


class OriginGuard:
    """ASGI middleware around the whole app (HTTP routes and the Socket.IO endpoint alike)."""

    def __init__(self, app: ASGIApp, policy: OriginPolicy) -> None:
        self.app = app
        self.policy = policy

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] not in ("http", "websocket"):
            await self.app(scope, receive, send)
            return
        reason = self.policy.refusal(_headers(scope))
        if reason is not None:
            log.warning("refused %s %s: %s", scope["type"], scope.get("path", ""), reason)
            await (_refuse_socket(send) if scope["type"] == "websocket" else _refuse_http(send))
            return
        if scope["type"] == "websocket":
            await self.app(scope, receive, send)
            return

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                present = {name.lower() for name, _ in message.get("headers", [])}
                extra = [(name, value) for name, value in SECURITY_HEADERS if name not in present]
                message["headers"] = [*message.get("headers", []), *extra]
            await send(message)

        await self.app(scope, receive, send_with_headers)


async def _refuse_http(send: Send) -> None:
    body = b"Forbidden: this app only answers its own pages.\n"
    headers = [(b"content-type", b"text/plain; charset=utf-8"), (b"content-length", str(len(body)).encode())]
    await send({"type": "http.response.start", "status": 403, "headers": [*headers, *SECURITY_HEADERS]})
    await send({"type": "http.response.body", "body": body})


async def _refuse_socket(send: Send) -> None:
    """Closing before accepting makes the server answer the handshake with 403."""
    await send({"type": "websocket.close", "code": 1008})
