"""The document library through the OpenAI files API of the running app: list, add, remove, and questions
asked of chosen documents only; and what an attacker would try on it."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import openai
import pytest
import requests

from rag.harness.app_process import running_app
from rag.web.library import file_id
from tests.documents import write
from tests.fault_server import FaultServer

KEY = "sk-files-api-test-key"
ZEBRAS = "Zebras have black and white stripes that confuse biting flies."


@pytest.fixture(scope="module")
def files_app(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, FaultServer, Path]]:
    with FaultServer(answer="The answer is in [1].") as local:
        workdir = tmp_path_factory.mktemp("files")
        data = workdir / "data"
        write(data, "animals/horses.md", "# Horses\n\nHorses sleep standing up and run at dawn.\n")
        write(data, "animals/stripes.md", "# Stripes\n\nTigers have stripes; so do some fish and many moths.\n")
        write(data, "private/ledger.md", "# Ledger\n\nThe zoo paid 12,000 EUR for zebra food.\n")
        write(data, "uploads/users/alice/diary.md", "# Diary\n\nAlice keeps a pet okapi with stripes.\n")
        outside = workdir / "outside"
        write(outside, "notes.md", "Notes kept outside the data folder about striped animals.\n")
        (data / "linked.md").symlink_to(outside / "notes.md")
        env = {"LOCAL_BASE_URL": local.url("ok"), "LOCAL_MODEL": "m", "RAG_API_KEY": KEY}
        with running_app(workdir, env) as url:
            yield url, local, workdir


def _client(url: str, key: str = KEY) -> openai.OpenAI:
    return openai.OpenAI(base_url=f"{url}/v1", api_key=key, max_retries=0, timeout=120)


def _ask(url: str, question: str, documents: list[str] | None = None) -> dict:
    rag = {"documents": documents} if documents is not None else {}
    response = _client(url).chat.completions.create(
        model="rag-local", messages=[{"role": "user", "content": question}], extra_body={"rag": rag}
    )
    return response.model_extra or {}


def _cited_files(extra: dict) -> set[str]:
    return {source["source"] for source in extra["citations"]}


def test_documents_are_listed_added_asked_about_alone_and_removed(files_app) -> None:
    url, _, workdir = files_app
    client = _client(url)
    listed = {f.filename: f for f in client.files.list().data}
    assert {"animals/horses.md", "animals/stripes.md", "private/ledger.md", "linked.md"} <= set(listed)
    ledger = listed["private/ledger.md"].model_extra or {}
    assert ledger["rag"]["local_only"] is True and ledger["rag"]["chunks"] >= 1
    assert listed["animals/horses.md"].status == "processed" and listed["animals/horses.md"].bytes > 0

    added = client.files.create(file=("zebras.md", f"# Zebras\n\n{ZEBRAS}\n".encode()), purpose="assistants")
    assert added.filename == "uploads/zebras.md" and added.status == "processed"
    assert (workdir / "data" / "uploads" / "zebras.md").read_text().startswith("# Zebras")
    assert client.files.retrieve(added.id).filename == "uploads/zebras.md"

    question = "Which animals have stripes?"
    assert _cited_files(_ask(url, question, ["uploads/zebras.md"])) == {"uploads/zebras.md"}
    scoped = _ask(url, question, ["animals/"])
    assert _cited_files(scoped) <= {"animals/horses.md", "animals/stripes.md"} and scoped["rag"]["scope"] == [
        "animals/"
    ]
    assert "uploads/zebras.md" in _cited_files(_ask(url, "What do zebra stripes confuse?"))

    deleted = client.files.delete(added.id)
    assert deleted.deleted is True and deleted.id == added.id
    assert not (workdir / "data" / "uploads" / "zebras.md").exists()
    assert "uploads/zebras.md" not in _cited_files(_ask(url, "What do zebra stripes confuse?"))
    assert added.id not in {f.id for f in client.files.list().data}
    with pytest.raises(openai.NotFoundError):
        client.files.delete(added.id)


def test_what_an_attacker_tries_on_the_files_api(files_app) -> None:
    url, _, workdir = files_app
    client = _client(url)
    # A name that climbs out of the folder is saved under a plain name inside data/uploads/.
    climbing = client.files.create(
        file=("../../../outside/evil.md", b"# Evil\n\nClimbing names.\n"), purpose="user_data"
    )
    assert climbing.filename == "uploads/evil.md" and not (workdir / "outside" / "evil.md").exists()
    for odd in ("../private/ledger.md", "file-../../etc/passwd", "private/ledger.md", "%2e%2e%2fledger"):
        with pytest.raises(openai.APIStatusError) as refused:  # no such id, or a path no route takes
            client.files.delete(odd)
        assert refused.value.status_code in (404, 405), odd
    assert (workdir / "data" / "private" / "ledger.md").exists()
    # A signed-in user's own upload is theirs: not listed, not removable and not searched through the API.
    diary = file_id("uploads/users/alice/diary.md")
    assert diary not in {f.id for f in client.files.list().data}
    with pytest.raises(openai.NotFoundError):
        client.files.delete(diary)
    assert "uploads/users/alice/diary.md" not in _cited_files(_ask(url, "Who keeps a pet okapi?"))
    assert (workdir / "data" / "uploads" / "users" / "alice" / "diary.md").exists()
    # A document reached through a link is not removed from here, and the file it links to stays.
    linked = next(f for f in client.files.list().data if f.filename == "linked.md")
    with pytest.raises(openai.ConflictError):
        client.files.delete(linked.id)
    assert (workdir / "outside" / "notes.md").exists()
    # An unsupported type or an oversized body is refused and nothing is saved.
    with pytest.raises(openai.BadRequestError, match="cannot be indexed"):
        client.files.create(file=("tool.exe", b"MZ\x90\x00"), purpose="assistants")
    assert not (workdir / "data" / "uploads" / "tool.exe").exists()
    # No key, a wrong key, and a page of another origin get nothing.
    assert requests.get(f"{url}/v1/files", timeout=10).status_code == 401
    with pytest.raises(openai.AuthenticationError):
        _client(url, "wrong").files.list()
    foreign = requests.get(
        f"{url}/v1/files", headers={"Authorization": f"Bearer {KEY}", "Origin": "http://evil.example"}, timeout=10
    )
    assert foreign.status_code == 403 and "ledger" not in foreign.text
    removal = requests.delete(
        f"{url}/v1/files/{climbing.id}",
        headers={"Authorization": f"Bearer {KEY}", "Origin": "http://127.0.0.1:1"},
        timeout=10,
    )
    assert removal.status_code == 403 and (workdir / "data" / "uploads" / "evil.md").exists()
    assert client.files.delete(climbing.id).deleted
