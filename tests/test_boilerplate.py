"""Tables of contents and index pages are demoted, so the page that explains a term ranks above them."""

from __future__ import annotations

from pathlib import Path

import pytest

from rag.config import Settings
from rag.index.boilerplate import INDEX_PAGE, boilerplate_factor
from rag.index.embedding import Embedder
from rag.index.retrieval import Retriever
from rag.ingest.pipeline import ingest
from tests.documents import write

INDEX = "\n".join(f"{term} {page}" for term, page in [
    ("asn1_create_element", 12), ("asn1_delete_structure", "14, 19"), ("asn1_der_coding", 21),
    ("header file, libtasn1.h", 7), ("installation", "3-4"), ("libtasn1.h", 7), ("parser", 9),
    ("structure names", 11), ("value types", 15),
])  # fmt: skip
TOC = "\n".join(f"{n}. {title} {'.' * 12} {page}" for n, (title, page) in enumerate(
    [("Introduction", 1), ("Installing the library", 3), ("Using the header file", 7), ("Reference", 12)], 1))  # fmt: skip


UNWRAPPED = (  # a PDF's index page as PDFium returns it inside one paragraph: no line breaks at all
    "32 Concept Index A asn1Coding program . . . . . . . . . . . . . . . . 5 asn1Decoding program . . . . . . . . "
    ". . . . . . 7 ASN.1 schema . . . . . . . . . . . . . . . . . 2 H Header file libtasn1.h. . . . . . . . . . . . 4"
)


@pytest.mark.parametrize("text", [INDEX, TOC, UNWRAPPED])
def test_index_pages_and_tables_of_contents_are_recognised(text: str) -> None:
    assert boilerplate_factor(text) == INDEX_PAGE


@pytest.mark.parametrize(
    "text",
    [
        "The header file of this library is libtasn1.h. Include it in every source file that uses it.",
        "Port | Service\n11434 | Ollama\n1234 | LM Studio\n8080 | llama.cpp\n8000 | vLLM",
        "- apples 3\n- pears 4\n- plums 5",
        "Steps:\n1. Install the package.\n2. Run the server on port 8080.\n3. Open the page.\n4. Ask a question.",
    ],
)
def test_prose_tables_and_lists_are_left_alone(text: str) -> None:
    assert boilerplate_factor(text) == 1.0


BACK_OF_BOOK = "\n".join([
    "header file, include 7", "header file, libtasn1.h 7", "include files 7", "libtasn1, use of 7",
    "libtasn1.h, header file 7", "use, libtasn1 7", "using the header file 7", "what to include 7",
])  # fmt: skip
QUESTION = "What header file do I include to use libtasn1?"


def test_the_explaining_page_ranks_above_the_index_page(
    tmp_path: Path, embedder: Embedder, monkeypatch: pytest.MonkeyPatch
) -> None:
    data = tmp_path / "data"
    write(data, "manual/index.md", f"# Index\n\n{BACK_OF_BOOK}\n")
    write(data, "manual/usage.md", "# Using the library\n\nThe header file of this library is libtasn1.h.\n")
    settings = Settings(data_dir=data, index_dir=tmp_path / "index")
    ingest(settings, embedder=embedder)
    retriever = Retriever(settings, embedder)
    with monkeypatch.context() as undemoted:
        undemoted.setattr("rag.index.boilerplate.INDEX_PAGE", 1.0)
        assert retriever.search(QUESTION, k=2, mode="bm25")[0].source == "manual/index.md", "undemoted, it wins"
    for mode in ("hybrid", "bm25"):
        assert retriever.search(QUESTION, k=2, mode=mode)[0].source == "manual/usage.md", mode


def test_a_passage_reaches_into_its_neighbours_across_a_page_break(tmp_path: Path, embedder: Embedder) -> None:
    """The chunk that matches is small; the sentence that answers may stand just after it, on the next page."""
    from fpdf import FPDF

    pdf = FPDF()
    pdf.set_font("Helvetica", size=11)
    pdf.add_page()
    for text in (
        "Garden notes. " + "The greenhouse has two doors and a rain barrel. " * 30,
        "Watering the orchids in the greenhouse follows a strict rule:",
    ):
        pdf.multi_cell(190, 6, text, new_x="LMARGIN", new_y="NEXT")
    pdf.add_page()
    pdf.multi_cell(190, 6, "only rain water, every fourth morning, never at night.")
    data = tmp_path / "data"
    data.mkdir()
    pdf.output(str(data / "garden.pdf"))
    settings = Settings(data_dir=data, index_dir=tmp_path / "index")
    ingest(settings, embedder=embedder)
    hit = Retriever(settings, embedder).search("What is the rule for watering the orchids?", k=1)[0]
    assert hit.page == 1 and "strict rule" in hit.chunk.text and "every fourth morning" not in hit.chunk.text
    assert "strict rule:\n\nonly rain water, every fourth morning" in hit.text


def test_a_passage_keeps_the_break_between_paragraphs_it_joins(tmp_path: Path, embedder: Embedder) -> None:
    data = tmp_path / "data"
    paragraphs = [
        f"Paragraph {n} talks about topic {n} at some length, " + "with filler words. " * 40 for n in range(3)
    ]
    write(data, "notes.md", "# Notes\n\n" + "\n\n".join(paragraphs) + "\n")
    settings = Settings(data_dir=data, index_dir=tmp_path / "index")
    ingest(settings, embedder=embedder)
    for hit in Retriever(settings, embedder).search("topic 1", k=3):
        assert "words.Paragraph" not in hit.text and "words. Paragraph" not in hit.text
