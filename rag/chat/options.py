"""The per-chat settings: defaults, ranges and labels written once.

The settings panel is built from these, and the values that come back over the socket are checked
against the same table: a client can send anything (a page of its own, a script), so every number
is clamped to its range, every choice must be one that was offered, and text is bounded.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from rag.chat.prompts import DEFAULT_SYSTEM_PROMPT
from rag.chat.routing import POLICIES
from rag.config import RetrievalSettings
from rag.i18n import Language, tr
from rag.index.retrieval import MODES
from rag.llm.sampling import MAX_TOKENS, REPEAT_PENALTY, SAMPLER_TOP_K, TEMPERATURE, TOP_P, NumberSetting

TOP_K = NumberSetting("top_k", 5, 1, 12, 1, integer=True)
LATENCY_BUDGET = NumberSetting("latency_budget", 20, 1, 120, 1)
NUMBERS = (TEMPERATURE, TOP_P, MAX_TOKENS, TOP_K, LATENCY_BUDGET, SAMPLER_TOP_K, REPEAT_PENALTY)

PRIVATE_POLICIES = ("shareable", "refuse")
CUSTOM_PRESET = "custom"
SYSTEM_PROMPT_MAX_CHARS = 8000
"""A persona with a few examples fits easily; a megabyte pasted by a script does not go to a model."""


def choice(value: object, offered: Sequence[str], default: str) -> str:
    """`value` if it is one of the offered choices, else the default."""
    return value if isinstance(value, str) and value in offered else default


@dataclass
class Field:
    """One control of the settings panel, independent of the UI toolkit that draws it."""

    kind: str  # "select", "slider", "number", "text" (several lines), "line" or "switch"
    id: str
    label: str
    initial: object
    choices: dict[str, str] | None = None  # select: label -> value
    number: NumberSetting | None = None


def policy_choices(cloud_available: bool, language: Language = "en") -> dict[str, str]:
    """Routing policies offered: all of them with a cloud backend, "local only" without one."""
    offered = [p for p in POLICIES.values() if cloud_available or p.key == "local"]
    return {p.label.render(language).capitalize(): p.key for p in offered}


def configured_first(configured: str | None, offered: list[str]) -> list[str]:
    """The configured model is the default choice, even when the server does not list it."""
    return ([configured] if configured else []) + [m for m in offered if m != configured]


def settings_panel(
    cloud_unavailable: str | None,
    models: Mapping[str, list[str]],
    retrieval: RetrievalSettings,
    saved: Mapping[str, object],
    language: Language = "en",
    presets: Mapping[str, str] | None = None,
) -> list[Field]:
    """The panel for one chat, with the values it had before (if any, and if still offered) preselected.

    `presets` maps each task preset's key to its label; choosing one sets the numbers it holds.
    """

    def label(id: str, **values: object) -> str:
        return tr(language, f"settings.{id}", **values)

    backend_label = label("backend") + (
        label("cloud_unavailable", reason=cloud_unavailable) if cloud_unavailable else ""
    )
    presets_offered = {label("preset_custom"): CUSTOM_PRESET, **{name: key for key, name in (presets or {}).items()}}
    fields = [
        Field("select", "backend", backend_label, "local", policy_choices(cloud_unavailable is None, language)),
        _model_field("local_model", label("local_model"), models.get("local") or ["(none)"]),
    ]
    if cloud_unavailable is None:
        fields.append(_model_field("cloud_model", label("cloud_model"), models.get("cloud") or []))
    fields.append(Field("select", "preset", label("preset"), CUSTOM_PRESET, presets_offered))
    passages = {TOP_K.id: float(retrieval.passages)}
    fields += [
        _number_field(n, label(n.id), passages.get(n.id, n.default)) for n in (TEMPERATURE, TOP_P, MAX_TOKENS, TOP_K)
    ]
    private = {label(f"private_policy_{value}"): value for value in PRIVATE_POLICIES}
    fields += [
        Field("select", "mode", label("mode"), retrieval.mode, {label(f"mode_{mode}"): mode for mode in MODES}),
        Field("text", "system_prompt", label("system_prompt"), DEFAULT_SYSTEM_PROMPT),
        Field("line", "save_preset", label("save_preset"), ""),
        Field("select", "private_policy", label("private_policy"), "shareable", private),
        Field("switch", "restore_redacted", label("restore_redacted"), True),
    ]
    fields += [_number_field(n, label(n.id), n.default) for n in (LATENCY_BUDGET, SAMPLER_TOP_K, REPEAT_PENALTY)]
    for field in fields:
        if (
            field.id in saved
            and field.id != "save_preset"
            and (field.choices is None or saved[field.id] in field.choices.values())
        ):
            field.initial = saved[field.id]
    return fields


def _model_field(id: str, label: str, models: list[str]) -> Field:
    return Field("select", id, label, models[0] if models else "", {m: m for m in models})


def _number_field(setting: NumberSetting, label: str, initial: float) -> Field:
    return Field("slider" if setting.slider else "number", setting.id, label, initial, number=setting)
