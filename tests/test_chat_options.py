"""Per-chat settings: one table builds the panel and validates what comes back over the socket."""

from __future__ import annotations

from rag.chat.options import TOP_K, settings_panel
from rag.chat.pipeline import ChatOptions
from rag.config import RetrievalSettings
from rag.llm.sampling import MAX_TOKENS

RETRIEVAL = RetrievalSettings(mode="hybrid", passages=7)


def test_numbers_are_clamped_and_junk_falls_back_to_the_default() -> None:
    assert MAX_TOKENS.read({"max_tokens": 10**12}) == MAX_TOKENS.high
    assert MAX_TOKENS.read({"max_tokens": "-3"}) == MAX_TOKENS.low
    assert MAX_TOKENS.read({"max_tokens": "lots"}) == MAX_TOKENS.default
    assert MAX_TOKENS.read({"max_tokens": float("inf")}) == MAX_TOKENS.default
    assert TOP_K.read({"top_k": 3.6}) == 4.0


def test_options_from_a_forged_panel_are_safe() -> None:
    forged = {"mode": "drop-tables", "private_policy": "send-everything", "restore_redacted": "no", "top_k": None}
    options = ChatOptions.from_values({**forged, "system_prompt": "x" * 50_000}, RETRIEVAL, timeout=30)
    assert options.mode == "hybrid" and options.private_policy == "shareable" and options.passages == 7
    assert len(options.system_prompt) == 8000 and options.params.timeout == 30
    assert options.restore_redacted is True  # only an explicit False (the switch) turns it off


def test_panel_restores_saved_values_only_when_they_are_still_offered() -> None:
    models = {"local": ["gemma"], "cloud": ["gpt-4.1-mini", "gpt-4.1"]}
    saved = {"backend": "both", "cloud_model": "gpt-4.1", "local_model": "gone-model", "temperature": 0.7}
    fields = {f.id: f for f in settings_panel(None, models, RETRIEVAL, saved)}
    assert fields["backend"].initial == "both" and fields["cloud_model"].initial == "gpt-4.1"
    assert fields["local_model"].initial == "gemma" and fields["temperature"].initial == 0.7
    assert fields["top_k"].initial == 7.0


def test_without_a_cloud_only_the_local_policy_is_offered_and_the_reason_is_shown() -> None:
    fields = {f.id: f for f in settings_panel("no OPENAI_API_KEY is set", {}, RETRIEVAL, {"backend": "cloud"})}
    assert fields["backend"].choices == {"Local only": "local"} and fields["backend"].initial == "local"
    assert "no OPENAI_API_KEY is set" in fields["backend"].label and "cloud_model" not in fields
