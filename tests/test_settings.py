"""The settings tree: an empty environment gives exactly the dataclasses' defaults (each written once)."""

from __future__ import annotations

import pytest

from rag.config import Settings


def test_an_empty_environment_gives_the_written_defaults() -> None:
    assert Settings.from_env(environ={}) == Settings()


def test_a_variable_overrides_its_default_and_nothing_else() -> None:
    changed = Settings.from_env(environ={"TOP_K": "9", "OCR_DPI": "150"})
    assert changed.retrieval.passages == 9 and changed.ocr.dpi == 150
    assert changed.retrieval.fusion == Settings().retrieval.fusion and changed.chunk_tokens == Settings().chunk_tokens


@pytest.mark.parametrize(
    ("variable", "value"), [("RETRIEVAL_MODE", "semantic"), ("FUSION", "max"), ("LOCAL_PROMPT_STYLE", "instruct")]
)
def test_a_choice_outside_its_list_is_named_with_the_allowed_ones(variable: str, value: str) -> None:
    with pytest.raises(ValueError, match=f"{variable} must be one of .* not '{value}'"):
        Settings.from_env(environ={variable: value})
