"""Task presets: the shipped file, a broken file named clearly, and presets saved from a chat."""

from __future__ import annotations

import multiprocessing
import stat
from pathlib import Path

import pytest

from rag.chat.presets import SAVED_PREFIX, PresetError, SavedPresets, load_presets
from rag.config import Settings


def test_the_shipped_presets_cover_the_course_tasks_in_three_languages() -> None:
    presets = load_presets(Settings.from_env({}).presets.file)
    assert list(presets) == ["precise", "balanced", "creative", "code"]
    for preset in presets.values():
        assert set(preset.values) == {"temperature", "top_p", "sampler_top_k", "max_tokens", "repeat_penalty"}
        assert preset.label("bg") != preset.label("en") or preset.key == "code"
        assert preset.label("ru") and preset.label("de") == preset.label("en")
    assert presets["precise"].values["temperature"] < presets["creative"].values["temperature"]
    assert presets["code"].values["max_tokens"] > presets["precise"].values["max_tokens"]


def test_a_preset_sets_its_numbers_and_keeps_the_rest_of_the_chat() -> None:
    precise = load_presets(Settings.from_env({}).presets.file)["precise"]
    chat = {"backend": "cloud", "top_k": 7, "temperature": 1.2, "system_prompt": "Answer as a pirate."}
    applied = precise.apply(chat)
    assert applied["temperature"] == 0.0 and applied["max_tokens"] == 256 and applied["preset"] == "precise"
    assert applied["backend"] == "cloud" and applied["top_k"] == 7 and applied["system_prompt"] == "Answer as a pirate."


@pytest.mark.parametrize(
    ("text", "phrase"),
    [
        ("[fast]\nlabel = 'Fast'\ntemprature = 0.1\n", "unknown setting 'temprature'"),
        ("[fast]\nlabel = 'Fast'\ntemperature = 'cold'\n", "temperature must be a number"),
        ("[fast]\ntemperature = 0.1\n", "needs a label"),
        ("[custom]\nlabel = 'Mine'\n", "other than 'custom'"),
        ("[fast\n", "not valid TOML"),
    ],
)
def test_a_broken_presets_file_is_named_with_its_mistake(tmp_path: Path, text: str, phrase: str) -> None:
    path = tmp_path / "presets.toml"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(PresetError, match=phrase):
        load_presets(path)


def test_values_out_of_range_are_clamped_like_the_panel_does(tmp_path: Path) -> None:
    path = tmp_path / "presets.toml"
    path.write_text("[wild]\nlabel = 'Wild'\ntemperature = 40\nmax_tokens = -5\n", encoding="utf-8")
    assert dict(load_presets(path)["wild"].values) == {"temperature": 1.5, "max_tokens": 16}


def test_saved_presets_keep_the_prompt_per_user_in_a_private_file(tmp_path: Path) -> None:
    saved = SavedPresets(tmp_path / "state" / "presets.json")
    chat = {"temperature": 0.7, "max_tokens": 512, "system_prompt": "Reply in verse.\nExample: Q: hi A: ho"}
    preset = saved.save("anna", "  My   verse ", chat)
    assert preset.key == SAVED_PREFIX + "My verse" and preset.label() == "My verse"
    assert preset.apply({})["system_prompt"] == chat["system_prompt"] and preset.values["temperature"] == 0.7
    assert saved.load("boris") == {}, "one user's presets are not another's"
    assert stat.S_IMODE(saved.path.stat().st_mode) == 0o600
    saved.save("anna", "My verse", {**chat, "temperature": 0.1})
    assert list(saved.load("anna")) == [SAVED_PREFIX + "My verse"], "the same name replaces the older one"
    assert saved.load("anna")[SAVED_PREFIX + "My verse"].values["temperature"] == 0.1
    with pytest.raises(PresetError, match="needs a name"):
        saved.save("anna", "   ", chat)


def test_a_damaged_saved_file_loses_nothing_else(tmp_path: Path) -> None:
    path = tmp_path / "presets.json"
    path.write_text('{"anna": {"ok": {"values": {"temperature": 0.5}}, "bad": {"values": {"x": 1}}}}', encoding="utf-8")
    saved = SavedPresets(path)
    assert list(saved.load("anna")) == [SAVED_PREFIX + "ok"]
    path.write_text("not json", encoding="utf-8")
    assert saved.load("anna") == {}
    with pytest.raises(PresetError, match="not overwriting"):
        saved.save("anna", "new", {"temperature": 0.5})
    assert path.read_text(encoding="utf-8") == "not json"


def _save_many(path: Path, user: str) -> None:
    saved = SavedPresets(path)
    for n in range(10):
        saved.save(user, f"mine {n}", {"temperature": 0.1 * n})


def test_app_workers_saving_into_one_folder_at_once_lose_no_preset(tmp_path: Path) -> None:
    path = tmp_path / "history" / "presets.json"
    workers = [multiprocessing.get_context("fork").Process(target=_save_many, args=(path, f"u{n}")) for n in range(4)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join(timeout=60)
    assert [worker.exitcode for worker in workers] == [0, 0, 0, 0]
    saved = SavedPresets(path)
    assert all(len(saved.load(f"u{n}")) == 10 for n in range(4)), "each worker's saves survive the others'"
