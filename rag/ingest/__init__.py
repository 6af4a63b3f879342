"""Ingestion: files in the data folder become passages (loaders, chunking) and a new index generation."""
