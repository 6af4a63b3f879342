"""Streaming an answer from any backend, turning every failure into a message a user can act on."""

from __future__ import annotations

import asyncio
import re
import time
import weakref
from collections.abc import AsyncIterator
from dataclasses import dataclass, field

import httpx
import openai
from openai import AsyncOpenAI

from rag.i18n import Text
from rag.llm.backends import Backend
from rag.llm.requests import Prompt
from rag.llm.sampling import MAX_TOKENS, TEMPERATURE, TOP_P

_SECRET_LIKE = re.compile(r"(sk-[A-Za-z0-9_\-*]{4,}|Bearer\s+\S+)")


@dataclass
class GenerationParams:
    """Per-chat sampling settings; the local extras go through `extra_body` where accepted."""

    temperature: float = TEMPERATURE.default
    top_p: float = TOP_P.default
    max_tokens: int = int(MAX_TOKENS.default)
    sampler_top_k: int | None = None  # the sampler's top-k (not the number of passages)
    repeat_penalty: float | None = None
    timeout: float = 120.0
    first_token_budget: float | None = None  # seconds; past it the attempt fails (a routing policy may fall back)
    retries: int = 2  # on 429 and 5xx before the first token, with backoff (Retry-After respected)


class BackendError(Exception):
    """A failure described for the user: which backend, what happened, what to do (in the reader's language)."""

    def __init__(self, backend: Backend, what: Text, todo: Text) -> None:
        self.backend_label = backend.describe()
        self.what = what
        self.todo = todo
        super().__init__(f"{self.backend_label}: {what}. {todo}")


@dataclass
class StreamOutcome:
    """What came back, complete or not, with the timings needed for metrics."""

    text: str = ""
    error: BackendError | None = None
    cut: bool = False
    started: float = field(default_factory=time.perf_counter)
    first_token_at: float | None = None
    finished_at: float | None = None
    usage: tuple[int, int] | None = None  # (prompt, completion) tokens, when the server reports them
    retries: int = 0
    audit_records: list[str] = field(default_factory=list)  # egress audit ids of the requests that left


def scrub(message: str, backend: Backend) -> str:
    """Remove the API key, and anything that looks like one, from a server's error text."""
    if backend.api_key and len(backend.api_key) > 3:
        message = message.replace(backend.api_key, "***")
    return _SECRET_LIKE.sub("***", message)


def describe_error(exc: BaseException, backend: Backend, params: GenerationParams, mid_stream: bool) -> BackendError:
    """Map an SDK or transport error to a BackendError; never echoes a secret."""

    def error(what: str, todo: str, **values: object) -> BackendError:
        return BackendError(backend, Text.of(f"error.{what}", **values), Text.of(f"error.todo.{todo}"))

    budget = params.first_token_budget
    if isinstance(exc, TimeoutError) and budget is not None and not mid_stream:
        return error("no_first_token", "raise_budget", seconds=budget)
    if isinstance(exc, openai.APITimeoutError | asyncio.TimeoutError | httpx.TimeoutException):
        return error("stalled" if mid_stream else "no_answer_within", "timeout", seconds=params.timeout)
    if mid_stream or not isinstance(exc, openai.APIError):
        detail = scrub(str(exc), backend)[:200] or type(exc).__name__
        return error("broke_off", "partial_kept", detail=detail)
    if isinstance(exc, openai.APIConnectionError):
        return error("unreachable", "check_server", url=backend.base_url)
    if isinstance(exc, openai.AuthenticationError | openai.PermissionDeniedError):
        return error("key_rejected", "check_key")
    if isinstance(exc, openai.NotFoundError):
        return error("unknown_model", "choose_model", model=backend.model)
    if isinstance(exc, openai.RateLimitError):
        return error("rate_limited", "wait")
    status = getattr(exc, "status_code", "?")
    detail = scrub(str(getattr(exc, "message", "")), backend)[:200]
    return error("server_failed", "switch_backend", status=status, detail=detail)


_clients: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, dict[tuple[str, str], AsyncOpenAI]] = (
    weakref.WeakKeyDictionary()
)


def client_for(backend: Backend) -> AsyncOpenAI:
    """One client per backend and event loop: making one costs ~30 ms (TLS setup), more than retrieval."""
    per_loop = _clients.setdefault(asyncio.get_running_loop(), {})
    key = (backend.base_url, backend.api_key)
    if key not in per_loop:
        per_loop[key] = AsyncOpenAI(base_url=backend.base_url, api_key=backend.api_key, max_retries=0)
    return per_loop[key]


def request_arguments(backend: Backend, prompt: Prompt, params: GenerationParams) -> dict[str, object]:
    arguments: dict[str, object] = {
        "model": backend.model,
        "stream": True,
        "max_tokens": params.max_tokens,
        "temperature": params.temperature,
        "top_p": params.top_p,
        "stream_options": {"include_usage": True},
        "timeout": params.timeout,
    }
    extras = {"top_k": params.sampler_top_k, "repeat_penalty": params.repeat_penalty}
    extras = {k: v for k, v in extras.items() if v is not None}
    if extras and backend.accepts_sampler_extras:
        arguments["extra_body"] = extras
    if prompt.style == "completion":
        arguments.update(prompt=prompt.text, stop=prompt.stop)
    else:
        arguments["messages"] = prompt.messages
    return arguments


def _record_usage(chunk: object, outcome: StreamOutcome) -> None:
    usage = getattr(chunk, "usage", None)
    if usage is not None and getattr(usage, "completion_tokens", None) is not None:
        outcome.usage = (int(usage.prompt_tokens or 0), int(usage.completion_tokens))


async def _chunks(
    client: AsyncOpenAI, backend: Backend, prompt: Prompt, params: GenerationParams, outcome: StreamOutcome
) -> AsyncIterator[str]:
    arguments = request_arguments(backend, prompt, params)
    if prompt.style == "completion":
        stream = await client.completions.create(**arguments)  # type: ignore[call-overload]
        async for chunk in stream:
            _record_usage(chunk, outcome)
            if chunk.choices and chunk.choices[0].text:
                yield chunk.choices[0].text
    else:
        stream = await client.chat.completions.create(**arguments)  # type: ignore[call-overload]
        async for chunk in stream:
            _record_usage(chunk, outcome)
            if chunk.choices and chunk.choices[0].delta and chunk.choices[0].delta.content:
                yield chunk.choices[0].delta.content


def retry_delay(exc: BaseException, attempt: int) -> float | None:
    """Seconds to wait before retrying, or None when the error is not worth retrying."""
    status = getattr(exc, "status_code", None)
    if not isinstance(exc, openai.APIStatusError) or not (status == 429 or (status or 0) >= 500):
        return None
    header = exc.response.headers.get("retry-after") if exc.response is not None else None
    try:
        return min(float(header), MAX_RETRY_WAIT) if header else min(0.5 * 2**attempt, MAX_RETRY_WAIT)
    except ValueError:
        return min(0.5 * 2**attempt, MAX_RETRY_WAIT)


MAX_RETRY_WAIT = 10.0


def sent_payload(backend: Backend, prompt: Prompt, params: GenerationParams) -> dict[str, object]:
    """The JSON body the SDK sends for this request (its `extra_body` merged in, the client-side timeout out)."""
    arguments = request_arguments(backend, prompt, params)
    extras = arguments.pop("extra_body", None)
    arguments.pop("timeout", None)
    return {**arguments, **(extras if isinstance(extras, dict) else {})}


def _audited(backend: Backend, prompt: Prompt, params: GenerationParams) -> str | None:
    """Write the request to the egress audit before it is sent, when it leaves the machine."""
    if backend.audit is None or not backend.leaves_machine:
        return None
    endpoint = "/completions" if prompt.style == "completion" else "/chat/completions"
    payload = sent_payload(backend, prompt, params)
    return backend.audit.request(backend.label, backend.model, backend.base_url + endpoint, payload)


def _audit_outcome(backend: Backend, record: str | None, outcome: StreamOutcome, exc: BaseException | None) -> None:
    if backend.audit is None or record is None:
        return
    if exc is None:
        backend.audit.outcome(record, 200, outcome.usage)
    elif isinstance(exc, GeneratorExit | asyncio.CancelledError):
        backend.audit.outcome(record, "cancelled", outcome.usage)
    else:
        status = getattr(exc, "status_code", None) or "failed"
        backend.audit.outcome(record, status, outcome.usage, scrub(str(exc), backend)[:200] or type(exc).__name__)


async def _attempt(
    client: AsyncOpenAI, backend: Backend, prompt: Prompt, params: GenerationParams, outcome: StreamOutcome
) -> AsyncIterator[str]:
    """One request; the first-token budget only covers the wait for the first token."""
    record = await asyncio.to_thread(_audited, backend, prompt, params)  # may prune the log: off the loop
    if record is not None:
        outcome.audit_records.append(record)
    try:
        async with asyncio.timeout(params.first_token_budget) as deadline:
            async for piece in _chunks(client, backend, prompt, params, outcome):
                if outcome.first_token_at is None:
                    outcome.first_token_at = time.perf_counter()
                    deadline.reschedule(None)
                outcome.text += piece
                yield piece
    except BaseException as exc:
        _audit_outcome(backend, record, outcome, exc)
        raise
    _audit_outcome(backend, record, outcome, None)


async def stream_answer(
    backend: Backend, prompt: Prompt, params: GenerationParams, outcome: StreamOutcome
) -> AsyncIterator[str]:
    """Yield answer text as it arrives; on failure, fill `outcome.error` (and `cut` if text had come) and stop.

    Rate limits and server errors that come before any text are retried with backoff.
    """
    if not backend.available:
        what = Text.of("error.not_available", reason=backend.reason or "")
        outcome.error = BackendError(backend, what, Text.of("error.todo.other_backend"))
        return
    client = client_for(backend)
    try:
        if backend.prepare is not None:
            await asyncio.to_thread(backend.prepare, backend)
        for attempt in range(params.retries + 1):
            try:
                async for piece in _attempt(client, backend, prompt, params, outcome):
                    yield piece
                break
            except openai.APIStatusError as exc:
                delay = retry_delay(exc, attempt)
                if outcome.first_token_at is not None or delay is None or attempt == params.retries:
                    raise
                outcome.retries += 1
                await asyncio.sleep(delay)
    except Exception as exc:
        outcome.cut = outcome.first_token_at is not None
        outcome.error = describe_error(exc, backend, params, outcome.cut)
    finally:
        outcome.finished_at = time.perf_counter()
