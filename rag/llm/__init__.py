"""Model backends, all spoken to through the OpenAI API: discovery, the embedded server, streaming."""
