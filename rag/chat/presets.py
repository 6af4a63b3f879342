"""Task presets: sampling settings a chat sets together with one choice ("precise facts", "code", ...).

The built-in ones live in a TOML file people can edit (`presets.toml`); a user can also save the
chat's current system prompt and numbers under a name. Every value goes through the settings panel's
own ranges, so a preset can never set what the panel would refuse.
"""

from __future__ import annotations

import fcntl
import json
import os
import tomllib
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from rag.chat.options import (
    MAX_TOKENS,
    REPEAT_PENALTY,
    SAMPLER_TOP_K,
    SYSTEM_PROMPT_MAX_CHARS,
    TEMPERATURE,
    TOP_P,
    NumberSetting,
)

SETTINGS: dict[str, NumberSetting] = {s.id: s for s in (TEMPERATURE, TOP_P, SAMPLER_TOP_K, MAX_TOKENS, REPEAT_PENALTY)}
"""The numbers a preset sets; everything else in the panel (backend, sources, privacy) stays the chat's."""
CUSTOM = "custom"
SAVED_PREFIX = "saved:"
MAX_NAME_CHARS = 60
MAX_SAVED_PER_USER = 50


class PresetError(ValueError):
    """A presets file that cannot be used; the message names the preset and the field."""


@dataclass(frozen=True)
class Preset:
    key: str
    labels: Mapping[str, str]  # language -> label; "en" always present
    values: Mapping[str, float]
    system_prompt: str | None = None  # saved presets carry the chat's system prompt (with its examples)

    def label(self, language: str = "en") -> str:
        return self.labels.get(language) or self.labels["en"]

    def apply(self, current: Mapping[str, object]) -> dict[str, object]:
        """The chat's settings with this preset's values put in (clamped to the panel's ranges)."""
        values = {**current, **{key: SETTINGS[key].read(self.values) for key in self.values}}
        if self.system_prompt is not None:
            values["system_prompt"] = self.system_prompt
        values["preset"] = self.key
        return values


def _numbers(name: str, table: Mapping[str, object], extra: tuple[str, ...] = ()) -> dict[str, float]:
    numbers = {}
    for key, value in table.items():
        if key in extra:
            continue
        if key not in SETTINGS:
            raise PresetError(f"preset '{name}': unknown setting '{key}' (known: {', '.join(SETTINGS)})")
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise PresetError(f"preset '{name}': {key} must be a number, not {value!r}")
        numbers[key] = SETTINGS[key].read({key: value})
    return numbers


def load_presets(path: Path) -> dict[str, Preset]:
    """The built-in presets, in file order; a missing file means none, a broken one raises PresetError."""
    if not path.is_file():
        return {}
    try:
        tables = tomllib.loads(path.read_text(encoding="utf-8"))
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise PresetError(f"{path.name}: not valid TOML ({exc})") from exc
    presets = {}
    for key, table in tables.items():
        if not isinstance(table, dict) or key == CUSTOM or key.startswith(SAVED_PREFIX):
            raise PresetError(f"preset '{key}': must be a table with a name other than '{CUSTOM}'")
        labels = table.get("label", {})
        labels = labels if isinstance(labels, dict) else {"en": labels}
        if not isinstance(labels.get("en"), str) or not labels["en"].strip():
            raise PresetError(f"preset '{key}': needs a label (label = {{ en = \"...\" }})")
        presets[key] = Preset(key, {k: str(v) for k, v in labels.items()}, _numbers(key, table, ("label",)))
    return presets


@dataclass
class SavedPresets:
    """Presets users saved from their chats, per user, in one JSON file only its owner can read."""

    path: Path

    @contextmanager
    def _exclusive(self) -> Iterator[None]:
        """One saver at a time, among this process's threads and every app worker sharing the folder."""
        self.path.parent.mkdir(parents=True, exist_ok=True)
        with open(self.path.with_suffix(".lock"), "a") as handle:  # each open: its own lock owner
            fcntl.flock(handle, fcntl.LOCK_EX)
            yield

    def _read(self, strict: bool = False) -> dict[str, dict[str, dict[str, object]]]:
        """The file's presets; `strict` (before writing) refuses to overwrite a file it cannot read."""
        try:
            data = json.loads(self.path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            return {}
        except (OSError, ValueError) as exc:
            if strict:
                raise PresetError(f"{self.path} cannot be read ({type(exc).__name__}); not overwriting it") from exc
            return {}
        if not isinstance(data, dict) and strict:
            raise PresetError(f"{self.path} is not a presets file; not overwriting it")
        return data if isinstance(data, dict) else {}

    def load(self, user: str) -> dict[str, Preset]:
        presets = {}
        for name, stored in (self._read().get(user) or {}).items():
            try:
                numbers = _numbers(name, stored.get("values") or {})  # type: ignore[arg-type]
            except PresetError:
                continue  # an entry edited by hand into nonsense is left out, not fatal to the chat
            prompt = stored.get("system_prompt")
            key = SAVED_PREFIX + name
            presets[key] = Preset(key, {"en": name}, numbers, prompt if isinstance(prompt, str) else None)
        return presets

    def save(self, user: str, name: str, current: Mapping[str, object]) -> Preset:
        """Save the chat's numbers and system prompt under `name` (the same name replaces the older one)."""
        name = " ".join(name.split())[:MAX_NAME_CHARS]
        if not name:
            raise PresetError("a preset needs a name")
        values = {key: setting.read(current) for key, setting in SETTINGS.items()}
        prompt = current.get("system_prompt")
        entry: dict[str, object] = {
            "values": values,
            "system_prompt": prompt[:SYSTEM_PROMPT_MAX_CHARS] if isinstance(prompt, str) else None,
        }
        with self._exclusive():
            data = self._read(strict=True)
            mine = data.setdefault(user, {})
            mine.pop(name, None)
            if len(mine) >= MAX_SAVED_PER_USER:
                raise PresetError(f"at most {MAX_SAVED_PER_USER} saved presets; reuse a name to replace one")
            mine[name] = entry
            self._write(data)
        return self.load(user)[SAVED_PREFIX + name]

    def _write(self, data: object) -> None:
        """Whole or not at all: a crash mid-write leaves the previous file."""
        self.path.parent.mkdir(parents=True, exist_ok=True)
        partial = self.path.with_suffix(".tmp")
        descriptor = os.open(partial, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(descriptor, "w", encoding="utf-8") as out:
            json.dump(data, out, ensure_ascii=False, indent=1)
        os.replace(partial, self.path)
