"""Dense, BM25 and hybrid (reciprocal rank fusion) retrieval over one generation of whichever index store is configured."""

from __future__ import annotations

import hashlib
import re
from collections.abc import Mapping
from dataclasses import dataclass, field

import numpy as np

from rag.config import Settings
from rag.index.boilerplate import boilerplate_factor
from rag.index.embedding import Embedder
from rag.index.store import ChunkRecord
from rag.index.stores import IndexChanged, IndexReader, open_store

MODES = ("hybrid", "dense", "bm25")
_SPACE = re.compile(r"\s+")
_LATIN = re.compile(r"[A-Za-z]")
_LETTER = re.compile(r"[^\W\d_]")


@dataclass
class Hit:
    """One retrieved chunk, with the scores that ranked it."""

    chunk: ChunkRecord
    score: float
    dense_score: float | None = None
    bm25_score: float | None = None
    duplicates: list[str] = field(default_factory=list)
    passage: str = ""  # the chunk with some of its neighbours' text around it: what is shown and sent

    @property
    def source(self) -> str:
        return self.chunk.source

    @property
    def page(self) -> int | None:
        return self.chunk.page

    @property
    def text(self) -> str:
        return self.passage or self.chunk.text

    def to_json(self) -> dict[str, object]:
        return {"source": self.source, "page": self.page, "text": self.text, "score": round(self.score, 6)}


def _text_key(text: str) -> str:
    return hashlib.sha1(_SPACE.sub(" ", text).strip().casefold().encode("utf-8")).hexdigest()


def fuse(rankings: list[tuple[list[int], float]], rrf_k: int) -> list[tuple[int, float]]:
    """Weighted reciprocal rank fusion: sum of weight / (rrf_k + rank) over the rankings."""
    scores: dict[int, float] = {}
    for ranking, weight in rankings:
        for rank, chunk_id in enumerate(ranking, start=1):
            scores[chunk_id] = scores.get(chunk_id, 0.0) + weight / (rrf_k + rank)
    return sorted(scores.items(), key=lambda item: -item[1])


def fuse_scores(legs: list[tuple[list[tuple[int, float]], float]]) -> list[tuple[int, float]]:
    """Score-aware fusion: each leg's scores divided by its best one, then a weighted sum.

    Rank fusion treats a near tie in one leg like a clear win: two passages a hair apart in dense
    similarity get the same credit as two far apart in BM25. Scores relative to the leg's best keep
    the margins (stretching them to a min-max range would not), so a leg that cannot tell the
    candidates apart moves the ranking little and a decisive leg decides.
    """
    scores: dict[int, float] = {}
    for ranked, weight in legs:
        best = max((score for _, score in ranked), default=0.0)
        if best <= 0 or weight <= 0:
            continue
        for chunk_id, score in ranked:
            scores[chunk_id] = scores.get(chunk_id, 0.0) + weight * max(score, 0.0) / best
    return sorted(scores.items(), key=lambda item: -item[1])


def mostly_latin(text: str) -> bool:
    """Whether a question is written mostly in Latin letters (the bundled encoder reads only English)."""
    letters = _LETTER.findall(text)
    return not letters or sum(1 for c in letters if _LATIN.match(c)) / len(letters) >= 0.5


def window(chunks: Mapping[int, ChunkRecord], chunk: ChunkRecord, around: int) -> str:
    """The chunk with up to `around` characters of the text before and after it in its file.

    Small chunks match a question precisely; the answer often sits a sentence before or after, or
    across a page break, so the passage shown and sent reaches into the neighbouring chunks (which
    share their overlap with this one: offsets on the same page say where the new text starts).
    """
    if around <= 0:
        return chunk.text
    before = chunks.get(chunk.id - 1)
    after = chunks.get(chunk.id + 1)
    head = tail = ""
    if before is not None and before.source == chunk.source:
        overlaps = before.page == chunk.page and before.start <= chunk.start < before.end
        head = _trim_start(before.text[: chunk.start - before.start] if overlaps else before.text + "\n\n", around)
    if after is not None and after.source == chunk.source:
        overlaps = after.page == chunk.page and after.start < chunk.end <= after.end
        tail = _trim_end(after.text[chunk.end - after.start :] if overlaps else "\n\n" + after.text, around)
    return head + chunk.text + tail


def _trim_start(text: str, limit: int) -> str:
    """The last `limit` characters, starting at a word."""
    if len(text) <= limit:
        return text
    cut = text[-limit:]
    return cut[cut.find(" ") + 1 :] if " " in cut else cut


def _trim_end(text: str, limit: int) -> str:
    """The first `limit` characters, ending at a word."""
    if len(text) <= limit:
        return text
    cut = text[:limit]
    return cut[: cut.rfind(" ")] if " " in cut else cut


def demoted(chunks: Mapping[int, ChunkRecord], ranked: list[tuple[int, float]]) -> list[tuple[int, float]]:
    """The ranking with tables of contents and index pages pushed down (see `boilerplate`)."""
    scored = [(i, s * boilerplate_factor(chunks[i].text)) for i, s in ranked if i in chunks]
    return sorted(scored, key=lambda item: -item[1])


class Retriever:
    """Answers questions from the live index; reloads by itself when ingestion switches generations."""

    def __init__(self, settings: Settings, embedder: Embedder | None = None) -> None:
        self.settings = settings
        self.store = open_store(settings)
        self.snapshot: IndexReader = self.store.open()
        manifest = self.snapshot.manifest
        self.embedder = embedder or Embedder.from_settings(settings, manifest.embed_model, manifest.embed_backend)

    def refresh(self) -> bool:
        """Load a newer generation if ingestion wrote one; True when it did."""
        generation = self.store.current_generation()
        if generation is None or generation == self.snapshot.generation:
            return False
        self.snapshot = self.store.open()
        return True

    def search(self, question: str, k: int | None = None, mode: str | None = None) -> list[Hit]:
        """The best `k` distinct passages for `question`, best first."""
        k = k or self.settings.retrieval.top_k
        mode = mode or self.settings.retrieval.mode
        if mode not in MODES:
            raise ValueError(f"unknown retrieval mode {mode!r}; choose one of {', '.join(MODES)}")
        if not question.strip():
            return []
        query = self.embedder.encode_query(question) if mode != "bm25" else None
        try:
            return self._search(self.snapshot, question, query, k, mode)
        except IndexChanged:  # a store that keeps one generation only moved on: read the new one
            self.refresh()
            return self._search(self.snapshot, question, query, k, mode)

    def _search(self, snapshot: IndexReader, question: str, query: np.ndarray | None, k: int, mode: str) -> list[Hit]:
        """One generation for the whole search, even if a refresh swaps it meanwhile."""
        depth = max(4 * k, 50)
        with snapshot.reading():
            dense = snapshot.dense_search(query, depth) if query is not None and len(snapshot.chunks) else []
            keyword = snapshot.keyword_search(question, depth) if mode != "dense" else []
            if mode == "dense":
                ranked = dense
            elif mode == "bm25":
                ranked = keyword
            else:
                ranked = self._fused(question, dense, keyword)
            candidates = snapshot.chunks_by_id([i for i, _ in ranked])
            hits = self._distinct(candidates, demoted(candidates, ranked), k, dict(dense), dict(keyword))
            around = self.settings.retrieval.passage_window
            beside = {hit.chunk.id + step for hit in hits for step in (-1, 1)} if around > 0 else set()
            neighbours = snapshot.chunks_by_id(beside)
        for hit in hits:
            hit.passage = window(neighbours, hit.chunk, around)
        return hits

    def _fused(
        self, question: str, dense: list[tuple[int, float]], keyword: list[tuple[int, float]]
    ) -> list[tuple[int, float]]:
        """Hybrid ranking; for a question not in Latin script the dense leg counts less (DENSE_WEIGHT_OTHER_SCRIPTS)."""
        settings = self.settings.retrieval
        dense_weight = settings.dense_weight if mostly_latin(question) else settings.dense_weight_other_scripts
        if settings.fusion == "rrf":
            return fuse(
                [([i for i, _ in dense], dense_weight), ([i for i, _ in keyword], settings.bm25_weight)], settings.rrf_k
            )
        return fuse_scores([(dense, dense_weight), (keyword, settings.bm25_weight)])

    @staticmethod
    def _distinct(
        chunks: Mapping[int, ChunkRecord],
        ranked: list[tuple[int, float]],
        k: int,
        dense: dict[int, float],
        bm25: dict[int, float],
    ) -> list[Hit]:
        """Collapse chunks with the same text (copies of a file) into one hit that lists the other files."""
        hits: list[Hit] = []
        by_text: dict[str, Hit] = {}
        for chunk_id, score in ranked:
            chunk = chunks.get(chunk_id)
            if chunk is None:
                continue
            key = _text_key(chunk.text)
            if key in by_text:
                first = by_text[key]
                if chunk.source != first.source and chunk.source not in first.duplicates:
                    first.duplicates.append(chunk.source)
                continue
            if len(hits) == k:
                continue
            hit = Hit(chunk, score, dense.get(chunk_id), bm25.get(chunk_id))
            by_text[key] = hit
            hits.append(hit)
        return hits
