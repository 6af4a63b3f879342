"""A follow-up question is searched with the conversation's context, and says what was searched."""

from __future__ import annotations

import pytest

from rag.chat.followup import is_follow_up, search_query
from rag.chat.pipeline import Assistant, ChatOptions
from rag.llm.requests import Turn

FIRST = "Which extended attribute can store a file's MIME type?"
FOLLOW_UP = "And which file lists the known aliases?"


CORPUS = {  # indexed once for this module by the `assistant` fixture (conftest.py)
    "mime/shared-mime-info.md": (
        "# Shared MIME-info database\n\n## Storing the type\n\nA file's MIME type can be stored in the "
        "user.mime_type extended attribute.\n\n## Files\n\nThe aliases file maps each alias of a MIME type to "
        "the canonical type it stands for.\n"
    ),
    "shell/bash-guide.md": (
        "# Bash guide\n\n## Aliases\n\nKeep your aliases in ~/.bash_aliases; the file lists the known aliases "
        "for your shell and is read at login.\n"
    ),
    "garden.md": "# Garden\n\nTomatoes need watering every morning in July.\n",
}


def test_follow_up_is_searched_with_the_previous_question(assistant: Assistant) -> None:
    turns = [Turn(FIRST, "The user.mime_type extended attribute [1].")]
    alone = assistant.retrieve(FOLLOW_UP, ChatOptions(passages=3))
    followed = assistant.retrieve(FOLLOW_UP, ChatOptions(passages=3), turns)
    assert alone.query == FOLLOW_UP and followed.query == f"{FIRST} {FOLLOW_UP}"
    sources = [[hit.source for hit in r.hits] for r in (alone, followed)]
    assert "shell/bash-guide.md" in sources[0][:2], "alone, the shell's aliases file is a top answer"
    assert followed.hits[0].source == "mime/shared-mime-info.md"
    assert sources[1].index("shell/bash-guide.md") > sources[0].index("shell/bash-guide.md")


@pytest.mark.parametrize(
    ("question", "follows"),
    [
        (FOLLOW_UP, True),
        ("What about the subclasses?", True),
        ("And is it read at login?", True),
        ("А какой файл хранит псевдонимы?", True),
        ("И къде се пази това?", True),
        ("How often do tomatoes need watering in July in a greenhouse garden?", False),
        ("Which extended attribute can store a file's MIME type?", False),
    ],
)
def test_what_reads_as_a_follow_up(question: str, follows: bool) -> None:
    assert is_follow_up(question) is follows
    turns = [Turn("Previous question?", "Answer.")]
    assert (search_query(question, turns) != question) is follows
    assert search_query(question, []) == question


def test_a_standalone_question_after_others_is_searched_as_it_is(assistant: Assistant) -> None:
    turns = [Turn(FIRST, "The user.mime_type extended attribute [1].")]
    retrieval = assistant.retrieve("When do tomatoes need watering?", ChatOptions(passages=1), turns)
    assert retrieval.query == "When do tomatoes need watering?" and retrieval.hits[0].source == "garden.md"
