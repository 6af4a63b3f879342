"""The settings tree: an empty environment gives exactly the dataclasses' defaults (each written once)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from rag.config import VARIABLES, Settings, SettingsError
from tests.helpers import ROOT, run_cli


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


@pytest.mark.parametrize(
    ("url", "password"),
    [("postgresql://u:pa%zzss@h/db", "zzss"), ("postgresql://u:secret@[::1/db", "secret")],
)
def test_a_malformed_database_url_is_refused_in_one_line_that_hides_its_password(
    tmp_path: Path, url: str, password: str
) -> None:
    (tmp_path / "data").mkdir()
    result = run_cli("-m", "ingest", "--data", str(tmp_path / "data"), env={"INDEX_URL": url})
    assert result.returncode != 0
    assert "Traceback" not in result.stderr and password not in result.stderr + result.stdout
    assert result.stderr.strip() == result.stderr.strip().splitlines()[0]
    assert "INDEX_URL is not a valid PostgreSQL URL (postgresql://u:***@" in result.stderr
    with pytest.raises(SettingsError, match="HISTORY_URL"):
        Settings.from_env(environ={"HISTORY_URL": url})


def test_a_password_with_odd_characters_is_still_a_valid_url() -> None:
    url = "postgresql://u:p%41ss[word@[::1]:5432,db.example/rag?sslmode=require"
    assert Settings.from_env(environ={"INDEX_URL": url}).index_url == url


def test_the_example_env_file_names_every_variable_and_reads_cleanly() -> None:
    """`.env.example` is where a new user looks: every variable the app reads is in it, with a default the app
    accepts as it is written."""
    example = (ROOT / ".env.example").read_text(encoding="utf-8")
    assignments = dict(re.findall(r"^# ([A-Z][A-Z0-9_]+)=(.*)$", example, re.MULTILINE))
    assert set(VARIABLES) <= set(assignments), set(VARIABLES) - set(assignments)
    values = {name: value for name, value in assignments.items() if value and name in VARIABLES}
    Settings.from_env({**values, "EMBED_CACHE_DIR": "/tmp/encoders"})
