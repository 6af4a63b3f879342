"""Model backends: where an answer comes from, local or cloud, all spoken to through the OpenAI API."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field, replace
from typing import Literal

import requests

from rag.config import DEFAULT_CLOUD_BASE_URL, AnswerFrom, CloudSettings, PromptStyle
from rag.i18n import DEFAULT, Language, Text, tr
from rag.llm.egress_audit import EgressAudit, on_this_machine

BackendKey = Literal["local", "cloud"]
"""Which of a chat's two backends: the one on this machine, or the cloud one."""


@dataclass(frozen=True)
class Backend:
    """An OpenAI-compatible endpoint and how to talk to it. `api_key` is never shown or logged."""

    key: BackendKey
    label: str  # what the user sees, e.g. "Ollama" or "OpenAI"
    base_url: str
    model: str
    api_key: str = field(default="not-needed", repr=False)
    is_local: bool = True
    prompt_style: PromptStyle = "chat"  # "completion" for base models that only continue text
    context_tokens: int = 8192
    accepts_sampler_extras: bool = True  # top_k / repeat_penalty through extra_body
    passage_chars: int = 0  # send each source cut to this many characters around its best sentence (0: whole)
    answer_from: AnswerFrom = "passages"  # or "evidence": the selected sentences only, failed claims replaced
    available: bool = True
    reason: str | Text | None = None  # why it is unavailable (a server's own words stay a plain string)
    # Vendor preparation before each answer (Foundry Local: load the model, or its stream is dropped)
    prepare: Callable[[Backend], None] | None = field(default=None, compare=False)
    audit: EgressAudit | None = field(default=None, compare=False, repr=False)  # where requests that leave are logged

    @property
    def leaves_machine(self) -> bool:
        """The cloud backend, or a server on another host: its requests are written to the egress audit."""
        return not self.is_local or not on_this_machine(self.base_url)

    def describe(self, language: Language = DEFAULT) -> str:
        where = tr(language, "backend.on_this_machine" if self.is_local else "backend.in_the_cloud")
        return f"{self.label} ({self.model}, {where})"

    def with_model(self, model: str) -> Backend:
        return replace(self, model=model)


def unavailable_local(reason: str) -> Backend:
    """A local model that could not be found or started: answered with its reason, like a cloud without a key."""
    return Backend("local", "Local model", "", "(none)", available=False, reason=reason)


def cloud_backend(cloud: CloudSettings) -> Backend:
    """OpenAI, or any OpenAI-compatible cloud via OPENAI_BASE_URL; unavailable (with the reason) without a key."""
    backend = Backend(
        key="cloud",
        label="OpenAI" if cloud.base_url == DEFAULT_CLOUD_BASE_URL else "Cloud API",
        base_url=cloud.base_url,
        model=cloud.model,
        api_key=cloud.api_key or "missing",
        is_local=False,
        context_tokens=cloud.context_tokens,
        accepts_sampler_extras=False,
        answer_from=cloud.answer_from or "passages",
    )
    if not cloud.api_key:
        return replace(backend, available=False, reason=Text.of("backend.no_cloud_key"))
    return backend


def list_models(backend: Backend, timeout: float = 5.0) -> list[str]:
    """Model ids the backend offers at `/models`; empty when it cannot be asked."""
    audit = backend.audit if backend.leaves_machine else None
    record = audit.request(backend.label, "", f"{backend.base_url}/models", {}) if audit else ""
    try:
        response = requests.get(
            f"{backend.base_url}/models", headers={"Authorization": f"Bearer {backend.api_key}"}, timeout=timeout
        )
        if audit:
            audit.outcome(record, response.status_code)
        response.raise_for_status()
        return sorted(str(item["id"]) for item in response.json().get("data", []) if "id" in item)
    except (requests.RequestException, ValueError, KeyError, TypeError, AttributeError) as exc:
        if audit and not isinstance(exc, requests.HTTPError):
            audit.outcome(record, "failed", error=type(exc).__name__)
        return []
