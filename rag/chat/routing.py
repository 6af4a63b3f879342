"""Routing policies: which backend answers, which one takes over when it fails, and why."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from rag.i18n import Text
from rag.llm.backends import BackendKey

PolicyKey = Literal["local", "cloud", "both", "local-first", "cloud-first"]


@dataclass(frozen=True)
class Policy:
    key: PolicyKey
    primary: BackendKey
    fallback: BackendKey | None = None
    latency_budget: bool = False  # a slow first token also counts as a failure of the primary

    @property
    def label(self) -> Text:
        """What the settings and route notes call it, in the reader's language."""
        return Text.of(f"policy.{self.key}")


POLICIES: dict[str, Policy] = {  # looked up by what a client or the settings panel sent
    policy.key: policy
    for policy in (
        Policy("local", "local"),
        Policy("cloud", "cloud"),
        Policy("both", "local"),
        Policy("local-first", "local", "cloud", latency_budget=True),
        Policy("cloud-first", "cloud", "local"),
    )
}


def fallback_reason(policy: Policy, failure: Text, has_private: bool) -> tuple[bool, Text | None]:
    """Whether to fall back, and the sentence that explains the choice to the user.

    Falling back to the cloud is only allowed when none of the retrieved passages is local-only:
    a question about private documents stays on this machine even if the local model fails.
    """
    if policy.fallback is None:
        return False, None
    if policy.fallback == "cloud" and has_private:
        return False, Text.of("route.fallback_refused", failure=failure)
    return True, Text.of(f"route.fallback_to_{policy.fallback}", failure=failure)
