"""Ingestion: the data folder becomes a FAISS + BM25 index, incrementally and atomically."""
