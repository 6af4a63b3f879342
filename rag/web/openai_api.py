"""The RAG as an OpenAI-compatible API under /v1, so any OpenAI client or Open WebUI can chat with the documents.

Every request takes the chat's own path (`Assistant.ask`): the same retrieval, routing policies,
privacy rules, masking and egress accounting. The answer carries its citations inline (a sources list
clients show as it is) and as structured data (`citations` and `rag`, which other clients ignore).
"""

from __future__ import annotations

import asyncio
import json
import logging
import re
import time
from collections.abc import AsyncIterator
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse, Response, StreamingResponse

from rag.answers.answer import Answer
from rag.chat.answer_view import answer_json, answer_notes
from rag.chat.pipeline import ChatOptions, Conversation, Exchange, Reply
from rag.chat.service import ChatService
from rag.llm.egress_audit import requested_by
from rag.privacy.answer_ledger import AnswerLedger, Given
from rag.web.api_access import ApiAccess, Denied
from rag.web.openai_schema import (
    ApiError,
    ApiRequest,
    chunk,
    completion,
    models_list,
    parse_request,
    usage,
)

log = logging.getLogger(__name__)
MAX_BODY_BYTES = 1_000_000
LONE_SURROGATE = re.compile(r"[\ud800-\udfff]")
Event = tuple[str, Any]  # ("text", str) | ("done", Exchange) | ("error", Exception)


def _error(error: ApiError) -> JSONResponse:
    headers = {"WWW-Authenticate": "Bearer"} if error.status == 401 else None
    return JSONResponse(error.body(), status_code=error.status, headers=headers)


async def _read_json(request: Request) -> object:
    """The body, refused past MAX_BODY_BYTES before it is all read (a client may send no length)."""
    declared = request.headers.get("content-length")
    if declared is not None and (not declared.isdigit() or int(declared) > MAX_BODY_BYTES):
        raise ApiError(413, f"request body larger than {MAX_BODY_BYTES} bytes")
    body = bytearray()
    async for part in request.stream():
        body += part
        if len(body) > MAX_BODY_BYTES:
            raise ApiError(413, f"request body larger than {MAX_BODY_BYTES} bytes")
    return _decoded(bytes(body))


def _decoded(body: bytes) -> object:
    """The JSON value, or a 400: Python's decoder raises more than JSONDecodeError on hostile input, and
    accepts lone surrogates that fail later, when the text is encoded for the model or the log."""
    try:
        value = json.loads(body)
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ApiError(400, f"the body is not valid JSON ({type(exc).__name__})") from exc
    except ValueError as exc:  # an integer past Python's limit on digits (4,300)
        raise ApiError(400, "the body is not valid JSON: a number has too many digits") from exc
    except RecursionError as exc:
        raise ApiError(400, "the body is not valid JSON: nested too deeply") from exc
    if _has_lone_surrogate(value):
        raise ApiError(400, "the body is not valid JSON: a string holds a lone surrogate (\\ud800-\\udfff)")
    return value


def _has_lone_surrogate(value: object) -> bool:
    """Whether any key or string holds half of a UTF-16 pair (walked with a stack, not recursion)."""
    pending: list[object] = [value]
    while pending:
        item = pending.pop()
        if isinstance(item, str):
            if LONE_SURROGATE.search(item):
                return True
        elif isinstance(item, dict):
            pending.extend(item.keys())
            pending.extend(item.values())
        elif isinstance(item, list):
            pending.extend(item)
    return False


def _final(exchange: Exchange) -> Answer | None:
    """The answer the client gets: the fallback's when the first backend failed, else the first."""
    good = [answer for answer in exchange.answers if answer.text]
    return good[-1] if good else (exchange.answers[-1] if exchange.answers else None)


def _failure(exchange: Exchange, answer: Answer | None) -> ApiError | None:
    """A 502 when no backend gave any text (not for a refusal or nothing found, which are answers)."""
    if answer is None or answer.text or answer.error is None:
        return None
    message = f"{answer.error.backend_label}: {answer.error.what}"
    return ApiError(502, message + (f" {exchange.note_text}" if exchange.note else ""), "api_error", "backend_failed")


def api_client(access: ApiAccess, request: Request) -> str:
    """The client a request's bearer key names, or the 401 every route of the API answers without one."""
    try:
        return access.client(request.headers.get("authorization"))
    except Denied as exc:
        raise ApiError(401, str(exc), "authentication_error", "invalid_api_key") from exc


class RagApi:
    """`/v1/models` and `/v1/chat/completions` over the app's ChatService."""

    def __init__(self, service: ChatService, access: ApiAccess, ledger: AnswerLedger | None = None) -> None:
        self.service = service
        self.access = access
        self.ledger = ledger or AnswerLedger()

    def router(self) -> APIRouter:
        router = APIRouter(prefix="/v1")
        router.add_api_route("/models", self.models, methods=["GET"])
        router.add_api_route("/chat/completions", self.chat_completions, methods=["POST"])
        return router

    def _client(self, request: Request) -> str:
        return api_client(self.access, request)

    async def models(self, request: Request) -> Response:
        try:
            self._client(request)
        except ApiError as error:
            return _error(error)
        return JSONResponse(models_list(self.service.backends.cloud.available, int(time.time())))

    async def chat_completions(self, request: Request) -> Response:
        try:
            client = self._client(request)
            body = await _read_json(request)
            parsed = parse_request(body, self.ledger, self.service.backends.cloud.available)
        except ApiError as error:
            return _error(error)
        log.info("API request from %s: %s", client, parsed.model)  # never the question: it may be private
        with requested_by(f"api:{client}", client):  # the egress audit names the API client
            return await self._answer(parsed)

    async def _answer(self, parsed: ApiRequest) -> Response:
        if parsed.stream:
            return await self._streamed(parsed)
        exchange = await self._ask(parsed, None)
        answer = _final(exchange)
        failure = _failure(exchange, answer)
        if failure is not None:
            return _error(failure)
        content = self._content(answer, exchange)
        extra = self._extra(answer, exchange)
        return JSONResponse(completion(parsed, content, {**extra, "usage": usage(answer)}))

    async def _ask(self, parsed: ApiRequest, events: asyncio.Queue[Event] | None) -> Exchange:
        settings = self.service.settings
        options = ChatOptions.from_values(parsed.values, settings.retrieval, settings.request_timeout)

        async def deliver(reply: Reply) -> None:
            if events is None:
                await reply.collect()
            else:
                await _stream_reply(reply, events)

        exchange = await self.service.assistant.ask(
            parsed.question,
            Conversation(turns=list(parsed.history)),
            options,
            parsed.policy,
            lambda key: self.service.backend(key, None),
            deliver=deliver,
        )
        answer = _final(exchange)
        for given in exchange.answers:
            log.info("API answer by %s: %s", given.backend.label, given.egress.summary() if given.egress else "local")
        if answer is not None:
            self.ledger.remember(self._content(answer, exchange), Given(answer.text, answer.local_only))
        return exchange

    @staticmethod
    def _tail(answer: Answer | None, exchange: Exchange) -> str:
        """What follows the answer's text: the same notes the chat shows, in English, and the exchange's note."""
        if answer is None:
            return ""
        note = f"\n\n_{exchange.note_text}_" if exchange.note and answer.text else ""
        return answer_notes(answer, {}, "en") + note

    def _content(self, answer: Answer | None, exchange: Exchange) -> str:
        if answer is None:
            return exchange.note_text  # nothing relevant found: the sentence that says so
        return answer.text + self._tail(answer, exchange)

    @staticmethod
    def _extra(answer: Answer | None, exchange: Exchange) -> dict[str, Any]:
        if answer is None:
            return {"citations": [], "rag": {"note": exchange.note_text, "egress": "nothing left this machine"}}
        view = answer_json(answer)
        return {"citations": view["sources"], "rag": {**view, "note": exchange.note_text}}

    async def _streamed(self, parsed: ApiRequest) -> Response:
        """Server-sent events; a failure before any text is still a plain HTTP error, as clients expect."""
        events: asyncio.Queue[Event] = asyncio.Queue()
        task = asyncio.create_task(self._run(parsed, events))
        first = await events.get()
        if first[0] == "error":
            log.error("API answer failed: %s", type(first[1]).__name__)
            return _error(ApiError(500, "the answer failed", "api_error"))
        if first[0] == "done":
            failure = _failure(first[1], _final(first[1]))
            if failure is not None:
                return _error(failure)
        return StreamingResponse(
            self._sse(parsed, first, events, task),
            media_type="text/event-stream",
            headers={"Cache-Control": "no-store", "X-Accel-Buffering": "no"},
        )

    async def _run(self, parsed: ApiRequest, events: asyncio.Queue[Event]) -> None:
        try:
            await events.put(("done", await self._ask(parsed, events)))
        except Exception as exc:  # surfaced by the response, which is what a client sees
            await events.put(("error", exc))

    async def _sse(
        self, parsed: ApiRequest, first: Event, events: asyncio.Queue[Event], task: asyncio.Task[None]
    ) -> AsyncIterator[str]:
        try:
            yield _sse(chunk(parsed, {"role": "assistant", "content": ""}))
            event = first
            while event[0] == "text":
                yield _sse(chunk(parsed, {"content": event[1]}))
                event = await events.get()
            if event[0] == "error":
                log.error("API stream failed: %s", type(event[1]).__name__)
                yield _sse(ApiError(500, "the answer failed", "api_error").body())
                return
            exchange: Exchange = event[1]
            answer = _final(exchange)
            # nothing streamed (a refusal, nothing found): the whole content comes now
            rest = self._tail(answer, exchange) if first[0] == "text" else self._content(answer, exchange)
            yield _sse(chunk(parsed, {"content": rest}, "stop", **self._extra(answer, exchange)))
            if parsed.include_usage:
                yield _sse({**chunk(parsed, {}), "choices": [], "usage": usage(answer)})
            yield "data: [DONE]\n\n"
        finally:
            task.cancel()  # the client went away: stop generating for nobody


def _sse(data: dict[str, Any]) -> str:
    return f"data: {json.dumps(data, ensure_ascii=False)}\n\n"


async def _stream_reply(reply: Reply, events: asyncio.Queue[Event]) -> None:
    """Forward one backend's text as it streams (already as the reader sees it)."""
    async for piece in reply:
        await events.put(("text", piece))
