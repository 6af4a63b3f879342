"""The OpenAI chat-completions wire format of the RAG API: requests read and checked, answers written.

Requests come from any client, so every field is checked and bounded here; the sampling numbers go
through the same table as the chat's settings panel (`ChatOptions.from_values`).
"""

from __future__ import annotations

import time
import uuid
from dataclasses import dataclass, field
from typing import Any

from rag.answers.answer import Answer
from rag.chat.options import SYSTEM_PROMPT_MAX_CHARS
from rag.chat.routing import POLICIES, Policy
from rag.llm.requests import Turn
from rag.privacy.answer_ledger import AnswerLedger

MODELS = {
    "rag-local": "local",
    "rag-cloud": "cloud",
    "rag-local-first": "local-first",
    "rag-cloud-first": "cloud-first",
}
"""Model name -> routing policy. "Both side by side" has no place in a one-answer protocol."""
CLOUD_MODELS = {"rag-cloud", "rag-local-first", "rag-cloud-first"}
MAX_MESSAGES = 200
MAX_MESSAGE_CHARS = 32_000
MAX_QUESTION_CHARS = 8_000


class ApiError(Exception):
    """An OpenAI-style error: HTTP status, message, and the error type clients switch on."""

    def __init__(self, status: int, message: str, kind: str = "invalid_request_error", code: str | None = None):
        super().__init__(message)
        self.status, self.message, self.kind, self.code = status, message, kind, code

    def body(self) -> dict[str, Any]:
        return {"error": {"message": self.message, "type": self.kind, "param": None, "code": self.code}}


@dataclass
class ApiRequest:
    model: str
    policy: Policy
    question: str
    history: list[Turn]
    values: dict[str, object]  # the chat-settings form of the request's options
    stream: bool = False
    include_usage: bool = False
    id: str = field(default_factory=lambda: f"chatcmpl-{uuid.uuid4().hex}")
    created: int = field(default_factory=lambda: int(time.time()))


def _text(content: object, what: str) -> str:
    """A message's text: a string, or the text parts of a list of parts (images and audio are not read)."""
    if content is None:
        return ""
    if isinstance(content, str):
        text = content
    elif isinstance(content, list):
        parts = [p.get("text") for p in content if isinstance(p, dict) and p.get("type") == "text"]
        text = "\n".join(p for p in parts if isinstance(p, str))
    else:
        raise ApiError(400, f"{what}: content must be a string or a list of parts")
    if len(text) > MAX_MESSAGE_CHARS:
        raise ApiError(400, f"{what} is longer than {MAX_MESSAGE_CHARS} characters")
    return text


def _conversation(messages: list[Any], ledger: AnswerLedger) -> tuple[str, list[Turn], str]:
    """The question (the last user message), the earlier turns and the client's system prompt."""
    system, turns, pending = [], [], []
    for number, message in enumerate(messages, start=1):
        if not isinstance(message, dict):
            raise ApiError(400, f"messages[{number - 1}] must be an object")
        role, text = message.get("role"), _text(message.get("content"), f"messages[{number - 1}]")
        if role in ("system", "developer"):
            system.append(text)
        elif role == "user":
            pending.append(text)
        elif role == "assistant":
            given = ledger.as_turn_answer(text)
            turns.append(Turn("\n".join(pending), given.answer, given.local_only))
            pending = []
        elif role not in ("tool", "function"):
            raise ApiError(400, f"messages[{number - 1}]: unknown role {str(role)[:20]!r}")
    question = "\n".join(pending).strip()
    if not question:
        raise ApiError(400, "the last message must be a user message with text")
    if len(question) > MAX_QUESTION_CHARS:
        raise ApiError(400, f"the question is longer than {MAX_QUESTION_CHARS} characters")
    return question, turns, "\n\n".join(s for s in system if s.strip())[:SYSTEM_PROMPT_MAX_CHARS]


def _object(value: object) -> dict[str, object]:
    return value if isinstance(value, dict) else {}


def parse_request(body: object, ledger: AnswerLedger, cloud_available: bool) -> ApiRequest:
    """A checked request, or ApiError naming the first problem."""
    if not isinstance(body, dict):
        raise ApiError(400, "the request body must be a JSON object")
    model = body.get("model")
    if not isinstance(model, str):
        raise ApiError(400, "model must be a string, one of: " + ", ".join(available_models(cloud_available)))
    if model not in MODELS:
        offered = ", ".join(available_models(cloud_available))
        raise ApiError(404, f"unknown model {str(model)[:60]!r}; this API offers: {offered}", code="model_not_found")
    if model in CLOUD_MODELS and not cloud_available:
        raise ApiError(400, f"{model} needs a cloud model, and none is configured (OPENAI_API_KEY)")
    messages = body.get("messages")
    if not isinstance(messages, list) or not messages:
        raise ApiError(400, "messages must be a non-empty list")
    if len(messages) > MAX_MESSAGES:
        raise ApiError(400, f"at most {MAX_MESSAGES} messages")
    question, history, system = _conversation(messages, ledger)
    rag = _object(body.get("rag"))
    values: dict[str, object] = {
        "temperature": body.get("temperature"),
        "top_p": body.get("top_p"),
        "max_tokens": body.get("max_completion_tokens", body.get("max_tokens")),
        "sampler_top_k": body.get("top_k"),
        "repeat_penalty": body.get("repeat_penalty"),
        "system_prompt": system,
        "top_k": rag.get("sources"),  # how many passages to retrieve
        "mode": rag.get("mode"),
        "private_policy": rag.get("private_policy"),
        "scope": rag.get("documents"),  # answer from these files or folders ("notes/") only
    }
    options = _object(body.get("stream_options"))
    return ApiRequest(
        model=str(model),
        policy=POLICIES[MODELS[str(model)]],
        question=question,
        history=history,
        values={k: v for k, v in values.items() if v is not None},
        stream=body.get("stream") is True,
        include_usage=options.get("include_usage") is True,
    )


def available_models(cloud_available: bool) -> list[str]:
    return [name for name in MODELS if cloud_available or name not in CLOUD_MODELS]


def models_list(cloud_available: bool, created: int) -> dict[str, Any]:
    return {
        "object": "list",
        "data": [
            {"id": name, "object": "model", "created": created, "owned_by": "rag"}
            for name in available_models(cloud_available)
        ],
    }


def usage(answer: Answer | None) -> dict[str, int]:
    metrics = answer.metrics if answer is not None else None
    prompt, completion = (metrics.prompt_tokens, metrics.completion_tokens) if metrics else (0, 0)
    return {"prompt_tokens": prompt, "completion_tokens": completion, "total_tokens": prompt + completion}


def completion(request: ApiRequest, content: str, extra: dict[str, Any]) -> dict[str, Any]:
    """A whole (not streamed) chat completion; `extra` adds the structured citations and details."""
    return {
        "id": request.id,
        "object": "chat.completion",
        "created": request.created,
        "model": request.model,
        "choices": [{"index": 0, "message": {"role": "assistant", "content": content}, "finish_reason": "stop"}],
        **extra,
    }


def chunk(request: ApiRequest, delta: dict[str, Any], finish: str | None = None, **extra: Any) -> dict[str, Any]:
    """One streamed piece, in the shape OpenAI's SDK and Open WebUI read."""
    return {
        "id": request.id,
        "object": "chat.completion.chunk",
        "created": request.created,
        "model": request.model,
        "choices": [{"index": 0, "delta": delta, "finish_reason": finish}],
        **extra,
    }
