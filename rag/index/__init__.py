"""The index: the encoder, the stored generations (dense vectors and BM25), and hybrid retrieval."""
