"""Chunks fit the embedding model with their heading path, keep exact offsets, and overlap."""

from __future__ import annotations

from itertools import pairwise

from rag.index.embedding import Embedder
from rag.ingest.chunking import Chunker
from rag.ingest.loaders import load_bytes
from tests.helpers import SAMPLE_DATA

SENTENCE = "The quick brown fox jumps over the lazy dog near the riverbank at dawn."


def test_no_chunk_exceeds_the_model_limit(embedder: Embedder) -> None:
    chunker = Chunker(embedder, 120, 30)
    long_heading = "# " + " ".join(["Extremely long heading words"] * 40)
    unbroken = " ".join(f"token{n}" for n in range(3000))  # no sentence ends at all
    source = f"{long_heading}\n\n{' '.join([SENTENCE] * 60)}\n\n{unbroken}\n"
    chunks = chunker.chunk(load_bytes(source.encode(), ".md").blocks)
    counts = embedder.count_many([c.embed_text for c in chunks])
    assert len(chunks) > 10
    assert max(counts) <= 120
    assert all(c.heading_path for c in chunks), "the (shortened) heading stays with every chunk"


def test_sample_documents_fit_the_encoder(embedder: Embedder) -> None:
    chunker = Chunker(embedder, embedder.max_tokens, 40)
    for path in SAMPLE_DATA.rglob("*"):
        if path.is_file():
            chunks = chunker.chunk(load_bytes(path.read_bytes(), path.suffix).blocks)
            assert chunks, path
            assert max(embedder.count_many([c.embed_text for c in chunks])) <= embedder.max_tokens


def test_offsets_point_at_the_chunk_in_the_source(embedder: Embedder) -> None:
    paragraphs = [" ".join(f"Paragraph {p} sentence {s} is here." for s in range(12)) for p in range(8)]
    source = "# Title\n\n" + "\n\n".join(paragraphs) + "\n"
    chunks = Chunker(embedder, 64, 16).chunk(load_bytes(source.encode(), ".md").blocks)
    assert len(chunks) > 4
    for chunk in chunks:
        span = source[chunk.start : chunk.end]
        assert span.startswith(chunk.text[:20]) and span.endswith(chunk.text[-20:])
        assert chunk.heading_path == ("Title",)


def test_consecutive_chunks_overlap_by_whole_sentences(embedder: Embedder) -> None:
    text = " ".join(f"Sentence number {n} talks about item {n}." for n in range(80))
    chunks = Chunker(embedder, 80, 24).chunk(load_bytes(text.encode(), ".txt").blocks)
    assert len(chunks) > 3
    for before, after in pairwise(chunks):
        first_sentence = after.text.split(". ")[0] + "."
        assert first_sentence in before.text, "the next chunk starts with the end of the previous one"
        assert after.start < before.end


def test_paragraphs_are_not_split_when_they_fit(embedder: Embedder) -> None:
    source = "Short paragraph one.\n\nShort paragraph two.\n\nShort paragraph three.\n"
    chunks = Chunker(embedder, 200, 40).chunk(load_bytes(source.encode(), ".txt").blocks)
    assert [c.text for c in chunks] == ["Short paragraph one.\n\nShort paragraph two.\n\nShort paragraph three."]
