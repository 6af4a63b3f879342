"""A chat: the answer pipeline, routing policies, prompts, per-chat options, what is shown, history."""
