"""Measurements of answers (latency, throughput, tokens, cost) and comparisons of backends."""
