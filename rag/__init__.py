"""Local-first retrieval-augmented generation: loading, chunking, embedding, indexing and retrieval."""
