"""Model backends: where an answer comes from, local or cloud, all spoken to through the OpenAI API."""

from __future__ import annotations

import os
from dataclasses import dataclass, field, replace

import requests

DEFAULT_CLOUD_MODEL = "gpt-4.1-mini"
DEFAULT_CLOUD_BASE_URL = "https://api.openai.com/v1"


@dataclass(frozen=True)
class Backend:
    """An OpenAI-compatible endpoint and how to talk to it. `api_key` is never shown or logged."""

    key: str  # "local" or "cloud"
    label: str  # what the user sees, e.g. "Ollama" or "OpenAI"
    base_url: str
    model: str
    api_key: str = field(default="not-needed", repr=False)
    is_local: bool = True
    prompt_style: str = "chat"  # "chat", or "completion" for base models that only continue text
    context_tokens: int = 8192
    accepts_sampler_extras: bool = True  # top_k / repeat_penalty through extra_body
    available: bool = True
    reason: str | None = None  # why it is unavailable
    foundry_origin: str | None = None  # Foundry Local: load the model through this service before streaming

    def describe(self) -> str:
        where = "on this machine" if self.is_local else "in the cloud"
        return f"{self.label} ({self.model}, {where})"

    def with_model(self, model: str) -> Backend:
        return replace(self, model=model)


def unavailable_local(reason: str) -> Backend:
    """A local model that could not be found or started: answered with its reason, like a cloud without a key."""
    return Backend("local", "Local model", "", "(none)", available=False, reason=reason)


def cloud_backend(environ: dict[str, str] | None = None) -> Backend:
    """OpenAI, or any OpenAI-compatible cloud via OPENAI_BASE_URL; unavailable (with the reason) without a key."""
    env = os.environ if environ is None else environ
    base_url = env.get("OPENAI_BASE_URL", "").strip() or DEFAULT_CLOUD_BASE_URL
    model = env.get("CLOUD_MODEL", "").strip() or DEFAULT_CLOUD_MODEL
    key = env.get("OPENAI_API_KEY", "").strip()
    label = "OpenAI" if base_url == DEFAULT_CLOUD_BASE_URL else "Cloud API"
    backend = Backend(
        key="cloud",
        label=label,
        base_url=base_url.rstrip("/"),
        model=model,
        api_key=key or "missing",
        is_local=False,
        context_tokens=int(env.get("CLOUD_CONTEXT_TOKENS", "") or 128_000),
        accepts_sampler_extras=False,
    )
    if not key:
        return replace(backend, available=False, reason="no OPENAI_API_KEY is set (in the environment or .env)")
    return backend


def list_models(backend: Backend, timeout: float = 5.0) -> list[str]:
    """Model ids the backend offers at `/models`; empty when it cannot be asked."""
    try:
        response = requests.get(
            f"{backend.base_url}/models", headers={"Authorization": f"Bearer {backend.api_key}"}, timeout=timeout
        )
        response.raise_for_status()
        return sorted(str(item["id"]) for item in response.json().get("data", []) if "id" in item)
    except (requests.RequestException, ValueError, KeyError, TypeError, AttributeError):
        return []
