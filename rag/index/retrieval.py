"""Dense, BM25 and hybrid (reciprocal rank fusion) retrieval over one generation of whichever index store is configured."""

from __future__ import annotations

import hashlib
import re
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from typing import get_args

import numpy as np

from rag.config import RetrievalMode, Settings
from rag.index.bm25 import tokenize
from rag.index.boilerplate import boilerplate_factor
from rag.index.embedding import Embedder
from rag.index.records import ChunkRecord
from rag.index.store_choice import open_store
from rag.index.stores import IndexChanged, IndexReader

MODES: tuple[RetrievalMode, ...] = get_args(RetrievalMode)
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


def fuse_hits(rankings: list[list[Hit]], k: int, rrf_k: int) -> list[Hit]:
    """The best `k` of several searches for one question (as asked, and translated), by reciprocal rank fusion
    at equal weight. A passage found by more than one keeps the first search's scores, except its dense score:
    the best of them, since relevance asks whether the passage matches the question in either language (an
    English page scores lower against a Bulgarian question than a Bulgarian page that does not answer it)."""
    found: dict[int, Hit] = {}
    for hits in rankings:
        for hit in hits:
            known = found.setdefault(hit.chunk.id, hit)
            if hit.dense_score is not None and (known.dense_score is None or hit.dense_score > known.dense_score):
                found[hit.chunk.id] = replace(known, dense_score=hit.dense_score)
    fused = fuse([([hit.chunk.id for hit in hits], 1.0) for hits in rankings], rrf_k)
    return [found[chunk_id] for chunk_id, _ in fused[:k]]


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


def latin_share(text: str) -> float:
    """The share of a text's letters that are Latin (1.0 for a text without letters)."""
    letters = _LETTER.findall(text)
    return sum(1 for c in letters if _LATIN.match(c)) / len(letters) if letters else 1.0


def mostly_latin(text: str) -> bool:
    """Whether a question is written mostly in Latin letters (the bundled encoder reads only English)."""
    return latin_share(text) >= 0.5


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


_DIGIT_GROUP_CHARS = "0123456789 ./_()+-"
_DIGIT_GROUP_EDGE = re.compile(r"\d[ ./_()+-]{0,3}$")
_DIGIT_GROUP_START = re.compile(r"[ ./_()+-]{0,3}\d")
"""The window never cuts a run of digit groups (a card, phone or account number written `4111 1111 ...`):
the part inside it would be too short to be recognised and masked, and so would go out in part."""


def _trim_start(text: str, limit: int) -> str:
    """The last `limit` characters, starting at a word and never inside a run of digit groups."""
    if len(text) <= limit:
        return text
    cut = text[-limit:]
    cut = cut[cut.find(" ") + 1 :] if " " in cut else cut
    if _DIGIT_GROUP_EDGE.search(text[: len(text) - len(cut)]) and cut[:1].isdigit():
        cut = cut.lstrip(_DIGIT_GROUP_CHARS)
    return cut


def _trim_end(text: str, limit: int) -> str:
    """The first `limit` characters, ending at a word and never inside a run of digit groups."""
    if len(text) <= limit:
        return text
    cut = text[:limit]
    cut = cut[: cut.rfind(" ")] if " " in cut else cut
    rest = text[len(cut) :]
    if cut[-1:].isdigit() and _DIGIT_GROUP_START.match(rest):
        cut = cut.rstrip(_DIGIT_GROUP_CHARS)
    return cut


PERSONAL_UPLOADS = "uploads/users/"
"""Where the chat keeps what a signed-in user attached: each user's own folder, searched for that user only."""


def visible_to(source: str, owner: str) -> bool:
    """Whether `owner` ("" for no one in particular) may find `source`: anything but another user's uploads."""
    return not source.startswith(PERSONAL_UPLOADS) or (bool(owner) and source.startswith(f"{PERSONAL_UPLOADS}{owner}/"))


SCOPED_DEPTH = 2000
"""Candidates read when a question is asked of chosen documents only: enough that a small document's
passages are among them even when the rest of the corpus matches the question better."""


def in_scope(source: str, scope: tuple[str, ...]) -> bool:
    """Whether `source` is one of the files `scope` names, or inside one of its folders ("notes" or "notes/")."""
    return any(source == entry or source.startswith(entry.rstrip("/") + "/") for entry in scope)


def readable(source: str, scope: tuple[str, ...], owner: str) -> bool:
    """Whether a question asked by `owner` of `scope` (empty: every document) may be answered from `source`."""
    return visible_to(source, owner) and (not scope or in_scope(source, scope))


WORD_DEPTH = 30
"""Chunks read to find a word in a document the asker may read: the keyword search's best for that word."""
LANGUAGE_DEPTH = 200
"""Dense candidates read for a multilingual encoder, so that each script has enough of its own."""
LANGUAGE_LEVEL = 20
"""How many of a script's best candidates set its level."""
LANGUAGE_FEWEST = 3
"""Fewer candidates of a script than this, and the scripts are not aligned."""


def script_aligned(ranked: list[tuple[int, float]], latin: Mapping[int, bool]) -> list[tuple[int, float]]:
    """Dense scores with the gap between scripts taken out.

    A multilingual encoder still rates any text in the question's language higher than text in
    another: a Bulgarian question scores unrelated Bulgarian passages about 0.03 above the English
    passage that answers it. Each script's candidates are shifted so that the mean of its best
    LANGUAGE_LEVEL scores (all of them, in a small folder) matches the highest such mean: what stands
    out within its own language wins, whichever language that is. A script with fewer than
    LANGUAGE_FEWEST candidates has no level to speak of (one passage would be its own level): then
    nothing is shifted.
    """
    groups: dict[bool, list[float]] = {}
    for chunk_id, value in ranked:
        groups.setdefault(latin[chunk_id], []).append(value)
    if len(groups) < 2 or min(map(len, groups.values())) < LANGUAGE_FEWEST:
        return ranked
    level = {script: float(np.mean(values[:LANGUAGE_LEVEL])) for script, values in groups.items()}
    top = max(level.values())
    shifted = [(chunk_id, value - level[latin[chunk_id]] + top) for chunk_id, value in ranked]
    return sorted(shifted, key=lambda item: -item[1])


CROSS_SCRIPT_CREDIT = 0.5
"""The share of the keyword leg's weight a passage in another script than the question gets from its dense score.

Keywords cannot match across scripts, so an English page that answers a Bulgarian question scores on one leg
of two and sinks under Bulgarian pages that share a word with the question (the right file at rank 10-18 where
the dense leg alone had it at 1-4). Measured on the dev half of eval/real (`python -m rag.eval --by-language`):
hit@5 across languages 0.333 -> 0.583 at 0.5 (0.458 at 0.3, 0.542 at 0.6-0.75, and 1.0 cost the
same-language questions 0.03-0.07); within one language unchanged."""


def across_scripts(
    fused: list[tuple[int, float]],
    dense: list[tuple[int, float]],
    base: float,
    dense_weight: float,
    keyword_weight: float,
    asked_latin: bool,
    latin: Mapping[int, bool],
) -> list[tuple[int, float]]:
    """The fused ranking with passages in the other script credited for the keyword leg they cannot match."""
    best = max((value - base for _, value in dense), default=0.0)
    if best <= 0 or dense_weight <= 0:
        return fused
    full = dense_weight * (1 + CROSS_SCRIPT_CREDIT * keyword_weight / dense_weight) / best
    other = {i: full * max(value - base, 0.0) for i, value in dense if latin.get(i, asked_latin) != asked_latin}
    return sorted(((i, max(score, other.get(i, 0.0))) for i, score in fused), key=lambda item: -item[1])


def _coverage(snapshot: IndexReader, question: str, keyword: list[tuple[int, float]]) -> float:
    """The share of the question's search terms that the best keyword match contains.

    The keyword leg's weight in score fusion: its scores are taken relative to its best match, so a best
    match on one common word of five would count as much as one on all five. That happens whenever the
    answer is in another language than the question (a Russian question about an English handbook
    matches Russian text on a stray word or two) and in small folders.
    """
    if not keyword:
        return 0.0
    wanted = set(tokenize(question))
    best = snapshot.chunks_by_id([keyword[0][0]]).get(keyword[0][0])
    if not wanted or best is None:
        return 1.0
    return len(wanted & set(tokenize(" ".join((*best.heading_path, best.text))))) / len(wanted)


def demoted(chunks: Mapping[int, ChunkRecord], ranked: list[tuple[int, float]]) -> list[tuple[int, float]]:
    """The ranking with tables of contents and index pages pushed down (see `boilerplate`)."""
    scored = [(i, s * boilerplate_factor(chunks[i].text)) for i, s in ranked if i in chunks]
    return sorted(scored, key=lambda item: -item[1])


class Retriever:
    """Answers questions from the live index; reloads by itself when ingestion switches generations."""

    def __init__(self, settings: Settings, embedder: Embedder | None = None) -> None:
        self.settings = settings
        self.store = open_store(settings)
        self._encoders: dict[tuple[str, str], Embedder] = {}
        self._scripts: tuple[str, dict[int, bool]] = ("", {})  # a generation, and its chunk ids -> mostly Latin
        if embedder is not None:
            self._encoders[embedder.name, embedder.backend] = embedder
        self._use(self.store.open())

    def _use(self, snapshot: IndexReader) -> None:
        """Switch to a generation together with the encoder that built it (loaded once, then kept).

        A generation written by another embedding model (a model switch rebuilds in the background
        while the old generation answers) is searched with that model's question vectors, never the
        configured one's: two models of one dimension would otherwise compare silently wrong vectors.
        """
        manifest = snapshot.manifest
        key = (manifest.embed_model, manifest.embed_backend)
        if key not in self._encoders:
            self._encoders[key] = Embedder.from_settings(self.settings, *key)
        self.embedder, self.snapshot = self._encoders[key], snapshot

    def refresh(self) -> bool:
        """Load a newer generation if ingestion wrote one; True when it did."""
        generation = self.store.current_generation()
        if generation is None or generation == self.snapshot.generation:
            return False
        self._use(self.store.open())
        return True

    def search(
        self,
        question: str,
        k: int | None = None,
        mode: str | None = None,
        scope: tuple[str, ...] = (),
        owner: str = "",
    ) -> list[Hit]:
        """The best `k` distinct passages for `question`, best first; from the files `scope` names (a file, or a
        folder ending in "/") when it names any; of the users' own uploads, only `owner`'s."""
        k = k or self.settings.retrieval.passages
        mode = mode or self.settings.retrieval.mode
        if mode not in MODES:
            raise ValueError(f"unknown retrieval mode {mode!r}; choose one of {', '.join(MODES)}")
        if not question.strip():
            return []
        try:
            return self._search(self.snapshot, self.embedder, question, k, mode, scope, owner)
        except IndexChanged:  # a store that keeps one generation only moved on: read the new one
            self.refresh()
            return self._search(self.snapshot, self.embedder, question, k, mode, scope, owner)

    def absent(self, words: list[str], scope: tuple[str, ...] = (), owner: str = "") -> list[str]:
        """The words that no document `owner` may read (within `scope`) holds all the search terms of.

        Judged on readable documents only, so that whether a word is absent never tells one user what is
        in another's uploads.
        """
        snapshot = self.snapshot
        try:
            with snapshot.reading():
                unknown = set(snapshot.unknown_words(words))
                absent = [
                    word for word in words if word in unknown or not self._readable_with(snapshot, word, scope, owner)
                ]
        except IndexChanged:
            self.refresh()
            return self.absent(words, scope, owner)
        return absent

    @staticmethod
    def _readable_with(snapshot: IndexReader, word: str, scope: tuple[str, ...], owner: str) -> bool:
        terms = set(tokenize(word))
        if not terms:  # nothing to look for: a stop word
            return True
        found = snapshot.chunks_by_id([i for i, _ in snapshot.keyword_search(word, WORD_DEPTH)])
        return any(
            readable(chunk.source, scope, owner) and terms <= set(tokenize(" ".join((*chunk.heading_path, chunk.text))))
            for chunk in found.values()
        )

    def _search(
        self,
        snapshot: IndexReader,
        embedder: Embedder,
        question: str,
        k: int,
        mode: str,
        scope: tuple[str, ...],
        owner: str,
    ) -> list[Hit]:
        """One generation (and its encoder) for the whole search, even if a refresh swaps it meanwhile."""
        query = embedder.encode_query(question) if mode != "bm25" else None
        depth = max(4 * k, 50) if not scope else max(4 * k, SCOPED_DEPTH)
        with snapshot.reading():
            dense, cosine = (
                self._dense(snapshot, query, depth, embedder.multilingual) if query is not None else ([], {})
            )
            keyword = snapshot.keyword_search(question, depth) if mode != "dense" else []
            if mode == "dense":
                ranked = dense
            elif mode == "bm25":
                ranked = keyword
            else:
                ranked = self._fused(snapshot, question, dense, keyword, embedder)
            candidates = snapshot.chunks_by_id([i for i, _ in ranked])
            ranked = [(i, s) for i, s in ranked if i in candidates and readable(candidates[i].source, scope, owner)]
            hits = self._distinct(candidates, demoted(candidates, ranked), k, cosine, dict(keyword))
            around = self.settings.retrieval.passage_window
            beside = {hit.chunk.id + step for hit in hits for step in (-1, 1)} if around > 0 else set()
            neighbours = snapshot.chunks_by_id(beside)
        for hit in hits:
            hit.passage = window(neighbours, hit.chunk, around)
        return hits

    def _dense(
        self, snapshot: IndexReader, query: np.ndarray, depth: int, multilingual: bool
    ) -> tuple[list[tuple[int, float]], dict[int, float]]:
        """The dense leg's ranking, and each candidate's cosine (what a hit reports and relevance is judged on).

        For a multilingual encoder it reads deeper and ranks by scores aligned across scripts (`script_aligned`).
        """
        if not len(snapshot.chunks):
            return [], {}
        if not multilingual:
            found = snapshot.dense_search(query, depth)
            return found, dict(found)
        found = snapshot.dense_search(query, max(depth, LANGUAGE_DEPTH))
        generation, latin = self._scripts  # one read: a search on another thread may start a new map
        if generation != snapshot.generation:
            latin = {}
            self._scripts = (snapshot.generation, latin)
        unknown = [chunk_id for chunk_id, _ in found if chunk_id not in latin]
        for chunk_id, chunk in snapshot.chunks_by_id(unknown).items():
            latin[chunk_id] = mostly_latin(chunk.text[:300])
        found = [(chunk_id, value) for chunk_id, value in found if chunk_id in latin]
        return script_aligned(found, latin)[:depth], dict(found)

    def _fused(
        self,
        snapshot: IndexReader,
        question: str,
        dense: list[tuple[int, float]],
        keyword: list[tuple[int, float]],
        embedder: Embedder,
    ) -> list[tuple[int, float]]:
        """Hybrid ranking; with an English-only encoder, a question not in Latin script gets a lighter
        dense leg (DENSE_WEIGHT_OTHER_SCRIPTS): that encoder cannot read it.

        Score fusion measures dense scores from where unrelated text lands (`unrelated_cosine`): e5's
        cosines crowd between 0.7 and 0.95, so relative to the best one they would all be near 1 and
        the dense leg could not tell its candidates apart. The keyword leg counts as much as its best
        match covers the question (`coverage`).
        """
        settings = self.settings.retrieval
        latin = embedder.multilingual or mostly_latin(question)
        dense_weight = settings.dense_weight if latin else settings.dense_weight_other_scripts
        if settings.fusion == "rrf":
            return fuse(
                [([i for i, _ in dense], dense_weight), ([i for i, _ in keyword], settings.bm25_weight)], settings.rrf_k
            )
        base = embedder.unrelated_cosine
        keyword_weight = settings.bm25_weight * _coverage(snapshot, question, keyword)
        fused = fuse_scores([([(i, value - base) for i, value in dense], dense_weight), (keyword, keyword_weight)])
        if not embedder.multilingual:
            return fused
        return across_scripts(
            fused, dense, base, dense_weight, keyword_weight, mostly_latin(question), self._scripts[1]
        )

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
