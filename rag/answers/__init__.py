"""Checking answers against their sources: the evidence quote, grounding marks, and answer-quality scores."""
