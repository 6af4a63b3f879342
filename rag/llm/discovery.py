"""Finding a local model server: LOCAL_BASE_URL, Foundry Local, Ollama, LM Studio, llama.cpp's server, vLLM,
else the embedded one.

Foundry Local starts on a new port every time, so its address is asked of the `foundry` CLI
(`foundry service status` on 0.x, `foundry server status` on 1.x) or of the foundry-local-sdk
when it is installed. Its models are requested by alias (`phi-4-mini`) but served under full ids
(`Phi-4-mini-instruct-generic-cpu:5`), so the alias is resolved against `/v1/models`; and the
model is loaded before streaming, since Foundry Local 0.10+ drops the stream of an unloaded model.
"""

from __future__ import annotations

import re
import shutil
import subprocess
from urllib.parse import quote, urlsplit

import requests

from rag.config import LocalSettings
from rag.llm.backends import Backend, list_models

_URL = re.compile(r"https?://[\w.\-]+:\d+")


def configured_server(local: LocalSettings) -> Backend | None:
    """The server named by LOCAL_BASE_URL, if any: it wins over discovery."""
    if not local.base_url:
        return None
    backend = Backend(
        key="local",
        label=local.label or "Local server",
        base_url=local.base_url,
        model=local.model,
        api_key=local.api_key or "not-needed",
        context_tokens=local.context_tokens or 8192,
    )
    return _with_default_model(backend)


def _with_default_model(backend: Backend) -> Backend:
    if backend.model:
        return backend
    models = list_models(backend, timeout=3)
    return backend.with_model(models[0]) if models else backend


def foundry_origin() -> str | None:
    """`http://127.0.0.1:PORT` of a running Foundry Local service, or None."""
    try:
        from foundry_local import FoundryLocalManager

        manager = FoundryLocalManager(bootstrap=False)
        if manager.is_service_running():
            return _origin(manager.endpoint)
    except Exception:
        pass
    if shutil.which("foundry") is None:
        return None
    for verb in ("service", "server"):
        try:
            result = subprocess.run(["foundry", verb, "status"], capture_output=True, text=True, timeout=10)
        except (OSError, subprocess.SubprocessError):
            continue
        match = _URL.search(result.stdout + result.stderr)
        if match:
            return _origin(match.group())
    return None


def _origin(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}"


def resolve_alias(alias: str, model_ids: list[str]) -> str | None:
    """The served model id for an alias: exact id first, then the id that starts with the alias."""
    if not model_ids:
        return None
    lowered = alias.lower()
    for model_id in model_ids:
        if model_id.lower() == lowered or model_id.lower().split(":")[0] == lowered:
            return model_id
    starting = [m for m in model_ids if m.lower().startswith(lowered)]
    preferred = [m for m in starting if "cpu" in m.lower()] or starting
    if preferred:
        return preferred[0]
    containing = [m for m in model_ids if lowered in m.lower()]
    return containing[0] if containing else None


def foundry_backend(local: LocalSettings) -> Backend | None:
    origin = foundry_origin()
    if origin is None:
        return None
    backend = Backend(key="local", label="Foundry Local", base_url=f"{origin}/v1", model="", prepare=load_foundry_model)
    models = list_models(backend)
    wanted = local.foundry_model or local.model or "phi-4-mini"
    model = resolve_alias(wanted, models) or (models[0] if models else wanted)
    return backend.with_model(model)


def load_foundry_model(backend: Backend, timeout: float = 300.0) -> None:
    """Ask Foundry Local to load the model (new API first, then the 0.x one); raises on failure."""
    origin = _origin(backend.base_url)
    name = quote(backend.model, safe="")
    for path in (f"/models/load/{name}", f"/openai/load/{name}?ttl=3600"):
        response = requests.get(f"{origin}{path}", timeout=timeout)
        if response.status_code != 404:
            response.raise_for_status()
            return
    raise requests.HTTPError(f"Foundry Local has no load endpoint for {backend.model}")


def serving_models(base_url: str) -> bool:
    """Whether an OpenAI-compatible server answers here: `/models` with a JSON model list. A web app on the
    same port (this app's own UI on 8000 answers any path with its page) is not one."""
    try:
        reply = requests.get(f"{base_url}/models", timeout=1.5)
        return reply.status_code == 200 and isinstance(reply.json().get("data"), list)
    except (requests.RequestException, ValueError, AttributeError):
        return False


def ollama_backend(local: LocalSettings) -> Backend | None:
    if not serving_models(local.ollama_base_url):
        return None
    probe = Backend(key="local", label="Ollama", base_url=local.ollama_base_url, model=local.ollama_model)
    return _with_default_model(probe)


def well_known_backend(local: LocalSettings) -> Backend | None:
    """LM Studio, llama.cpp's `llama-server` and vLLM on their usual ports, in that order."""
    for label, base_url in local.well_known:
        if serving_models(base_url):
            return _with_default_model(Backend(key="local", label=label, base_url=base_url, model=""))
    return None


def discover_local(local: LocalSettings) -> Backend | None:
    """The first local server found, in the documented order; None means: start the embedded one."""
    for finder in (configured_server, foundry_backend, ollama_backend, well_known_backend):
        backend = finder(local)
        if backend is not None:
            return backend
    return None
