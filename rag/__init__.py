"""Local-first retrieval-augmented chat over your own documents: the library behind the app and the commands.

Module map (the Chainlit app in `app.py` is glue over these; nothing here imports Chainlit):

- `config`: the settings tree, the only reader of the environment and `.env`.
- `ingest/`: the data folder becomes an index generation: `scan` (which files, following links safely),
  `loaders/` (one module per format), `chunking`, `pipeline` (incremental, atomic), `report`, `watch`.
- `index/`: `embedding` (the encoder), `store` (generations on disk: manifest, chunks, FAISS, BM25),
  `bm25`, `retrieval` (hybrid search and fusion).
- `llm/`: `backends` (an OpenAI-compatible endpoint, local or cloud), `discovery` (local servers),
  `embedded_server` (the bundled llama.cpp server), `registry` (this process's backends), `generation`
  (streaming with retries and errors a user can act on).
- `chat/`: `pipeline` (Assistant, Reply, Conversation: one answer path for the app, the commands and
  the tests), `routing` (policies), `prompts`, `options` (per-chat settings, validated), `presentation`
  (what the chat shows), `history` (stored chats), `service` (the app's process-wide state).
- `privacy/`: `rules` (local-only documents, what left the machine), `redaction` (masking).
- `web/`: `origin_guard` (only the app's own pages), `auth` (login, session secret), `uploads`.
- `measure/`: `metrics` (one answer's figures, prices), `comparison` (per-backend tables and charts).
- `harness/`: the real app on a free port and a Socket.IO client, for tests and benchmarks.
- Commands: `ask`, `search`, `eval`, `bench`, `users` (`python -m rag.NAME`); `python -m ingest`.

Where things go: a new file format is a loader in `ingest/loaders/` registered in its `__init__`; a new
backend kind is a finder in `llm/discovery.py` (or a `Backend` with its own `prepare` hook); a new
vector store implements `DenseIndex` in `index/dense.py`; a new metric is a field of
`measure.metrics.AnswerMetrics`, set in `chat.pipeline.Assistant.measure`, plus one `Column` in
`measure/comparison.py`.
"""
